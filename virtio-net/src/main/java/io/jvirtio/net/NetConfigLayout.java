package io.jvirtio.net;

/**
 * The layout of the device configuration space, virtio-v1.2 §5.1.4 "Device configuration layout", little-endian, as
 * far as this device presents it (no speed/duplex, no RSS fields: SPEED_DUPLEX and RSS are not offered).
 * <pre>
 *   0                     6              8                      10     12
 *   | mac[6]              | status       | max_virtqueue_pairs  | mtu  |
 *   | u8 x 6              | le16         | le16                 | le16 |
 * </pre>
 * Thread safety: constants only.
 */
public final class NetConfigLayout
{
    /** Offset of {@code u8 mac[6]}. */
    public static final int MAC_OFFSET = 0;
    /** Bytes in a MAC address. */
    public static final int MAC_LENGTH = 6;
    /** Offset of {@code le16 status}. */
    public static final int STATUS_OFFSET = MAC_OFFSET + MAC_LENGTH;
    /** Offset of {@code le16 max_virtqueue_pairs}. */
    public static final int MAX_VIRTQUEUE_PAIRS_OFFSET = STATUS_OFFSET + 2;
    /** Offset of {@code le16 mtu}. */
    public static final int MTU_OFFSET = MAX_VIRTQUEUE_PAIRS_OFFSET + 2;
    /** The configuration space's length in bytes. */
    public static final int LENGTH = MTU_OFFSET + 2;

    /** {@code status}: the link is up. */
    public static final int VIRTIO_NET_S_LINK_UP = 1;
    /** {@code status}: the driver should send a gratuitous packet (GUEST_ANNOUNCE, not offered). */
    public static final int VIRTIO_NET_S_ANNOUNCE = 2;

    private NetConfigLayout()
    {
    }
}
