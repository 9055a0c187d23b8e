package io.jvirtio.virtio.queue;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The counters of one queue: one per {@link QueueCounter} and one per {@link QueueError}. They survive a queue reset.
 * <p>
 * Thread safety: written only by the thread that owns the queue at the time (single writer, so an increment is an
 * opaque store, not an atomic read-modify-write); read from any thread with opaque loads, which never tear.
 */
public final class QueueCounters
{
    private static final int COUNTER_SLOTS = QueueCounter.values().length;
    private static final int ERROR_SLOTS = QueueError.values().length;

    private final AtomicLongArray values = new AtomicLongArray(COUNTER_SLOTS + ERROR_SLOTS);

    /**
     * @param counter the counter.
     * @return its current value.
     */
    public long get(final QueueCounter counter)
    {
        return values.getOpaque(counter.ordinal());
    }

    /**
     * @param error the error.
     * @return how many times the queue broke with that error.
     */
    public long errors(final QueueError error)
    {
        return values.getOpaque(COUNTER_SLOTS + error.ordinal());
    }

    void increment(final QueueCounter counter)
    {
        add(counter.ordinal(), 1);
    }

    void add(final QueueCounter counter, final long delta)
    {
        add(counter.ordinal(), delta);
    }

    void increment(final QueueError error)
    {
        add(COUNTER_SLOTS + error.ordinal(), 1);
    }

    private void add(final int slot, final long delta)
    {
        values.setOpaque(slot, values.getPlain(slot) + delta);
    }
}
