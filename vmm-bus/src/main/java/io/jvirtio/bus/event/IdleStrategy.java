package io.jvirtio.bus.event;

/**
 * What an {@link EventFdPoller} does after a check of its eventfds finds nothing: idle in place (spin or yield) and
 * check again, or block until an eventfd is signalled.
 * <p>
 * The shape is Agrona's {@code IdleStrategy}, with one difference: the last phase is not a timed park but "block
 * until an eventfd is readable" (a park that a signal unparks, or epoll_wait for Linux eventfds), so an idle worker
 * costs nothing and still wakes on the first kick. Spinning first matters on small machines: a cross-CPU wake-up
 * of a blocked thread costs about 20 us on a 2-vCPU VM, a hand-off to a spinning thread about 70 ns.
 * <p>
 * The strategy gets the count of empty checks so far and keeps no state, so one instance can serve any number of
 * pollers.
 * <p>
 * Thread safety: called only on the polling thread; the implementations here are immutable and may be shared.
 */
@FunctionalInterface
public interface IdleStrategy
{
    /**
     * Idles once, or asks the poller to block.
     *
     * @param idleCount the number of empty checks in this poll before this one, from 0; it saturates at
     *                  {@link Integer#MAX_VALUE}.
     * @return true if the poller should block until an eventfd is signalled or {@link EventFdPoller#wakeup()} is
     *         called; false after idling in place, to check again.
     */
    boolean idle(int idleCount);
}
