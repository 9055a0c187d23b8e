package io.jvirtio.virtio.vhostuser;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The counters of one vhost-user back-end, one per {@link VhostUserCounter}. They survive connections, so a test
 * can assert the change a message caused.
 * <p>
 * Thread safety: any thread; increments are lock-free and allocate nothing.
 */
public final class VhostUserCounters
{
    private static final VhostUserCounter[] ALL = VhostUserCounter.values();

    private final AtomicLongArray values = new AtomicLongArray(ALL.length);

    /** @param counter the counter to add one to. */
    public void increment(final VhostUserCounter counter)
    {
        values.getAndIncrement(counter.ordinal());
    }

    /** @return the current value of {@code counter}. */
    public long get(final VhostUserCounter counter)
    {
        return values.get(counter.ordinal());
    }

    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder("VhostUserCounters{");
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
