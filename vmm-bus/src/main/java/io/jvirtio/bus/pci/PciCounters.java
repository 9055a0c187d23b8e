package io.jvirtio.bus.pci;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One set of {@link PciCounter} values, shared by a host bridge and its functions.
 * <p>
 * Thread safety: any thread; increments are atomic and allocate nothing.
 */
public final class PciCounters
{
    private static final PciCounter[] COUNTERS = PciCounter.values();

    private final AtomicLongArray values = new AtomicLongArray(COUNTERS.length);

    /** Adds one to {@code counter}. */
    public void increment(final PciCounter counter)
    {
        values.getAndIncrement(counter.ordinal());
    }

    /** @return the current value of {@code counter}. */
    public long get(final PciCounter counter)
    {
        return values.get(counter.ordinal());
    }
}
