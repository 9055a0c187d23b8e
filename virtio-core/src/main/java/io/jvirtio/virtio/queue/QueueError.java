package io.jvirtio.virtio.queue;

/**
 * A ring rule the driver broke, found while popping a chain. Each one breaks the queue (virtio-v1.2 §2.1.2: the
 * device sets DEVICE_NEEDS_RESET) and is counted per queue in {@link QueueCounters#errors(QueueError)}. Names follow
 * the conformance checklist's split-ring items and QEMU's {@code virtio_error} messages.
 * <p>
 * Thread safety: immutable constants; any thread.
 */
public enum QueueError
{
    /**
     * {@code (u16)(avail.idx - last_avail) > N}: the driver claims more chains than the ring holds, or moved
     * {@code idx} backwards (§2.7.6.1 "MUST NOT decrement the available idx"; QEMU "Guest moved used index").
     */
    AVAIL_INDEX_JUMP,
    /** An available-ring entry names a head {@code >= N} (QEMU "Guest says index %u is available"). */
    HEAD_OUT_OF_RANGE,
    /**
     * A head that is already in flight was made available again; at most N chains can be in flight
     * (CVE-2016-5403, and the Cloud Hypervisor duplicate-head use-after-free).
     */
    DUPLICATE_HEAD,
    /** A {@code next} index {@code >= N}, or {@code >=} the indirect table's length (QEMU "Desc next is %u"). */
    NEXT_OUT_OF_RANGE,
    /**
     * The walk used up its hop budget: N hops in the descriptor table, or the table length inside an indirect table
     * (§2.7.5.2: loops are forbidden; QEMU "Looped descriptor").
     */
    LOOPED_DESCRIPTOR,
    /**
     * The chain has more buffer descriptors than Queue Size, counting direct ones and indirect-table entries
     * (§2.7.5.3.1 "A driver MUST NOT create a descriptor chain longer than the Queue Size of the device").
     */
    CHAIN_TOO_LONG,
    /** A device-readable descriptor follows a device-writable one (§2.7.4.2; QEMU "Incorrect order"). */
    ORDER_VIOLATION,
    /** The chain's lengths add up to 2^32 bytes or more (§2.7.5.2 "longer than 2^32 bytes in total"). */
    LENGTH_OVERFLOW,
    /**
     * A buffer {@code [addr, addr + len)} wraps 2^64 or is not inside one guest RAM region (CVE-2019-18960: a
     * range must lie in a single mapped region).
     */
    ADDRESS_OUT_OF_RANGE,
    /**
     * A device-writable buffer overlaps the descriptor table, the available ring or the used ring; writing it would
     * write driver-owned ring memory (§2.7.5.1, §2.7.6).
     */
    BUFFER_OVERLAPS_RING,
    /** VIRTQ_DESC_F_INDIRECT without VIRTIO_F_INDIRECT_DESC negotiated (§2.7.5.3.1). */
    INDIRECT_NOT_NEGOTIATED,
    /** VIRTQ_DESC_F_INDIRECT together with VIRTQ_DESC_F_NEXT (§2.7.5.3.1). */
    INDIRECT_WITH_NEXT,
    /** VIRTQ_DESC_F_INDIRECT inside an indirect table (§2.7.5.3.1 "only one table per descriptor"). */
    NESTED_INDIRECT,
    /**
     * An indirect table whose length is 0, not a multiple of 16, longer than Queue Size descriptors, or not inside
     * one guest RAM region (QEMU "Invalid size for indirect buffer table", "Cannot map indirect buffer").
     */
    BAD_INDIRECT
}
