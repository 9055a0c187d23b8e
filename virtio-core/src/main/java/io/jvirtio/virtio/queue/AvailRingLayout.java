package io.jvirtio.virtio.queue;

/**
 * Layout of the split-virtqueue available ring (the Driver Area), {@code struct virtq_avail} of virtio-v1.2 §2.7.6
 * "The Virtqueue Available Ring". Written only by the driver, read by the device. All fields are little-endian.
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-------------------------------+-------------------------------+
 * |          flags (le16)         |           idx (le16)          |
 * +-------------------------------+-------------------------------+
 * |         ring[0] (le16)        |         ring[1] (le16)        |
 * +-------------------------------+-------------------------------+
 * |                             . . .                             |
 * +-------------------------------+-------------------------------+
 * |       ring[N-1] (le16)        |     used_event (le16)         |
 * +-------------------------------+-------------------------------+
 * </pre>
 * {@code used_event} exists only with VIRTIO_F_EVENT_IDX, but the area is always {@code 6 + 2 * N} bytes and 2-byte
 * aligned (virtio-v1.2 §2.7, alignment table). {@code idx} is free-running and wraps at 65536; ring slot =
 * {@code idx mod N}.
 * <p>
 * Thread safety: constants and pure functions only; any thread.
 */
public final class AvailRingLayout
{
    /** {@code le16 flags}: {@link #VIRTQ_AVAIL_F_NO_INTERRUPT} (only without VIRTIO_F_EVENT_IDX). */
    public static final int FLAGS_OFFSET = 0;
    /** {@code le16 idx}: where the driver will put the next ring entry (modulo Queue Size). */
    public static final int IDX_OFFSET = FLAGS_OFFSET + Short.BYTES;
    /** {@code le16 ring[N]}: heads of available descriptor chains. */
    public static final int RING_OFFSET = IDX_OFFSET + Short.BYTES;
    /** Size of one ring entry in bytes. */
    public static final int ELEMENT_LENGTH = Short.BYTES;

    /** Required alignment of the available ring (virtio-v1.2 §2.7, alignment table). */
    public static final int ALIGNMENT = 2;

    /** The driver advises that it needs no used buffer notification (virtio-v1.2 §2.7.7). */
    public static final int VIRTQ_AVAIL_F_NO_INTERRUPT = 1;

    private AvailRingLayout()
    {
    }

    /**
     * @param slot ring slot, {@code idx mod N}.
     * @return byte offset of {@code ring[slot]} from the start of the ring.
     */
    public static long ringEntryOffset(final int slot)
    {
        return RING_OFFSET + (long)ELEMENT_LENGTH * slot;
    }

    /**
     * @param queueSize Queue Size, N.
     * @return byte offset of {@code used_event}, which sits at {@code ring[N]}.
     */
    public static long usedEventOffset(final int queueSize)
    {
        return ringEntryOffset(queueSize);
    }

    /**
     * @param queueSize Queue Size, N.
     * @return bytes of the available ring: {@code 6 + 2 * N}.
     */
    public static long length(final int queueSize)
    {
        return usedEventOffset(queueSize) + Short.BYTES;
    }
}
