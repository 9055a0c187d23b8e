package io.jvirtio.net;

/**
 * The layout of {@code struct virtio_net_hdr} as virtio 1.x always has it (virtio-v1.2 §5.1.6 "Device Operation":
 * with VIRTIO_F_VERSION_1 the header includes {@code num_buffers}), little-endian, 12 bytes. The longer headers of
 * HASH_REPORT and the tunnel features are not offered, so the length never depends on anything else (CVE-2023-6693:
 * derive the header length once and size buffers from it).
 * <pre>
 *   0        1          2         4          6            8             10            12
 *   | flags  | gso_type | hdr_len | gso_size | csum_start | csum_offset | num_buffers |
 *   | u8     | u8       | le16    | le16     | le16       | le16        | le16        |
 * </pre>
 * Thread safety: constants only.
 */
public final class NetHeaderLayout
{
    /** Offset of {@code u8 flags}. */
    public static final int FLAGS_OFFSET = 0;
    /** Offset of {@code u8 gso_type}. */
    public static final int GSO_TYPE_OFFSET = FLAGS_OFFSET + 1;
    /** Offset of {@code le16 hdr_len}. */
    public static final int HDR_LEN_OFFSET = GSO_TYPE_OFFSET + 1;
    /** Offset of {@code le16 gso_size}. */
    public static final int GSO_SIZE_OFFSET = HDR_LEN_OFFSET + 2;
    /** Offset of {@code le16 csum_start}. */
    public static final int CSUM_START_OFFSET = GSO_SIZE_OFFSET + 2;
    /** Offset of {@code le16 csum_offset}. */
    public static final int CSUM_OFFSET_OFFSET = CSUM_START_OFFSET + 2;
    /** Offset of {@code le16 num_buffers}. */
    public static final int NUM_BUFFERS_OFFSET = CSUM_OFFSET_OFFSET + 2;
    /** The header's length in bytes. */
    public static final int LENGTH = NUM_BUFFERS_OFFSET + 2;

    /** {@code flags}: the checksum from {@code csum_start} to the end needs computing. */
    public static final int VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
    /** {@code flags}: the checksum is already validated (RX only). */
    public static final int VIRTIO_NET_HDR_F_DATA_VALID = 2;
    /** {@code flags}: the RSC fields are used (RX only, with RSC_EXT). */
    public static final int VIRTIO_NET_HDR_F_RSC_INFO = 4;

    /** {@code gso_type}: not a GSO frame. */
    public static final int VIRTIO_NET_HDR_GSO_NONE = 0;
    /** {@code gso_type}: TCPv4 segmentation. */
    public static final int VIRTIO_NET_HDR_GSO_TCPV4 = 1;
    /** {@code gso_type}: UDP fragmentation (UFO). */
    public static final int VIRTIO_NET_HDR_GSO_UDP = 3;
    /** {@code gso_type}: TCPv6 segmentation. */
    public static final int VIRTIO_NET_HDR_GSO_TCPV6 = 4;
    /** {@code gso_type}: UDP segmentation (USO). */
    public static final int VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
    /** {@code gso_type} bit: TCP with ECN (CWR set). */
    public static final int VIRTIO_NET_HDR_GSO_ECN = 0x80;

    private NetHeaderLayout()
    {
    }
}
