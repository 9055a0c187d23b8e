package io.jvirtio.samples.bench;

import com.sun.management.ThreadMXBean;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * Bytes allocated by a set of threads (the calling thread, which plays the guest, and a device's workers), from the
 * JVM's per-thread allocation counters: how the programs show that the data path allocates nothing. The threads are
 * found once, when this object is made; reading the counters afterwards allocates nothing, so the measurement does
 * not count itself.
 * <p>
 * Thread safety: make and read it on the thread that plays the guest.
 */
public final class ThreadAllocations
{
    private static final ThreadMXBean THREADS = (ThreadMXBean)ManagementFactory.getThreadMXBean();

    private final long[] threadIds;

    private ThreadAllocations(final long[] threadIds)
    {
        this.threadIds = threadIds;
    }

    /**
     * @param namePrefix the workers: live threads whose name starts with this.
     * @return a probe over the calling thread and those threads.
     */
    public static ThreadAllocations of(final String namePrefix)
    {
        final long self = Thread.currentThread().threadId();
        final long[] ids = Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().startsWith(namePrefix) && t.threadId() != self)
            .mapToLong(Thread::threadId)
            .toArray();
        final long[] all = Arrays.copyOf(ids, ids.length + 1);
        all[ids.length] = self;
        return new ThreadAllocations(all);
    }

    /** @return how many threads are measured (the caller included). */
    public int threads()
    {
        return threadIds.length;
    }

    /** @return bytes allocated so far by the measured threads (a thread that ended counts as 0). */
    public long bytes()
    {
        long total = 0;
        for (final long id : threadIds)
        {
            total += Math.max(0, THREADS.getThreadAllocatedBytes(id));
        }
        return total;
    }
}
