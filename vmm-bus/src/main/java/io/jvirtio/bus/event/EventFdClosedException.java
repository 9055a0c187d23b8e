package io.jvirtio.bus.event;

/**
 * An operation on an {@link EventFd} that was closed before or while the caller waited (EBADF).
 */
public final class EventFdClosedException extends IllegalStateException
{
    private static final long serialVersionUID = 1L;

    public EventFdClosedException(final String message)
    {
        super(message);
    }
}
