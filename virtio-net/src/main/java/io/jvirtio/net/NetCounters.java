package io.jvirtio.net;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The counters of one {@link NetDevice}, one per {@link NetCounter}. They survive reset.
 * <p>
 * Thread safety: any thread. Several workers write them (one per queue pair, plus the control path), so increments are
 * atomic adds; no lock, no allocation.
 */
public final class NetCounters
{
    private final AtomicLongArray values = new AtomicLongArray(NetCounter.values().length);

    /**
     * @param counter the counter.
     * @return its current value.
     */
    public long get(final NetCounter counter)
    {
        return values.get(counter.ordinal());
    }

    void increment(final NetCounter counter)
    {
        values.getAndIncrement(counter.ordinal());
    }

    void add(final NetCounter counter, final long delta)
    {
        values.getAndAdd(counter.ordinal(), delta);
    }
}
