package io.jvirtio.bus.event;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;

/**
 * The threads blocked in a read, or in a write, of one {@link JvmEventFd}: what a signal unparks, without a lock.
 * <p>
 * A thread that is about to block takes a slot ({@link #enlist(Thread)}) before it checks the counter one last time
 * and parks, and gives the slot back ({@link #delist(int)}) when it stops waiting. Enlisting and delisting take a
 * lock: they are on the blocking path, which is about to sleep anyway. The slot array only grows (indexes stay
 * valid across a growth), so once it is as large as the most threads ever blocked at once, blocking allocates
 * nothing. {@link #unparkAll()} is the signal path: one volatile read of the array and one volatile read per slot,
 * no lock, no allocation.
 * <p>
 * No lost wake-up: the enlisting thread stores its slot, then reads the counter; the signalling thread updates the
 * counter, then reads the slots. All four accesses are volatile, so at least one side sees the other (Dekker).
 * <p>
 * Thread safety: every method may be called from any thread.
 */
final class ParkedThreads
{
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Thread[].class);
    /** A reader and a writer of one eventfd, or two readers, fit without growing. */
    private static final int INITIAL_SLOTS = 2;

    private final Object lock = new Object();
    private volatile Thread[] slots = new Thread[INITIAL_SLOTS];

    /**
     * Records {@code thread} as blocked.
     *
     * @param thread the thread about to park.
     * @return the slot to pass to {@link #delist(int)}.
     */
    int enlist(final Thread thread)
    {
        synchronized (lock)
        {
            final Thread[] current = slots;
            for (int i = 0; i < current.length; i++)
            {
                if (SLOT.getVolatile(current, i) == null)
                {
                    SLOT.setVolatile(current, i, thread);
                    return i;
                }
            }
            final Thread[] grown = Arrays.copyOf(current, current.length * 2);
            grown[current.length] = thread;
            // Volatile publish: a signal that reads the new array sees the thread; one that read the old array
            // did so before this store, so the enlisting thread's counter check that follows sees its update.
            slots = grown;
            return current.length;
        }
    }

    /**
     * Forgets a thread recorded by {@link #enlist(Thread)}.
     *
     * @param slot the value {@link #enlist(Thread)} returned.
     */
    void delist(final int slot)
    {
        synchronized (lock)
        {
            SLOT.setVolatile(slots, slot, null);
        }
    }

    /**
     * Unparks every recorded thread. A thread that has just stopped waiting may get one spurious unpark, which every
     * park loop tolerates.
     */
    void unparkAll()
    {
        final Thread[] current = slots;
        // Bounded by the array length: at most the number of threads ever blocked at once on this eventfd.
        for (int i = 0; i < current.length; i++)
        {
            final Thread thread = (Thread)SLOT.getVolatile(current, i);
            if (thread != null)
            {
                LockSupport.unpark(thread);
            }
        }
    }
}
