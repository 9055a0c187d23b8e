package io.jvirtio.bus.kvm;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFdClosedException;
import io.jvirtio.bus.event.EventFdWaiter;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A test double of {@link EventFd} that keeps the contract honestly (a saturating unsigned counter, read-and-reset
 * or semaphore reads, waiters called on the signalling thread and once on close) and also counts every
 * {@link #signal()}, which the tests compare with the kicks the bus reported as handled.
 * <p>
 * Blocking reads and writes poll with short parks; the tests use them with bounded timeouts only. {@link #signal()}
 * allocates nothing, so allocation tests can run through it.
 * <p>
 * Thread safety: every method from any thread.
 */
final class CountingEventFd implements EventFd
{
    private static final EventFdWaiter[] NO_WAITERS = new EventFdWaiter[0];
    private static final long SATURATED = -1L;

    private final boolean semaphore;
    private final AtomicLong counter = new AtomicLong();
    private final AtomicLong signals = new AtomicLong();
    private final Object waiterLock = new Object();
    private volatile EventFdWaiter[] waiters = NO_WAITERS;
    private volatile boolean closed;

    CountingEventFd()
    {
        this(false);
    }

    CountingEventFd(final boolean semaphore)
    {
        this.semaphore = semaphore;
    }

    /** @return how often {@link #signal()} was called while open. */
    long signals()
    {
        return signals.get();
    }

    /** @return the counter, without consuming it. */
    long count()
    {
        return counter.get();
    }

    @Override
    public void write(final long value) throws InterruptedException
    {
        // bound: the test's own timeout; each pass parks briefly until a reader makes room
        while (!tryWrite(value))
        {
            if (Thread.interrupted())
            {
                throw new InterruptedException("interrupted in eventfd write");
            }
            LockSupport.parkNanos(10_000L);
        }
    }

    @Override
    public boolean tryWrite(final long value)
    {
        if (value == SATURATED)
        {
            throw new IllegalArgumentException("eventfd write of 2^64 - 1: value=" + Long.toUnsignedString(value));
        }
        ensureOpen();
        // bound: retries only while another thread changes the counter
        while (true)
        {
            final long old = counter.get();
            if (Long.compareUnsigned(old, MAX_COUNT - value) > 0)
            {
                return false;
            }
            if (counter.compareAndSet(old, old + value))
            {
                if (old + value != 0)
                {
                    wake();
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
        signals.getAndIncrement();
        // bound: retries only while another thread changes the counter
        while (true)
        {
            final long old = counter.get();
            final long next = old == SATURATED ? SATURATED : old + 1;
            if (counter.compareAndSet(old, next))
            {
                break;
            }
        }
        wake();
    }

    @Override
    public long read() throws InterruptedException
    {
        // bound: the test's own timeout; each pass parks briefly until a writer signals
        while (true)
        {
            final long value = tryRead();
            if (value != 0)
            {
                return value;
            }
            if (Thread.interrupted())
            {
                throw new InterruptedException("interrupted in eventfd read");
            }
            LockSupport.parkNanos(10_000L);
        }
    }

    @Override
    public long tryRead()
    {
        ensureOpen();
        // bound: retries only while another thread changes the counter
        while (true)
        {
            final long old = counter.get();
            if (old == 0)
            {
                return 0;
            }
            final long next = semaphore ? old - 1 : 0;
            if (counter.compareAndSet(old, next))
            {
                return semaphore ? 1 : old;
            }
        }
    }

    @Override
    public long read(final long timeout, final TimeUnit unit) throws InterruptedException
    {
        final long deadline = System.nanoTime() + unit.toNanos(timeout);
        // bound: ends at the deadline
        while (true)
        {
            final long value = tryRead();
            if (value != 0)
            {
                return value;
            }
            if (System.nanoTime() - deadline >= 0)
            {
                return 0;
            }
            if (Thread.interrupted())
            {
                throw new InterruptedException("interrupted in eventfd read");
            }
            LockSupport.parkNanos(10_000L);
        }
    }

    @Override
    public boolean isReadable()
    {
        return counter.get() != 0;
    }

    @Override
    public boolean isSemaphore()
    {
        return semaphore;
    }

    @Override
    public int fd()
    {
        return -1;
    }

    @Override
    public void addWaiter(final EventFdWaiter waiter)
    {
        synchronized (waiterLock)
        {
            final EventFdWaiter[] old = waiters;
            final EventFdWaiter[] next = new EventFdWaiter[old.length + 1];
            System.arraycopy(old, 0, next, 0, old.length);
            next[old.length] = waiter;
            waiters = next;
        }
    }

    @Override
    public void removeWaiter(final EventFdWaiter waiter)
    {
        synchronized (waiterLock)
        {
            final EventFdWaiter[] old = waiters;
            for (int i = 0; i < old.length; i++)
            {
                if (old[i] == waiter)
                {
                    final EventFdWaiter[] next = new EventFdWaiter[old.length - 1];
                    System.arraycopy(old, 0, next, 0, i);
                    System.arraycopy(old, i + 1, next, i, old.length - i - 1);
                    waiters = next;
                    return;
                }
            }
        }
    }

    /** @return the number of wait-queue entries. */
    int waiterCount()
    {
        return waiters.length;
    }

    @Override
    public boolean isClosed()
    {
        return closed;
    }

    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        wake();
    }

    private void wake()
    {
        final EventFdWaiter[] current = waiters;
        for (int i = 0; i < current.length; i++)
        {
            current[i].onSignal(this);
        }
    }

    private void ensureOpen()
    {
        if (closed)
        {
            throw new EventFdClosedException("eventfd is closed: fd=-1");
        }
    }
}
