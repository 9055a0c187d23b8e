package io.jvirtio.virtio.machine;

/**
 * How a device is presented to the guest.
 * <p>
 * Thread safety: immutable.
 */
public enum TransportKind
{
    /**
     * virtio-pci modern: each queue has its own notify address, a wildcard length-0 ioeventfd, so every kick takes
     * the fast-MMIO path; interrupts are MSI-X vectors through irqfds.
     */
    PCI,
    /**
     * virtio-mmio v2 with one wildcard length-0 ioeventfd on QueueNotify for the whole device: kicks take the fast
     * path, and the woken worker checks every queue it owns.
     */
    MMIO_WILDCARD,
    /**
     * virtio-mmio v2 with one datamatch ioeventfd per queue on QueueNotify: exact, but every kick is decoded (the
     * slow path).
     */
    MMIO_DATAMATCH
}
