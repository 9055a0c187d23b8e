package io.jvirtio.bus.event;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A call that is expected to block, run on its own thread, with helpers to wait until it really blocks and to
 * collect its outcome. Every wait here is a failure timeout, never a measurement.
 */
final class BlockingCall extends Thread
{
    /** How long a test waits for another thread before it fails; generous, because the machine is shared. */
    static final long FAILURE_TIMEOUT_SECONDS = 20;
    /** How often a waiting test looks again; sleeping leaves the shared cores to the threads under test. */
    private static final long POLL_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    /** The call under test. */
    @FunctionalInterface
    interface Call
    {
        long call() throws Exception;
    }

    private final Call call;
    private volatile long result;
    private volatile Throwable failure;

    private BlockingCall(final String name, final Call call)
    {
        super(name);
        this.call = call;
        setDaemon(true);
    }

    /** Starts {@code call} on a new thread. */
    static BlockingCall start(final String name, final Call call)
    {
        final BlockingCall thread = new BlockingCall(name, call);
        thread.start();
        return thread;
    }

    @Override
    public void run()
    {
        try
        {
            result = call.call();
        }
        catch (final Throwable t)
        {
            failure = t;
        }
    }

    /**
     * Waits until the thread sleeps: parked (WAITING, TIMED_WAITING), or inside poll(2) or epoll_wait(2).
     */
    BlockingCall awaitBlocked()
    {
        awaitCondition(this::isSleeping, "thread did not block: name=" + getName());
        return this;
    }

    /** @return the call's result once it has returned. */
    long awaitResult() throws InterruptedException
    {
        awaitReturn();
        if (failure != null)
        {
            fail("blocked call threw: name=" + getName(), failure);
        }
        return result;
    }

    /** @return what the call threw, or null if it returned. */
    Throwable awaitFailure() throws InterruptedException
    {
        awaitReturn();
        return failure;
    }

    private void awaitReturn() throws InterruptedException
    {
        join(TimeUnit.SECONDS.toMillis(FAILURE_TIMEOUT_SECONDS));
        assertFalse(isAlive(), "blocked call did not return: name=" + getName());
    }

    private boolean isSleeping()
    {
        final State state = getState();
        if (state == State.WAITING || state == State.TIMED_WAITING)
        {
            return true;
        }
        if (state != State.RUNNABLE)
        {
            return false;
        }
        for (final StackTraceElement frame : getStackTrace())
        {
            if (frame.getClassName().endsWith(".Libc") &&
                ("poll".equals(frame.getMethodName()) || "epollWait".equals(frame.getMethodName())))
            {
                return true;
            }
        }
        return false;
    }

    /** Waits until {@code condition} holds, failing with {@code message} after the failure timeout. */
    static void awaitCondition(final BooleanSupplier condition, final String message)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(FAILURE_TIMEOUT_SECONDS);
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() - deadline > 0)
            {
                fail(message);
            }
            LockSupport.parkNanos(POLL_INTERVAL_NANOS);
        }
    }
}
