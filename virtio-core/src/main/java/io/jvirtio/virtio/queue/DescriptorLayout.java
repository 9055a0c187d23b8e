package io.jvirtio.virtio.queue;

/**
 * Layout of one split-virtqueue descriptor, {@code struct virtq_desc} of virtio-v1.2 §2.7.5 "The Virtqueue
 * Descriptor Table". All fields are little-endian.
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                          addr (le64)                          |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |                          len (le32)                           |
 * +-------------------------------+-------------------------------+
 * |          flags (le16)         |          next (le16)          |
 * +-------------------------------+-------------------------------+
 * </pre>
 * The descriptor table holds Queue Size descriptors and is 16-byte aligned (virtio-v1.2 §2.7 "Split Virtqueues",
 * the alignment table). An indirect table (§2.7.5.3 "Indirect Descriptors") is {@code len / 16} of the same records.
 * <p>
 * Thread safety: constants and pure functions only; any thread.
 */
public final class DescriptorLayout
{
    /** {@code le64 addr}: guest-physical address of the buffer. */
    public static final int ADDR_OFFSET = 0;
    /** {@code le32 len}: length of the buffer in bytes. */
    public static final int LEN_OFFSET = ADDR_OFFSET + Long.BYTES;
    /** {@code le16 flags}: {@link #VIRTQ_DESC_F_NEXT}, {@link #VIRTQ_DESC_F_WRITE}, {@link #VIRTQ_DESC_F_INDIRECT}. */
    public static final int FLAGS_OFFSET = LEN_OFFSET + Integer.BYTES;
    /** {@code le16 next}: index of the next descriptor when {@link #VIRTQ_DESC_F_NEXT} is set. */
    public static final int NEXT_OFFSET = FLAGS_OFFSET + Short.BYTES;
    /** Size of one descriptor in bytes. */
    public static final int LENGTH = NEXT_OFFSET + Short.BYTES;

    /** Required alignment of the descriptor table (virtio-v1.2 §2.7, alignment table). */
    public static final int ALIGNMENT = 16;

    /** The buffer continues via the {@code next} field. */
    public static final int VIRTQ_DESC_F_NEXT = 1;
    /** The buffer is device write-only (otherwise device read-only). */
    public static final int VIRTQ_DESC_F_WRITE = 2;
    /** The buffer holds a table of descriptors (needs VIRTIO_F_INDIRECT_DESC). */
    public static final int VIRTQ_DESC_F_INDIRECT = 4;

    private DescriptorLayout()
    {
    }

    /**
     * @param queueSize Queue Size, N.
     * @return bytes of the descriptor table: {@code 16 * N}.
     */
    public static long tableLength(final int queueSize)
    {
        return (long)LENGTH * queueSize;
    }

    /**
     * @param index descriptor index in its table.
     * @return byte offset of that descriptor from the start of the table.
     */
    public static long offset(final int index)
    {
        return (long)LENGTH * index;
    }
}
