package io.jvirtio.virtio.transport.pci;

/**
 * The named counters of the virtio-pci transport's own registers (the shared state machine counts its own in
 * {@link io.jvirtio.virtio.transport.TransportCounter}). Every one follows from a guest value and is counted, not
 * thrown.
 * <p>
 * Thread safety: immutable; any thread.
 */
public enum VirtioPciCounter
{
    /** A write of a config_msix_vector or queue_msix_vector the device has no vector for: it reads back NO_VECTOR. */
    MSIX_VECTOR_OUT_OF_RANGE,
    /** queue_enable written with 0, which the driver must not do (§4.1.4.3.2); ignored. */
    QUEUE_ENABLE_ZERO_WRITE,
    /** A queue_* register accessed while queue_select names no queue: reads 0 (NO_VECTOR for the vector). */
    QUEUE_SELECT_OUT_OF_RANGE,
    /** A common-config access that is not the field's natural width at the field's offset, or past the structure. */
    COMMON_CFG_ACCESS_INVALID,
    /** An ISR access that is not a one-byte read or is outside it; writes included. */
    ISR_ACCESS_INVALID,
    /** A notify-region access that is not a write at a queue's notify address. */
    NOTIFY_ACCESS_INVALID,
    /** A BAR access outside every virtio structure. */
    BAR_ACCESS_UNASSIGNED,
    /** A PCI_CFG window access with a bad bar, length, alignment or range: a no-op, reads all ones. */
    PCI_CFG_ACCESS_INVALID
}
