package io.jvirtio.virtio.queue;

/**
 * Layout of the split-virtqueue used ring (the Device Area), {@code struct virtq_used} of virtio-v1.2 §2.7.8 "The
 * Virtqueue Used Ring". Written only by the device, read by the driver. All fields are little-endian.
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-------------------------------+-------------------------------+
 * |          flags (le16)         |           idx (le16)          |
 * +-------------------------------+-------------------------------+
 * |                       ring[0].id (le32)                       |
 * +---------------------------------------------------------------+
 * |                       ring[0].len (le32)                      |
 * +---------------------------------------------------------------+
 * |                             . . .                             |
 * +---------------------------------------------------------------+
 * |                      ring[N-1].len (le32)                     |
 * +-------------------------------+-------------------------------+
 * |      avail_event (le16)       |
 * +-------------------------------+
 * </pre>
 * Each element is {@code struct virtq_used_elem {le32 id; le32 len;}}: the head of the used chain and the bytes
 * written into it. {@code avail_event} exists only with VIRTIO_F_EVENT_IDX, but the area is always
 * {@code 6 + 8 * N} bytes and 4-byte aligned (virtio-v1.2 §2.7, alignment table).
 * <p>
 * Thread safety: constants and pure functions only; any thread.
 */
public final class UsedRingLayout
{
    /** {@code le16 flags}: {@link #VIRTQ_USED_F_NO_NOTIFY} (only without VIRTIO_F_EVENT_IDX). */
    public static final int FLAGS_OFFSET = 0;
    /** {@code le16 idx}: where the device will put the next used element (modulo Queue Size). */
    public static final int IDX_OFFSET = FLAGS_OFFSET + Short.BYTES;
    /** {@code struct virtq_used_elem ring[N]}. */
    public static final int RING_OFFSET = IDX_OFFSET + Short.BYTES;

    /** {@code le32 id} inside one used element: index of the head of the used chain. */
    public static final int ELEMENT_ID_OFFSET = 0;
    /** {@code le32 len} inside one used element: bytes written into the chain's device-writable buffers. */
    public static final int ELEMENT_LEN_OFFSET = ELEMENT_ID_OFFSET + Integer.BYTES;
    /** Size of one used element in bytes. */
    public static final int ELEMENT_LENGTH = ELEMENT_LEN_OFFSET + Integer.BYTES;

    /** Required alignment of the used ring (virtio-v1.2 §2.7, alignment table). */
    public static final int ALIGNMENT = 4;

    /** The device advises that it needs no available buffer notification (virtio-v1.2 §2.7.10). */
    public static final int VIRTQ_USED_F_NO_NOTIFY = 1;

    private UsedRingLayout()
    {
    }

    /**
     * @param slot ring slot, {@code idx mod N}.
     * @return byte offset of {@code ring[slot]} from the start of the used ring.
     */
    public static long elementOffset(final int slot)
    {
        return RING_OFFSET + (long)ELEMENT_LENGTH * slot;
    }

    /**
     * @param queueSize Queue Size, N.
     * @return byte offset of {@code avail_event}, which sits right after {@code ring[N-1]}.
     */
    public static long availEventOffset(final int queueSize)
    {
        return elementOffset(queueSize);
    }

    /**
     * @param queueSize Queue Size, N.
     * @return bytes of the used ring: {@code 6 + 8 * N}.
     */
    public static long length(final int queueSize)
    {
        return availEventOffset(queueSize) + Short.BYTES;
    }
}
