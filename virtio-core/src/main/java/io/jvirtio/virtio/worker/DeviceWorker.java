package io.jvirtio.virtio.worker;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFdPoller;
import io.jvirtio.bus.event.IdleStrategy;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A thread that owns some of a device's queues after activation and services them when kicked: it waits on the
 * queues' kick eventfds through an {@link EventFdPoller} (spinning, yielding or blocking as its {@link IdleStrategy}
 * says), and hands each kicked queue to the device's {@link QueueHandler} with a bounded budget.
 * <p>
 * Several queues may share one kick eventfd (virtio-mmio's single wildcard notify): a signal of that eventfd wakes
 * every queue registered with it. Queues whose handler reports more work are serviced again before the worker waits.
 * <p>
 * Hand-off from the control path (vCPU thread) to the data path (this thread) has exactly one shape: the control
 * path builds the worker, adds queues, {@link #start()}s it, and later {@link #stop()}s it. After {@code stop()}
 * returns the handler is never called again, so no guest memory is touched on the device's behalf: that is what a
 * device reset waits for.
 * <p>
 * Thread safety: {@link #addQueue}, {@link #start} and {@link #stop} on the control thread; counters from any
 * thread.
 */
public final class DeviceWorker
{
    /** Chains per queue per wake-up, unless configured: a queue's worth at the common queue size. */
    public static final int DEFAULT_BUDGET = 256;
    private static final long STOP_TIMEOUT_SECONDS = 30;
    /** Handler exceptions caught by every worker of this JVM, so a check can see them after a worker was replaced. */
    private static final AtomicLong ALL_HANDLER_ERRORS = new AtomicLong();
    private static volatile Throwable lastErrorOfAny;

    private final String name;
    private final QueueHandler handler;
    private final int budget;
    private final EventFdPoller poller;
    /** Per poller token: the queues that eventfd kicks, as a bitmask of queue slots. */
    private final long[] queuesOfToken = new long[EventFdPoller.MAX_EVENT_FDS];
    /** Per queue slot: the device's queue index. */
    private final int[] queueIndex = new int[Long.SIZE];
    private int queueSlots;
    private final AtomicLong wakeups = new AtomicLong();
    private final AtomicLong handlerCalls = new AtomicLong();
    private final AtomicLong handlerErrors = new AtomicLong();
    private volatile boolean running;
    private volatile Throwable lastError;
    private Thread thread;

    /**
     * @param name    the thread's name.
     * @param idle    how the worker waits for kicks.
     * @param budget  chains per queue per call to the handler.
     * @param handler the device's data plane.
     */
    public DeviceWorker(final String name, final IdleStrategy idle, final int budget, final QueueHandler handler)
    {
        if (budget <= 0)
        {
            throw new IllegalArgumentException("budget must be positive: budget=" + budget);
        }
        this.name = name;
        this.handler = handler;
        this.budget = budget;
        this.poller = new EventFdPoller(idle);
    }

    /**
     * Adds a queue, before {@link #start()}.
     *
     * @param index the device's queue index, passed back to the handler.
     * @param kick  the eventfd a kick of that queue signals (may be shared with other queues).
     */
    public void addQueue(final int index, final EventFd kick)
    {
        if (thread != null)
        {
            throw new IllegalStateException("queues are added before start: worker=" + name);
        }
        if (queueSlots == queueIndex.length)
        {
            throw new IllegalStateException("a worker owns at most 64 queues: worker=" + name);
        }
        int token = -1;
        // bound: at most 64 registered tokens
        for (long registered = poller.registeredTokens(); registered != 0; registered &= registered - 1)
        {
            final int t = Long.numberOfTrailingZeros(registered);
            if (poller.eventFd(t) == kick)
            {
                token = t;
            }
        }
        if (token < 0)
        {
            token = poller.register(kick);
        }
        final int slot = queueSlots++;
        queueIndex[slot] = index;
        queuesOfToken[token] |= 1L << slot;
    }

    /** Starts the worker thread; every queue is serviced once at start, for kicks that came before activation. */
    public void start()
    {
        if (thread != null)
        {
            throw new IllegalStateException("worker already started: worker=" + name);
        }
        running = true;
        thread = Thread.ofPlatform().name(name).daemon(true).start(this::run);
    }

    private void run()
    {
        final long all = queueSlots == Long.SIZE ? -1L : (1L << queueSlots) - 1;
        long pending = all;
        while (running)
        {
            final long fired = pending != 0 ? poller.pollNow() : poller.poll();
            if (!running)
            {
                break;
            }
            wakeups.getAndIncrement();
            // bound: at most 64 tokens fired
            for (long f = fired; f != 0; f &= f - 1)
            {
                pending |= queuesOfToken[Long.numberOfTrailingZeros(f)];
            }
            long next = 0;
            // bound: at most 64 queue slots, each serviced once per round with a bounded budget
            for (long p = pending; p != 0; p &= p - 1)
            {
                final int slot = Long.numberOfTrailingZeros(p);
                if (service(slot))
                {
                    next |= 1L << slot;
                }
            }
            pending = next;
        }
    }

    private boolean service(final int slot)
    {
        handlerCalls.getAndIncrement();
        try
        {
            return handler.process(queueIndex[slot], budget);
        }
        catch (final RuntimeException | Error ex)
        {
            // A device bug must not kill the worker silently: count it, keep it, and stop servicing this queue
            // until the next kick.
            handlerErrors.getAndIncrement();
            lastError = ex;
            ALL_HANDLER_ERRORS.getAndIncrement();
            lastErrorOfAny = ex;
            return false;
        }
    }

    /**
     * Stops the worker and waits for its thread to finish: after this returns the handler is not running and will
     * not be called again. Idempotent.
     */
    public void stop()
    {
        final Thread t = thread;
        if (t == null)
        {
            poller.close();
            return;
        }
        running = false;
        poller.wakeup();
        if (Thread.currentThread() != t)
        {
            try
            {
                t.join(TimeUnit.SECONDS.toMillis(STOP_TIMEOUT_SECONDS));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive())
            {
                throw new IllegalStateException("worker did not stop: worker=" + name);
            }
        }
        poller.close();
        thread = null;
    }

    /** @return times the worker woke (a kick, or more work pending). */
    public long wakeups()
    {
        return wakeups.get();
    }

    /** @return calls to the handler. */
    public long handlerCalls()
    {
        return handlerCalls.get();
    }

    /** @return exceptions the handler threw, each counted and swallowed so the worker survives. */
    public long handlerErrors()
    {
        return handlerErrors.get();
    }

    /**
     * @return exceptions caught from the handlers of every worker in this JVM since it started, including workers
     *     already stopped by a reset (a device bug if it moves); any thread.
     */
    public static long handlerErrorsOfAllWorkers()
    {
        return ALL_HANDLER_ERRORS.get();
    }

    /** @return the last exception any worker's handler threw in this JVM, or null; any thread. */
    public static Throwable lastErrorOfAllWorkers()
    {
        return lastErrorOfAny;
    }

    /** @return the last exception the handler threw, or null. */
    public Throwable lastError()
    {
        return lastError;
    }

    /** @return the worker thread's name. */
    public String name()
    {
        return name;
    }
}
