package io.jvirtio.blk;

/**
 * The device-readable request header {@code struct virtio_blk_req}, virtio-v1.2 §5.2.6 "Device Operation":
 * <pre>
 *   0               4               8                               16
 *   +---------------+---------------+-------------------------------+---- data ----+ status (u8) +
 *   | le32 type     | le32 reserved | le64 sector                   |  u8 data[]   | last writable byte
 *   +---------------+---------------+-------------------------------+--------------+-------------+
 * </pre>
 * and the 16-byte segment that DISCARD and WRITE_ZEROES carry as data, {@code struct
 * virtio_blk_discard_write_zeroes}:
 * <pre>
 *   0                               8               12              16
 *   | le64 sector                   | le32 num_sectors | le32 flags (bit 0 unmap, rest reserved) |
 * </pre>
 * Thread safety: constants only.
 */
public final class BlockRequestLayout
{
    /** Offset of {@code type}. */
    public static final int TYPE_OFFSET = 0;
    /** Offset of {@code reserved}. */
    public static final int RESERVED_OFFSET = TYPE_OFFSET + Integer.BYTES;
    /** Offset of {@code sector}. */
    public static final int SECTOR_OFFSET = RESERVED_OFFSET + Integer.BYTES;
    /** Length of the header. */
    public static final int HEADER_LENGTH = SECTOR_OFFSET + Long.BYTES;

    /** Offset of a segment's {@code sector}. */
    public static final int SEGMENT_SECTOR_OFFSET = 0;
    /** Offset of a segment's {@code num_sectors}. */
    public static final int SEGMENT_NUM_SECTORS_OFFSET = SEGMENT_SECTOR_OFFSET + Long.BYTES;
    /** Offset of a segment's {@code flags}. */
    public static final int SEGMENT_FLAGS_OFFSET = SEGMENT_NUM_SECTORS_OFFSET + Integer.BYTES;
    /** Length of one discard / write-zeroes segment. */
    public static final int SEGMENT_LENGTH = SEGMENT_FLAGS_OFFSET + Integer.BYTES;

    private BlockRequestLayout()
    {
    }

    /** @return the little-endian u32 at {@code offset} of {@code bytes}, as an int. */
    static int intLE(final byte[] bytes, final int offset)
    {
        return (bytes[offset] & 0xFF) | (bytes[offset + 1] & 0xFF) << 8 | (bytes[offset + 2] & 0xFF) << 16
            | (bytes[offset + 3] & 0xFF) << 24;
    }

    /** @return the little-endian u64 at {@code offset} of {@code bytes}. */
    static long longLE(final byte[] bytes, final int offset)
    {
        return (intLE(bytes, offset) & 0xFFFF_FFFFL) | (long)intLE(bytes, offset + Integer.BYTES) << 32;
    }
}
