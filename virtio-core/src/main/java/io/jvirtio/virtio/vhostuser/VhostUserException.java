package io.jvirtio.virtio.vhostuser;

/**
 * A front-end message the back-end refuses: the connection is closed and {@link #counter()} is incremented.
 * <p>
 * Thread safety: immutable.
 */
public final class VhostUserException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final transient VhostUserCounter counter;

    /**
     * @param counter the counter this error increments.
     * @param message lower-case, what went wrong, then key=value pairs.
     */
    public VhostUserException(final VhostUserCounter counter, final String message)
    {
        super(message);
        this.counter = counter;
    }

    /** @return the counter this error increments. */
    public VhostUserCounter counter()
    {
        return counter;
    }
}
