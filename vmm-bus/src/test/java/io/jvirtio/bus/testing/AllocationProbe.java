package io.jvirtio.bus.testing;

import com.sun.management.ThreadMXBean;

import java.lang.management.ManagementFactory;

/**
 * The one way tests measure that a data path allocates nothing: the JVM's per-thread allocation counter around a
 * batch of operations on the calling thread.
 * <p>
 * A batch is measured up to {@code attempts} times and the least is returned. A steady-state path that allocates
 * does so on every operation and shows up in every batch; what a single batch can pick up once, on a loaded
 * machine, is the JIT settling (a deoptimisation or an on-stack replacement that runs a few interpreted frames).
 * <p>
 * Thread safety: measures the calling thread; any thread.
 */
public final class AllocationProbe
{
    private static final ThreadMXBean THREADS = (ThreadMXBean)ManagementFactory.getThreadMXBean();

    private AllocationProbe()
    {
    }

    /**
     * @param attempts how many times to measure, at least 1.
     * @param batch    the operations to measure, run on this thread.
     * @return the fewest bytes any one run of {@code batch} allocated on this thread (stops at the first 0).
     */
    public static long leastAllocated(final int attempts, final Runnable batch)
    {
        final long tid = Thread.currentThread().threadId();
        long least = Long.MAX_VALUE;
        for (int i = 0; i < attempts && least != 0; i++)
        {
            final long before = THREADS.getThreadAllocatedBytes(tid);
            batch.run();
            least = Math.min(least, THREADS.getThreadAllocatedBytes(tid) - before);
        }
        return least;
    }

    /**
     * @param tid a live thread's id.
     * @return the bytes that thread has allocated so far, for measuring another thread (a worker) from outside.
     */
    public static long allocatedBy(final long tid)
    {
        return THREADS.getThreadAllocatedBytes(tid);
    }
}
