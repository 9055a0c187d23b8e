package io.jvirtio.bus.stats;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/** A clock the test sets; any thread may read it. */
final class ManualClock implements LongSupplier
{
    private final AtomicLong now;

    ManualClock(final long start)
    {
        now = new AtomicLong(start);
    }

    void set(final long nanos)
    {
        now.set(nanos);
    }

    void advance(final long nanos)
    {
        now.addAndGet(nanos);
    }

    @Override
    public long getAsLong()
    {
        return now.get();
    }
}
