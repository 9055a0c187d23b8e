package io.jvirtio.blk;

/**
 * The virtio-blk constants of virtio-v1.2 §5.2 "Block Device" ({@code device-types/blk/description.tex}): the device
 * ID, the feature bits, the request types and the status values, under their spec names.
 * <p>
 * Thread safety: constants only.
 */
public final class VirtioBlk
{
    /** Device ID 2, virtio-v1.2 §5 "Device Types". */
    public static final int DEVICE_ID = 2;
    /** Capacity and sector numbers are in units of 512 bytes, whatever {@code blk_size} says (§5.2.4). */
    public static final int SECTOR_SIZE = 512;
    /** log2 of {@link #SECTOR_SIZE}. */
    public static final int SECTOR_SHIFT = 9;
    /** GET_ID answers with exactly this many bytes, NUL-padded, not NUL-terminated when 20 long (§5.2.6). */
    public static final int VIRTIO_BLK_ID_BYTES = 20;

    /** Feature bit 1: {@code size_max} is the largest size of any single segment. */
    public static final int VIRTIO_BLK_F_SIZE_MAX = 1;
    /** Feature bit 2: {@code seg_max} is the most segments in a request. */
    public static final int VIRTIO_BLK_F_SEG_MAX = 2;
    /** Feature bit 4: {@code geometry} is valid. */
    public static final int VIRTIO_BLK_F_GEOMETRY = 4;
    /** Feature bit 5: the device is read-only. */
    public static final int VIRTIO_BLK_F_RO = 5;
    /** Feature bit 6: {@code blk_size} is valid. */
    public static final int VIRTIO_BLK_F_BLK_SIZE = 6;
    /** Feature bit 9: the FLUSH request is supported (legacy name WCE). */
    public static final int VIRTIO_BLK_F_FLUSH = 9;
    /** Feature bit 10: {@code topology} is valid. */
    public static final int VIRTIO_BLK_F_TOPOLOGY = 10;
    /** Feature bit 11: the driver can switch the cache between writeback and writethrough ({@code writeback}). */
    public static final int VIRTIO_BLK_F_CONFIG_WCE = 11;
    /** Feature bit 12: {@code num_queues} is valid (multiqueue). */
    public static final int VIRTIO_BLK_F_MQ = 12;
    /** Feature bit 13: DISCARD is supported; the max_discard fields are valid. */
    public static final int VIRTIO_BLK_F_DISCARD = 13;
    /** Feature bit 14: WRITE_ZEROES is supported; the max_write_zeroes fields are valid. */
    public static final int VIRTIO_BLK_F_WRITE_ZEROES = 14;

    /** Request type 0: read. */
    public static final int VIRTIO_BLK_T_IN = 0;
    /** Request type 1: write. */
    public static final int VIRTIO_BLK_T_OUT = 1;
    /** Request type 4: flush the write cache. */
    public static final int VIRTIO_BLK_T_FLUSH = 4;
    /** Request type 8: the device ID string. */
    public static final int VIRTIO_BLK_T_GET_ID = 8;
    /** Request type 10: device lifetime (not implemented here: answered UNSUPP). */
    public static final int VIRTIO_BLK_T_GET_LIFETIME = 10;
    /** Request type 11: discard ranges. */
    public static final int VIRTIO_BLK_T_DISCARD = 11;
    /** Request type 13: write zeroes over ranges. */
    public static final int VIRTIO_BLK_T_WRITE_ZEROES = 13;
    /** Request type 14: secure erase (not offered: answered UNSUPP). */
    public static final int VIRTIO_BLK_T_SECURE_ERASE = 14;

    /** Status 0: success. */
    public static final byte VIRTIO_BLK_S_OK = 0;
    /** Status 1: device or driver error. */
    public static final byte VIRTIO_BLK_S_IOERR = 1;
    /** Status 2: request unsupported by the device. */
    public static final byte VIRTIO_BLK_S_UNSUPP = 2;

    /** Bit 0 of a discard / write-zeroes segment's {@code flags}: unmap; the other 31 bits are reserved (§5.2.6). */
    public static final int VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;

    private VirtioBlk()
    {
    }
}
