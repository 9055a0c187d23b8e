package io.jvirtio.bus.event;

/**
 * A wait-queue entry on an in-JVM {@link EventFd}: the hook irqfd and pollers use to learn of a signal without a
 * thread blocked in {@link EventFd#read()}.
 * <p>
 * Thread safety: called on whichever thread signals, writes or closes the eventfd, possibly concurrently; an
 * implementation must be thread-safe, short, and must not block or throw.
 */
@FunctionalInterface
public interface EventFdWaiter
{
    /**
     * @param eventFd the eventfd whose counter became non-zero, or that was closed ({@link EventFd#isClosed()}).
     */
    void onSignal(EventFd eventFd);
}
