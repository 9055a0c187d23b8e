package io.jvirtio.net.capture;

/**
 * The fixed binary layout of one captured frame: one Chronicle Queue document per frame, written through the raw
 * document API in the platform's byte order (Chronicle's {@code writeShort}/{@code writeInt}/{@code writeLong}).
 * <pre>
 *   0      1      2             4                     8
 *   +------+------+-------------+---------------------+
 *   | dir  | hlen | pair (u16)  | frameLength (u32)   |
 *   +------+------+-------------+---------------------+
 *   |           timeNanos (epoch nanoseconds)         |  8..15
 *   +-------------------------------------------------+
 *   | virtio_net_hdr, hlen bytes (0 or 12)            |  16..
 *   +-------------------------------------------------+
 *   | the Ethernet frame, frameLength bytes           |
 *   +-------------------------------------------------+
 * </pre>
 */
public final class CaptureLayout
{
    /** Offset of the direction byte, {@link CaptureDirection#code()}. */
    public static final int DIRECTION_OFFSET = 0;
    /** Offset of the header length byte: 0 when headers are not captured, else 12. */
    public static final int HEADER_LENGTH_OFFSET = DIRECTION_OFFSET + Byte.BYTES;
    /** Offset of the queue pair the frame went through. */
    public static final int PAIR_OFFSET = HEADER_LENGTH_OFFSET + Byte.BYTES;
    /** Offset of the frame's length in bytes. */
    public static final int FRAME_LENGTH_OFFSET = PAIR_OFFSET + Short.BYTES;
    /** Offset of the capture time, nanoseconds since the Unix epoch. */
    public static final int TIME_OFFSET = FRAME_LENGTH_OFFSET + Integer.BYTES;
    /** Offset of the header (if captured), then the frame. */
    public static final int PAYLOAD_OFFSET = TIME_OFFSET + Long.BYTES;
    /** Length of the fixed fields. */
    public static final int LENGTH = PAYLOAD_OFFSET;
    /** The longest frame a device moves: a 64 KiB GSO payload plus its 14-byte Ethernet header. */
    public static final int MAX_FRAME_LENGTH = 65_536 + 14;

    private CaptureLayout()
    {
    }
}
