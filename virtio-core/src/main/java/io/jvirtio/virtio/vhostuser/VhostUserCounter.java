package io.jvirtio.virtio.vhostuser;

/**
 * What a vhost-user back-end counts: connections, and every front-end error that closed one (each with a one-line
 * log entry), and the notifications it could not deliver. The named counters of {@link VhostUserCounters}.
 * <p>
 * Thread safety: constants only.
 */
public enum VhostUserCounter
{
    /** Connections accepted (or made, when the back-end connects). */
    CONNECTIONS,
    /** Connections that ended, for any reason. */
    DISCONNECTIONS,
    /** A header whose version is not 0x1 or that has the reply flag set. */
    MALFORMED_HEADER,
    /** A request code the back-end does not know or does not serve. */
    UNKNOWN_REQUEST,
    /** A header whose size is above {@link VhostUserMessageLayout#MAX_PAYLOAD}. */
    OVERSIZED_PAYLOAD,
    /** The stream ended inside a header or a payload. */
    TRUNCATED_MESSAGE,
    /** A payload whose size does not fit its request. */
    BAD_PAYLOAD_SIZE,
    /** A message that brought a different number of fds than it needs (they are closed). */
    WRONG_FD_COUNT,
    /** A request that needs a feature or protocol feature that was not negotiated (or not offered). */
    NOT_NEGOTIATED,
    /** SET_FEATURES or SET_PROTOCOL_FEATURES with bits not offered, without VERSION_1, or refused by the device. */
    FEATURES_REFUSED,
    /** A memory region with no size or whose guest or file range wraps 2^64. */
    MEMORY_REGION_INVALID,
    /** A memory region whose fd mmap(2) refused (too short, not mappable). */
    MEMORY_REGION_UNMAPPABLE,
    /** Two memory regions overlap in guest-physical or in front-end address space. */
    MEMORY_REGIONS_OVERLAP,
    /** A ring message with an index at or above the number of rings served. */
    RING_INDEX_OUT_OF_RANGE,
    /** SET_VRING_NUM with a size that is 0, not a power of two, or above the queue's maximum. */
    BAD_RING_SIZE,
    /** SET_VRING_BASE with an index that is not a u16. */
    BAD_RING_BASE,
    /** SET_VRING_ADDR before any memory table, or with an area outside it. */
    RING_OUTSIDE_MEMORY,
    /** A started ring whose configuration the split-ring checks refused (alignment, overlap). */
    RING_CONFIG_REJECTED,
    /** SET_VRING_KICK without a descriptor: polling mode is not offered. */
    POLLING_NOT_SUPPORTED,
    /** GET_CONFIG or SET_CONFIG outside the 256-byte configuration window. */
    BAD_CONFIG_ACCESS,
    /** The device threw while it was activated. */
    ACTIVATION_FAILED,
    /** An I/O error on the socket. */
    SOCKET_ERROR,
    /** A used buffer notification for a ring that has no call fd. */
    CALL_DROPPED,
    /** A configuration change notification: it needs the back-end channel, which is not offered. */
    CONFIG_CHANGE_NOT_SENT,
    /** The device asked for a reset (a broken ring): vhost-user has no status to report it through. */
    NEEDS_RESET_NOT_SENT,
    /** A ring the guest broke (the queue's counters say which rule). */
    QUEUE_BROKEN
}
