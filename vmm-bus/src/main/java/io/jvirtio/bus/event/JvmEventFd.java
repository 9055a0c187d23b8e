package io.jvirtio.bus.event;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * An {@link EventFd} that lives in the JVM: Linux eventfd(2) semantics (fs/eventfd.c) on a lock-free counter.
 * <p>
 * The counter is one {@code long} read and updated with compare-and-set, treated as unsigned. {@link #signal()} is
 * the vCPU's path (an ioeventfd firing): a CAS that adds one, saturating at 2^64 - 1 as {@code eventfd_signal()}
 * does, then an unpark of each thread blocked in a read and a call of each wait-queue entry. It takes no lock and
 * allocates nothing. A blocked reader or writer parks with {@link LockSupport}; a read that makes room unparks the
 * blocked writers, and {@link #close()} unparks everyone. Wait-queue entries follow {@link WaitQueue}: a
 * copy-on-write array read once per signal, with a grace period on removal so that {@link #removeWaiter} keeps the
 * interface's promise.
 * <p>
 * As in the kernel, every write or signal that leaves the counter non-zero wakes readers and entries, even if the
 * counter was already non-zero; a write of 0 to a zero counter wakes nobody. A signal that races with
 * {@link #close()} may still add to the counter, but once {@code close()} has returned no entry is called again.
 * Removal and close wait for calls under way, so an entry must not remove itself or close the eventfd from inside a
 * signal's call (it would wait for itself); from the close call it may.
 * <p>
 * Thread safety: every method may be called from any thread, concurrently.
 */
public final class JvmEventFd implements EventFd
{
    private static final VarHandle COUNT;
    private static final VarHandle CLOSED;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            COUNT = lookup.findVarHandle(JvmEventFd.class, "count", long.class);
            CLOSED = lookup.findVarHandle(JvmEventFd.class, "closed", boolean.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final boolean semaphore;
    private final ParkedThreads readers = new ParkedThreads();
    private final ParkedThreads writers = new ParkedThreads();
    private final WaitQueue waitQueue = new WaitQueue();
    private volatile long count;
    private volatile boolean closed;

    /** Creates an eventfd whose reads return and reset the counter. */
    public JvmEventFd()
    {
        this(false);
    }

    /**
     * @param semaphore true for EFD_SEMAPHORE: each read returns 1 and decrements the counter.
     */
    public JvmEventFd(final boolean semaphore)
    {
        this.semaphore = semaphore;
    }

    @Override
    public void write(final long value) throws InterruptedException
    {
        if (tryWrite(value))
        {
            return;
        }
        final int slot = writers.enlist(Thread.currentThread());
        try
        {
            // Not guest-driven: loops until a read makes room, close() or an interrupt; each pass parks.
            while (!tryWrite(value))
            {
                if (Thread.interrupted())
                {
                    throw new InterruptedException("eventfd write interrupted: value=" + Long.toUnsignedString(value));
                }
                LockSupport.park(this);
            }
        }
        finally
        {
            writers.delist(slot);
        }
    }

    @Override
    public boolean tryWrite(final long value)
    {
        if (value == -1L)
        {
            throw new IllegalArgumentException("eventfd write of 2^64-1 is invalid (EINVAL): value=" +
                Long.toUnsignedString(value));
        }
        // Retries only when another thread changed the counter in between, so each pass is someone's progress.
        while (true)
        {
            if (closed)
            {
                throw closedException("write");
            }
            final long current = count;
            // fs/eventfd.c eventfd_write: the write fits only if ULLONG_MAX - count > value (unsigned).
            if (Long.compareUnsigned(-1L - current, value) <= 0)
            {
                return false;
            }
            final long next = current + value;
            if (COUNT.compareAndSet(this, current, next))
            {
                if (next != 0)
                {
                    readers.unparkAll();
                    waitQueue.wakeUp(this);
                }
                return true;
            }
        }
    }

    @Override
    public void signal()
    {
        if (closed)
        {
            return;
        }
        // Retries only when another thread changed the counter in between.
        while (true)
        {
            final long current = count;
            // eventfd_signal saturates at ULLONG_MAX instead of blocking; it still wakes the wait queue.
            if (current == -1L || COUNT.compareAndSet(this, current, current + 1))
            {
                break;
            }
        }
        readers.unparkAll();
        waitQueue.wakeUp(this);
    }

    @Override
    public long read() throws InterruptedException
    {
        final long value = tryRead();
        if (value != 0)
        {
            return value;
        }
        final int slot = readers.enlist(Thread.currentThread());
        try
        {
            // Not guest-driven: loops until a write, close() or an interrupt; each pass parks.
            while (true)
            {
                final long read = tryRead();
                if (read != 0)
                {
                    return read;
                }
                if (Thread.interrupted())
                {
                    throw new InterruptedException("eventfd read interrupted: semaphore=" + semaphore);
                }
                LockSupport.park(this);
            }
        }
        finally
        {
            readers.delist(slot);
        }
    }

    @Override
    public long tryRead()
    {
        // Retries only when another thread changed the counter in between.
        while (true)
        {
            if (closed)
            {
                throw closedException("read");
            }
            // A plain check first: an empty poll must not write the counter's cache line.
            final long current = count;
            if (current == 0)
            {
                return 0;
            }
            if (COUNT.compareAndSet(this, current, semaphore ? current - 1 : 0L))
            {
                writers.unparkAll();
                return semaphore ? 1 : current;
            }
        }
    }

    @Override
    public long read(final long timeout, final TimeUnit unit) throws InterruptedException
    {
        final long value = tryRead();
        final long timeoutNanos = unit.toNanos(timeout);
        if (value != 0 || timeoutNanos <= 0)
        {
            return value;
        }
        final long deadline = System.nanoTime() + timeoutNanos;
        final int slot = readers.enlist(Thread.currentThread());
        try
        {
            // Not guest-driven: ends at the deadline at the latest; each pass parks.
            while (true)
            {
                final long read = tryRead();
                if (read != 0)
                {
                    return read;
                }
                final long remaining = deadline - System.nanoTime();
                if (remaining <= 0)
                {
                    return 0;
                }
                if (Thread.interrupted())
                {
                    throw new InterruptedException("eventfd read interrupted: semaphore=" + semaphore);
                }
                LockSupport.parkNanos(this, remaining);
            }
        }
        finally
        {
            readers.delist(slot);
        }
    }

    /** @return true if the counter is non-zero and the eventfd is open. */
    @Override
    public boolean isReadable()
    {
        return count != 0 && !closed;
    }

    @Override
    public boolean isSemaphore()
    {
        return semaphore;
    }

    /** @return -1: this eventfd has no file descriptor. */
    @Override
    public int fd()
    {
        return -1;
    }

    @Override
    public void addWaiter(final EventFdWaiter waiter)
    {
        waitQueue.add(waiter);
    }

    @Override
    public void removeWaiter(final EventFdWaiter waiter)
    {
        waitQueue.remove(waiter);
    }

    @Override
    public boolean isClosed()
    {
        return closed;
    }

    /**
     * Closes the eventfd: blocked readers and writers wake with {@link EventFdClosedException}, and each wait-queue
     * entry is called once more, then forgotten. Closing again does nothing.
     */
    @Override
    public void close()
    {
        if (!CLOSED.compareAndSet(this, false, true))
        {
            return;
        }
        readers.unparkAll();
        writers.unparkAll();
        waitQueue.close(this);
    }

    /** @return how many times a wait-queue entry threw from {@link EventFdWaiter#onSignal}; each was swallowed. */
    public long waiterErrors()
    {
        return waitQueue.waiterErrors();
    }

    @Override
    public String toString()
    {
        return "JvmEventFd{count=" + Long.toUnsignedString(count) + ", semaphore=" + semaphore + ", closed=" + closed +
            "}";
    }

    private EventFdClosedException closedException(final String op)
    {
        return new EventFdClosedException("eventfd is closed: op=" + op + ", fd=-1");
    }
}
