package io.jvirtio.virtio.queue;

/**
 * The VIRTIO_F_EVENT_IDX notification test, {@code virtq_need_event} of virtio-v1.2 Appendix A "virtio_queue.h".
 * <p>
 * The side that moved an index from {@code old} to {@code new} must notify the other side if the event index it
 * published lies in {@code [old, new)} modulo 2^16: that is, if one of the entries just written sits at
 * {@code event} (§2.7.7.2 for {@code used_event}, §2.7.10.1 for {@code avail_event}). All three values are u16 and
 * the arithmetic wraps at 65536.
 * <p>
 * Thread safety: a pure function; any thread.
 */
public final class EventIdx
{
    private static final int U16_MASK = 0xFFFF;

    private EventIdx()
    {
    }

    /**
     * {@code (u16)(new - event - 1) < (u16)(new - old)}.
     *
     * @param eventIdx the other side's event index ({@code used_event} or {@code avail_event}); low 16 bits used.
     * @param newIdx   the index just published; low 16 bits used.
     * @param oldIdx   the index at the previous notification decision; low 16 bits used.
     * @return true if a notification is needed.
     */
    public static boolean needEvent(final int eventIdx, final int newIdx, final int oldIdx)
    {
        return ((newIdx - eventIdx - 1) & U16_MASK) < ((newIdx - oldIdx) & U16_MASK);
    }
}
