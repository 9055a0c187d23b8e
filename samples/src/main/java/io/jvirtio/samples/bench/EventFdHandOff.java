package io.jvirtio.samples.bench;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFdPoller;
import io.jvirtio.bus.event.IdleStrategy;

import java.util.function.Supplier;

/**
 * Eventfd hand-offs between two threads, the shape of a kick (vCPU to worker) and an interrupt (worker back): each
 * side signals the other's eventfd and waits for its own through an {@link EventFdPoller} with a given idle strategy.
 * Also the single-thread signal-and-read cost of one eventfd.
 * <p>
 * Thread safety: each call starts and joins its own partner thread; call from one thread at a time.
 */
public final class EventFdHandOff
{
    private EventFdHandOff()
    {
    }

    /**
     * Ping-pong over two eventfds, each side waiting through its own poller.
     *
     * @param eventFds   makes the two eventfds (in-JVM or Linux).
     * @param idle       the idle strategy both pollers use.
     * @param roundTrips how many round trips to time.
     * @return nanoseconds per round trip.
     */
    public static double roundTripNanos(
        final Supplier<EventFd> eventFds, final IdleStrategy idle, final int roundTrips)
    {
        try (EventFd toPartner = eventFds.get();
            EventFd toMain = eventFds.get();
            EventFdPoller mainPoller = new EventFdPoller(idle))
        {
            mainPoller.register(toMain);
            final Thread partner = Thread.ofPlatform().name("handoff-partner").start(() ->
            {
                try (EventFdPoller poller = new EventFdPoller(idle))
                {
                    poller.register(toPartner);
                    int seen = 0;
                    while (seen < roundTrips)
                    {
                        if (poller.poll() != 0)
                        {
                            seen += (int)poller.count(0);
                            toMain.signal();
                        }
                    }
                }
            });
            final long start = System.nanoTime();
            for (int i = 0; i < roundTrips; i++)
            {
                toPartner.signal();
                while (mainPoller.poll() == 0)
                {
                    Thread.onSpinWait();
                }
            }
            final long elapsed = System.nanoTime() - start;
            HandOffFloors.join(partner);
            return (double)elapsed / roundTrips;
        }
    }

    /**
     * One thread signals and reads the same eventfd: the cost of the primitive without any hand-off (for a Linux
     * eventfd, two system calls).
     *
     * @param eventFd    the eventfd, empty on entry.
     * @param iterations how many signal+read pairs to time.
     * @return nanoseconds per signal+read.
     */
    public static double signalAndReadNanos(final EventFd eventFd, final int iterations)
    {
        long sum = 0;
        final long start = System.nanoTime();
        for (int i = 0; i < iterations; i++)
        {
            eventFd.signal();
            sum += eventFd.tryRead();
        }
        final long elapsed = System.nanoTime() - start;
        if (sum != iterations)
        {
            throw new IllegalStateException("eventfd lost signals: expected=" + iterations + ", read=" + sum);
        }
        return (double)elapsed / iterations;
    }
}
