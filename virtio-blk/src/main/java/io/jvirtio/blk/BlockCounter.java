package io.jvirtio.blk;

/**
 * The named counters of a {@link BlockDevice}: requests, their status, and every guest error the device met (each
 * counted, none thrown; style rule 10).
 * <p>
 * Thread safety: immutable constants; any thread.
 */
public enum BlockCounter
{
    /** Chains taken from the queues. */
    REQUESTS,
    /** Requests answered VIRTIO_BLK_S_OK. */
    STATUS_OK,
    /** Requests answered VIRTIO_BLK_S_IOERR. */
    STATUS_IOERR,
    /** Requests answered VIRTIO_BLK_S_UNSUPP. */
    STATUS_UNSUPP,
    /** Broken framing: fewer than 16 readable bytes; completed with used len 0 and nothing written. */
    FRAMING_NO_HEADER,
    /** Broken framing: no writable byte for the status; completed with used len 0 and nothing written. */
    FRAMING_NO_STATUS,
    /** Unknown or unsupported request type, or DISCARD / WRITE_ZEROES not negotiated (UNSUPP). */
    UNSUPPORTED_TYPE,
    /** Data in the wrong direction: readable data on a read, writable bytes before the status on a write (IOERR). */
    BAD_DIRECTION,
    /** A write, discard or write-zeroes on a read-only device; nothing written (IOERR). */
    READ_ONLY_WRITE,
    /** IN/OUT data not a multiple of 512, or DISCARD/WRITE_ZEROES data empty or not a multiple of 16 (IOERR). */
    BAD_LENGTH,
    /** More data segments than {@code seg_max} (IOERR), or more ranges than {@code max_*_seg} (UNSUPP). */
    TOO_MANY_SEGMENTS,
    /** A range that starts or ends past capacity, or whose end overflows (IOERR). */
    OUT_OF_RANGE,
    /** Reserved flag bits in a range, or unmap on a discard (UNSUPP). */
    BAD_SEGMENT_FLAGS,
    /** A range longer than {@code max_discard_sectors} / {@code max_write_zeroes_sectors} (IOERR). */
    SEGMENT_TOO_LARGE,
    /** FLUSH with a sector other than 0 or with data (IOERR). */
    BAD_FLUSH,
    /** GET_ID with readable data or a writable data length other than 20 (IOERR). */
    BAD_GET_ID,
    /** The backend failed on the host (IOERR). */
    BACKEND_ERRORS,
    /** Backend flushes: FLUSH requests and writethrough writes. */
    FLUSHES,
    /** A queue broke a ring rule; the device asked for NEEDS_RESET. */
    QUEUE_BROKEN,
    /** Writes to read-only or unknown config fields, or to {@code writeback} without CONFIG_WCE; ignored. */
    CONFIG_WRITES_IGNORED
}
