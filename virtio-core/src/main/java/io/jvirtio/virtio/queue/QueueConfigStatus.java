package io.jvirtio.virtio.queue;

/**
 * The outcome of validating a queue's configuration at enable time (conformance checklist item 4; virtio-v1.2 §2.7
 * "Split Virtqueues" for size and alignment). The configuration comes from guest register writes, so a bad one is
 * reported, not thrown; the transport decides what the driver sees.
 * <p>
 * Thread safety: immutable constants; any thread.
 */
public enum QueueConfigStatus
{
    /** The configuration is valid. */
    VALID,
    /** Queue Size is 0. */
    SIZE_ZERO,
    /** Queue Size is not a power of 2 (required for split virtqueues). */
    SIZE_NOT_POWER_OF_TWO,
    /** Queue Size is above the device's maximum (at most 32768). */
    SIZE_ABOVE_MAX,
    /** The descriptor table is not 16-byte aligned. */
    DESC_TABLE_MISALIGNED,
    /** The available ring is not 2-byte aligned. */
    AVAIL_RING_MISALIGNED,
    /** The used ring is not 4-byte aligned. */
    USED_RING_MISALIGNED,
    /** The descriptor table is not inside one guest RAM region. */
    DESC_TABLE_NOT_IN_RAM,
    /** The available ring is not inside one guest RAM region. */
    AVAIL_RING_NOT_IN_RAM,
    /** The used ring is not inside one guest RAM region. */
    USED_RING_NOT_IN_RAM,
    /**
     * The used ring overlaps the descriptor table or the available ring: the device would write driver-owned memory
     * (§2.7: each part is written by the driver or by the device, never both).
     */
    USED_RING_OVERLAPS
}
