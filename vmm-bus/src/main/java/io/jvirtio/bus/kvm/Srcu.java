package io.jvirtio.bus.kvm;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * The read-side critical sections and grace periods that KVM's {@code kvm->srcu} gives the I/O buses: a reader
 * marks itself inside, reads the current bus with one volatile load and walks it; a writer that has published a new
 * bus waits in {@link #synchronize()} until every reader that might still hold the old one has left, and only then
 * drops the devices that the new bus no longer holds (virt/kvm/kvm_main.c).
 * <p>
 * Readers count themselves in one of two epochs, in cells striped by thread id and padded to a cache line each, with
 * one atomic add on entry and one on exit: no lock, no allocation, no waiting. A grace period waits for the epoch
 * that new readers no longer use to drain, flips, and waits for the other one: every reader that entered before the
 * new bus was published is counted in one of the two, and every reader that enters after it sees the new bus.
 * <p>
 * Thread safety: {@link #readLock()} and {@link #readUnlock(int)} from any thread, nested if need be;
 * {@link #synchronize()} from one writer at a time (callers hold the VM's bus lock), never from inside a read-side
 * critical section (it would wait for itself).
 */
final class Srcu
{
    private static final int STRIPES = 16;
    /** Eight longs: one 64-byte cache line per counter cell. */
    private static final int PAD = 8;

    private final AtomicLongArray counters = new AtomicLongArray(STRIPES * 2 * PAD);
    private volatile int epoch;

    /**
     * Enters a read-side critical section.
     *
     * @return the token to pass to {@link #readUnlock(int)}.
     */
    int readLock()
    {
        final int stripe = (int)Thread.currentThread().threadId() & (STRIPES - 1);
        final int cell = (stripe * 2 + (epoch & 1)) * PAD;
        counters.getAndIncrement(cell);
        return cell;
    }

    /**
     * Leaves the read-side critical section entered with {@code token}.
     *
     * @param token the value {@link #readLock()} returned.
     */
    void readUnlock(final int token)
    {
        counters.getAndDecrement(token);
    }

    /**
     * Waits for a grace period: every read-side critical section that began before this call has ended when it
     * returns.
     */
    void synchronize()
    {
        final int current = epoch & 1;
        awaitDrained(current ^ 1);
        epoch++;
        awaitDrained(current);
    }

    private void awaitDrained(final int index)
    {
        // bound: read sections are a bus walk plus non-blocking device calls, and readers that enter from now on
        // count in the other epoch, so each cell drains after the readers already inside it leave
        for (int stripe = 0; stripe < STRIPES; stripe++)
        {
            final int cell = (stripe * 2 + index) * PAD;
            int spins = 0;
            while (counters.get(cell) != 0)
            {
                if (++spins < 100)
                {
                    Thread.onSpinWait();
                }
                else
                {
                    LockSupport.parkNanos(10_000L);
                }
            }
        }
    }
}
