package io.jvirtio.net;

/**
 * The control virtqueue's command format and the classes and commands this device knows, virtio-v1.2 §5.1.6.5
 * "Control Virtqueue":
 * <pre>
 *   | u8 class | u8 command | command-specific-data ... |   device-readable
 *   | u8 ack |                                              device-writable
 * </pre>
 * Thread safety: constants only.
 */
public final class ControlLayout
{
    /** Bytes of {@code class} and {@code command}. */
    public static final int HEADER_LENGTH = 2;
    /** {@code ack}: the command was applied. */
    public static final int VIRTIO_NET_OK = 0;
    /** {@code ack}: the command was refused. */
    public static final int VIRTIO_NET_ERR = 1;

    /** Class: packet receive filtering, §5.1.6.5.1. */
    public static final int VIRTIO_NET_CTRL_RX = 0;
    /** RX command: promiscuous mode on (1) or off (0). */
    public static final int VIRTIO_NET_CTRL_RX_PROMISC = 0;
    /** RX command: all-multicast mode on (1) or off (0). */
    public static final int VIRTIO_NET_CTRL_RX_ALLMULTI = 1;

    /** Class: MAC address filtering, §5.1.6.5.2. */
    public static final int VIRTIO_NET_CTRL_MAC = 1;
    /** MAC command: set the unicast and multicast filter tables. */
    public static final int VIRTIO_NET_CTRL_MAC_TABLE_SET = 0;
    /** MAC command: set the default MAC address (needs CTRL_MAC_ADDR, which is not offered). */
    public static final int VIRTIO_NET_CTRL_MAC_ADDR_SET = 1;
    /** Bytes of a MAC table's {@code le32 entries} field. */
    public static final int MAC_TABLE_ENTRIES_LENGTH = 4;

    /** Class: multiqueue, §5.1.6.5.6. */
    public static final int VIRTIO_NET_CTRL_MQ = 4;
    /** MQ command: set the number of queue pairs in use ({@code le16 virtqueue_pairs}). */
    public static final int VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET = 0;
    /** Bytes of the VQ_PAIRS_SET payload. */
    public static final int VQ_PAIRS_SET_LENGTH = 2;

    private ControlLayout()
    {
    }
}
