package io.jvirtio.blk;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The counters of one {@link BlockDevice}, one per {@link BlockCounter}. They survive reset.
 * <p>
 * Thread safety: incremented by the device's workers and the vCPU thread; read from any thread. Incrementing
 * allocates nothing and takes no lock.
 */
public final class BlockCounters
{
    private final AtomicLongArray values = new AtomicLongArray(BlockCounter.values().length);

    /** @return the current value of {@code counter}. */
    public long get(final BlockCounter counter)
    {
        return values.get(counter.ordinal());
    }

    void increment(final BlockCounter counter)
    {
        values.getAndIncrement(counter.ordinal());
    }
}
