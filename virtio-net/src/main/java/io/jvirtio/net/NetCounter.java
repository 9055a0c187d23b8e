package io.jvirtio.net;

/**
 * The events a {@link NetDevice} counts: every frame it drops and every guest input it refuses, plus the traffic
 * that went through. Read them with {@link NetCounters#get(NetCounter)}.
 * <p>
 * Thread safety: immutable constants; any thread.
 */
public enum NetCounter
{
    /** TX frames handed to the backend. */
    TX_FRAMES,
    /** TX frame bytes (headers excluded) handed to the backend. */
    TX_BYTES,
    /** TX chains whose readable part is shorter than the 12-byte header: dropped, completed with 0. */
    TX_HEADER_TOO_SHORT,
    /** TX frames over the size limit (MTU + 14 with MTU, 65550 bytes otherwise): dropped, completed with 0. */
    TX_FRAME_TOO_LARGE,
    /** TX headers whose {@code gso_type} needs a HOST_* feature that was not negotiated, or is unknown: dropped. */
    TX_GSO_NOT_NEGOTIATED,
    /** TX headers with a GSO type and {@code gso_size} 0: dropped. */
    TX_GSO_SIZE_ZERO,
    /** TX headers with NEEDS_CSUM whose {@code csum_start + csum_offset + 2} lies past the frame: dropped. */
    TX_CSUM_OUT_OF_FRAME,
    /** TX headers with NEEDS_CSUM while VIRTIO_NET_F_CSUM was not negotiated: dropped. */
    TX_CSUM_NOT_NEGOTIATED,
    /** TX headers with {@code num_buffers != 0} (the driver MUST set 0): counted, the field is ignored. */
    TX_NUM_BUFFERS_NONZERO,
    /** TX headers whose {@code hdr_len} lies past the frame: counted, carried through (it is only a hint). */
    TX_HDR_LEN_BEYOND_FRAME,
    /** RX frames written into guest buffers. */
    RX_FRAMES,
    /** RX frame bytes (headers excluded) written into guest buffers. */
    RX_BYTES,
    /** Times a frame had to wait because the RX queue had no (or not enough) buffers. */
    RX_NO_BUFFER,
    /** RX frames that did not fit one chain without MRG_RXBUF: dropped, the chain given back unused. */
    RX_CHAIN_TOO_SMALL,
    /** RX chains whose writable part cannot hold the 12-byte header: completed with 0 and skipped. */
    RX_CHAIN_UNUSABLE,
    /** RX frames that would need more than {@link NetQueuePair#MAX_MERGED_BUFFERS} mergeable buffers: dropped. */
    RX_MERGE_LIMIT,
    /** RX frames over MTU + 14 with MTU negotiated and no GSO (§5.1.6.3.1): dropped. */
    RX_FRAME_OVER_MTU,
    /** RX frames whose {@code gso_type} needs a GUEST_* feature that was not negotiated: dropped. */
    RX_GSO_NOT_NEGOTIATED,
    /** RX frames from the backend with a {@code gso_type} but without NEEDS_CSUM or {@code gso_size}: dropped. */
    RX_GSO_INCONSISTENT,
    /** Control commands answered VIRTIO_NET_OK. */
    CTRL_OK,
    /** Control commands answered VIRTIO_NET_ERR because the class or command is unknown or not negotiated. */
    CTRL_UNSUPPORTED,
    /** Control commands answered VIRTIO_NET_ERR because their payload is malformed (size, value, table). */
    CTRL_MALFORMED,
    /** Control chains without the 2-byte header or the writable ack byte: completed with 0, not answered. */
    CTRL_MISSING_HEADER,
    /** VQ_PAIRS_SET commands with a value outside 1..max_virtqueue_pairs: answered VIRTIO_NET_ERR. */
    CTRL_BAD_VQ_PAIRS,
    /** MAC_TABLE_SET tables over the device's 64 entries: accepted, with the table marked overflowed. */
    CTRL_MAC_TABLE_OVERFLOW,
    /** Queues the driver broke (a ring rule); each is reported once to the transport as needing a reset. */
    QUEUES_BROKEN,
    /** Driver writes to the read-only configuration space: ignored. */
    CONFIG_WRITES_IGNORED,
    /** Configuration change notifications requested (link changes). */
    CONFIG_CHANGES
}
