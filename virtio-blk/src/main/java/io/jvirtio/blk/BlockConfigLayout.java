package io.jvirtio.blk;

/**
 * The device configuration space {@code struct virtio_blk_config}, virtio-v1.2 §5.2.4 "Device configuration layout",
 * little-endian, up to and including {@code unused1} (secure erase and zoned fields are not offered):
 * <pre>
 *   0  le64 capacity                 8  le32 size_max              12 le32 seg_max
 *   16 geometry {le16 cylinders; u8 heads; u8 sectors}             20 le32 blk_size
 *   24 topology {u8 physical_block_exp; u8 alignment_offset; le16 min_io_size; le32 opt_io_size}
 *   32 u8 writeback   33 u8 unused0  34 le16 num_queues
 *   36 le32 max_discard_sectors      40 le32 max_discard_seg       44 le32 discard_sector_alignment
 *   48 le32 max_write_zeroes_sectors 52 le32 max_write_zeroes_seg  56 u8 write_zeroes_may_unmap  57 u8 unused1[3]
 * </pre>
 * Thread safety: constants only.
 */
public final class BlockConfigLayout
{
    /** Offset of {@code capacity}, in 512-byte sectors. */
    public static final int CAPACITY_OFFSET = 0;
    /** Offset of {@code size_max}. */
    public static final int SIZE_MAX_OFFSET = CAPACITY_OFFSET + Long.BYTES;
    /** Offset of {@code seg_max}. */
    public static final int SEG_MAX_OFFSET = SIZE_MAX_OFFSET + Integer.BYTES;
    /** Offset of {@code geometry.cylinders}. */
    public static final int GEOMETRY_CYLINDERS_OFFSET = SEG_MAX_OFFSET + Integer.BYTES;
    /** Offset of {@code geometry.heads}. */
    public static final int GEOMETRY_HEADS_OFFSET = GEOMETRY_CYLINDERS_OFFSET + Short.BYTES;
    /** Offset of {@code geometry.sectors}. */
    public static final int GEOMETRY_SECTORS_OFFSET = GEOMETRY_HEADS_OFFSET + Byte.BYTES;
    /** Offset of {@code blk_size}. */
    public static final int BLK_SIZE_OFFSET = GEOMETRY_SECTORS_OFFSET + Byte.BYTES;
    /** Offset of {@code topology.physical_block_exp}. */
    public static final int PHYSICAL_BLOCK_EXP_OFFSET = BLK_SIZE_OFFSET + Integer.BYTES;
    /** Offset of {@code topology.alignment_offset}. */
    public static final int ALIGNMENT_OFFSET_OFFSET = PHYSICAL_BLOCK_EXP_OFFSET + Byte.BYTES;
    /** Offset of {@code topology.min_io_size}. */
    public static final int MIN_IO_SIZE_OFFSET = ALIGNMENT_OFFSET_OFFSET + Byte.BYTES;
    /** Offset of {@code topology.opt_io_size}. */
    public static final int OPT_IO_SIZE_OFFSET = MIN_IO_SIZE_OFFSET + Short.BYTES;
    /** Offset of {@code writeback}. */
    public static final int WRITEBACK_OFFSET = OPT_IO_SIZE_OFFSET + Integer.BYTES;
    /** Offset of {@code unused0}. */
    public static final int UNUSED0_OFFSET = WRITEBACK_OFFSET + Byte.BYTES;
    /** Offset of {@code num_queues}. */
    public static final int NUM_QUEUES_OFFSET = UNUSED0_OFFSET + Byte.BYTES;
    /** Offset of {@code max_discard_sectors}. */
    public static final int MAX_DISCARD_SECTORS_OFFSET = NUM_QUEUES_OFFSET + Short.BYTES;
    /** Offset of {@code max_discard_seg}. */
    public static final int MAX_DISCARD_SEG_OFFSET = MAX_DISCARD_SECTORS_OFFSET + Integer.BYTES;
    /** Offset of {@code discard_sector_alignment}. */
    public static final int DISCARD_SECTOR_ALIGNMENT_OFFSET = MAX_DISCARD_SEG_OFFSET + Integer.BYTES;
    /** Offset of {@code max_write_zeroes_sectors}. */
    public static final int MAX_WRITE_ZEROES_SECTORS_OFFSET = DISCARD_SECTOR_ALIGNMENT_OFFSET + Integer.BYTES;
    /** Offset of {@code max_write_zeroes_seg}. */
    public static final int MAX_WRITE_ZEROES_SEG_OFFSET = MAX_WRITE_ZEROES_SECTORS_OFFSET + Integer.BYTES;
    /** Offset of {@code write_zeroes_may_unmap}. */
    public static final int WRITE_ZEROES_MAY_UNMAP_OFFSET = MAX_WRITE_ZEROES_SEG_OFFSET + Integer.BYTES;
    /** Offset of {@code unused1[3]}. */
    public static final int UNUSED1_OFFSET = WRITE_ZEROES_MAY_UNMAP_OFFSET + Byte.BYTES;
    /** Size of the configuration space this device presents. */
    public static final int LENGTH = UNUSED1_OFFSET + 3;

    private BlockConfigLayout()
    {
    }
}
