package io.jvirtio.bus.event;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Objects;

/**
 * The wait-queue entries of one {@link JvmEventFd}, the in-JVM analogue of the kernel's {@code wait_queue_head_t}
 * on an eventfd, on which irqfd hangs its custom entry ({@code irqfd_wakeup}, virt/kvm/eventfd.c).
 * <p>
 * The entries are a copy-on-write array: adding and removing copy it under a lock; a signal reads it with one
 * volatile read and calls each entry on the signalling thread. When the array is empty that one read is the whole
 * cost.
 * <p>
 * The kernel calls wait-queue entries under the wait-queue spinlock, so {@code remove_wait_queue} returning means
 * no call is still under way. A signal here takes no lock, so the same promise is kept with a grace period instead,
 * in the manner of sleepable RCU: a signal that finds entries counts itself in one of two in-flight counters (chosen
 * by the current phase) before it reads the array and counts itself out after the calls; {@link #remove} and
 * {@link #close} publish the new array, flip the phase, and wait until the old phase's counter drains. A signal that
 * counted itself in after that drain reads the array after it was published, so it cannot see the removed entry;
 * signals that keep arriving count in the new phase and cannot hold the remover up.
 * <p>
 * Thread safety: every method may be called from any thread. {@link #remove} and {@link #close} must not be called
 * from inside an entry's {@link EventFdWaiter#onSignal} during a signal (they would wait for themselves); calling
 * them from the close notification is fine.
 */
final class WaitQueue
{
    private static final EventFdWaiter[] NONE = new EventFdWaiter[0];
    private static final VarHandle IN_FLIGHT = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle WAITER_ERRORS;
    /** Spin hints before the grace-period wait starts yielding; a waiter call is short, so this is usually enough. */
    private static final int GRACE_SPINS = 128;

    static
    {
        try
        {
            WAITER_ERRORS = MethodHandles.lookup().findVarHandle(WaitQueue.class, "waiterErrors", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final Object lock = new Object();
    /** Signals in flight, per phase. */
    private final long[] inFlight = new long[2];
    private volatile int phase;
    private volatile EventFdWaiter[] entries = NONE;
    private boolean closed;
    private volatile long waiterErrors;

    /**
     * Calls every entry on this thread (the signal path): no lock, no allocation.
     *
     * @param source the eventfd passed to each entry.
     */
    void wakeUp(final EventFd source)
    {
        if (entries.length == 0)
        {
            return;
        }
        final int p = phase;
        // Count in before reading the array, so that a remover that sees this phase drained knows this signal
        // reads the array it published.
        IN_FLIGHT.getAndAdd(inFlight, p, 1L);
        try
        {
            final EventFdWaiter[] current = entries;
            // Bounded by the number of entries added by the host; none is guest-controlled.
            for (int i = 0; i < current.length; i++)
            {
                call(current[i], source);
            }
        }
        finally
        {
            IN_FLIGHT.getAndAdd(inFlight, p, -1L);
        }
    }

    /**
     * @param waiter the entry to add.
     * @throws EventFdClosedException   if {@link #close} already ran.
     * @throws IllegalArgumentException if {@code waiter} is already an entry.
     */
    void add(final EventFdWaiter waiter)
    {
        Objects.requireNonNull(waiter, "waiter");
        synchronized (lock)
        {
            if (closed)
            {
                throw new EventFdClosedException("eventfd is closed: op=addWaiter");
            }
            final EventFdWaiter[] current = entries;
            if (indexOf(current, waiter) >= 0)
            {
                throw new IllegalArgumentException("waiter already added: entries=" + current.length);
            }
            final EventFdWaiter[] grown = Arrays.copyOf(current, current.length + 1);
            grown[current.length] = waiter;
            entries = grown;
        }
    }

    /**
     * Removes an entry; when this returns no signal is still calling it and none will.
     *
     * @param waiter the entry to remove; an entry that is not there is ignored.
     */
    void remove(final EventFdWaiter waiter)
    {
        synchronized (lock)
        {
            final EventFdWaiter[] current = entries;
            final int index = indexOf(current, waiter);
            if (index < 0)
            {
                return;
            }
            final EventFdWaiter[] shrunk = new EventFdWaiter[current.length - 1];
            System.arraycopy(current, 0, shrunk, 0, index);
            System.arraycopy(current, index + 1, shrunk, index, current.length - index - 1);
            entries = shrunk.length == 0 ? NONE : shrunk;
            awaitGracePeriod();
        }
    }

    /**
     * Empties the queue, waits for signals under way, then calls each former entry once (EPOLLHUP). After this no
     * entry is called again and {@link #add} is refused.
     *
     * @param source the eventfd passed to each entry.
     */
    void close(final EventFd source)
    {
        final EventFdWaiter[] last;
        synchronized (lock)
        {
            closed = true;
            last = entries;
            entries = NONE;
            awaitGracePeriod();
        }
        for (int i = 0; i < last.length; i++)
        {
            call(last[i], source);
        }
    }

    /** @return how many times an entry threw instead of returning; each throw was swallowed. */
    long waiterErrors()
    {
        return waiterErrors;
    }

    private void call(final EventFdWaiter waiter, final EventFd source)
    {
        try
        {
            waiter.onSignal(source);
        }
        catch (final RuntimeException ex)
        {
            // The contract says an entry does not throw; if it does, the signalling thread (a vCPU) must not die.
            WAITER_ERRORS.getAndAdd(this, 1L);
        }
    }

    /** Called under {@link #lock} after publishing a new array. */
    private void awaitGracePeriod()
    {
        final int old = phase;
        phase = old ^ 1;
        // Ends when the signals that counted in under the old phase have made their calls, which are short by
        // contract; signals arriving meanwhile count in under the new phase and do not extend the wait.
        for (int spins = 0; (long)IN_FLIGHT.getVolatile(inFlight, old) != 0; spins++)
        {
            if (spins < GRACE_SPINS)
            {
                Thread.onSpinWait();
            }
            else
            {
                Thread.yield();
            }
        }
    }

    private static int indexOf(final EventFdWaiter[] array, final EventFdWaiter waiter)
    {
        for (int i = 0; i < array.length; i++)
        {
            if (array[i] == waiter)
            {
                return i;
            }
        }
        return -1;
    }
}
