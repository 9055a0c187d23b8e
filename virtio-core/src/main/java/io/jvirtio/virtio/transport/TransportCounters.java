package io.jvirtio.virtio.transport;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The counters of one transport, one per {@link TransportCounter}. They survive reset, so a test can assert the
 * change an action caused.
 * <p>
 * Thread safety: any thread; increments are lock-free and allocate nothing.
 */
public final class TransportCounters
{
    private static final TransportCounter[] ALL = TransportCounter.values();

    private final AtomicLongArray values = new AtomicLongArray(ALL.length);

    /** @param counter the counter to add one to. */
    public void increment(final TransportCounter counter)
    {
        values.getAndIncrement(counter.ordinal());
    }

    /** @return the current value of {@code counter}. */
    public long get(final TransportCounter counter)
    {
        return values.get(counter.ordinal());
    }

    /** @return the sum of every counter, to check that an action caused no refusal at all. */
    public long total()
    {
        long sum = 0;
        // bound: one pass over a fixed enum
        for (int i = 0; i < ALL.length; i++)
        {
            sum += values.get(i);
        }
        return sum;
    }

    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder("TransportCounters{");
        // bound: one pass over a fixed enum
        for (int i = 0; i < ALL.length; i++)
        {
            final long value = values.get(i);
            if (value != 0)
            {
                sb.append(ALL[i]).append('=').append(value).append(' ');
            }
        }
        return sb.append('}').toString();
    }
}
