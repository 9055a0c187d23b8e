package io.jvirtio.samples.bench;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The hand-off floors between two threads that every notification figure is divided by: a busy-spin ping-pong on a
 * shared field (the cost of moving one cache line back and forth) and a park/unpark ping-pong (the cost of a real
 * thread wake-up). Each returns nanoseconds per round trip.
 * <p>
 * Thread safety: each call starts and joins its own partner thread; call from one thread at a time.
 */
public final class HandOffFloors
{
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);
    /** Two counters 128 bytes apart and away from the array header, so each has a cache line (pair) to itself. */
    private static final int PING = 16;
    private static final int PONG = 32;
    private static final int SLOTS = 48;

    private HandOffFloors()
    {
    }

    /**
     * Busy-spin ping-pong: the main thread publishes i, the partner spins until it sees i and answers i.
     *
     * @param roundTrips how many round trips to time.
     * @return nanoseconds per round trip.
     */
    public static double busySpinRoundTripNanos(final int roundTrips)
    {
        final long[] slots = new long[SLOTS];
        final Thread partner = Thread.ofPlatform().name("floor-spin-partner").start(() ->
        {
            for (long i = 1; i <= roundTrips; i++)
            {
                while ((long)SLOT.getAcquire(slots, PING) != i)
                {
                    Thread.onSpinWait();
                }
                SLOT.setRelease(slots, PONG, i);
            }
        });
        final long start = System.nanoTime();
        for (long i = 1; i <= roundTrips; i++)
        {
            SLOT.setRelease(slots, PING, i);
            while ((long)SLOT.getAcquire(slots, PONG) != i)
            {
                Thread.onSpinWait();
            }
        }
        final long elapsed = System.nanoTime() - start;
        join(partner);
        return (double)elapsed / roundTrips;
    }

    /**
     * Park/unpark ping-pong: each side publishes i, unparks the other and parks until it sees the answer.
     *
     * @param roundTrips how many round trips to time.
     * @return nanoseconds per round trip.
     */
    public static double parkUnparkRoundTripNanos(final int roundTrips)
    {
        final long[] slots = new long[SLOTS];
        final Thread main = Thread.currentThread();
        final Thread partner = Thread.ofPlatform().name("floor-park-partner").start(() ->
        {
            for (long i = 1; i <= roundTrips; i++)
            {
                while ((long)SLOT.getAcquire(slots, PING) != i)
                {
                    LockSupport.park();
                }
                SLOT.setRelease(slots, PONG, i);
                LockSupport.unpark(main);
            }
        });
        final long start = System.nanoTime();
        for (long i = 1; i <= roundTrips; i++)
        {
            SLOT.setRelease(slots, PING, i);
            LockSupport.unpark(partner);
            while ((long)SLOT.getAcquire(slots, PONG) != i)
            {
                LockSupport.park();
            }
        }
        final long elapsed = System.nanoTime() - start;
        join(partner);
        return (double)elapsed / roundTrips;
    }

    static void join(final Thread thread)
    {
        try
        {
            thread.join();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while joining a benchmark thread", ex);
        }
    }
}
