package io.jvirtio.virtio.transport;

/**
 * The three areas of a virtqueue whose guest-physical addresses the driver writes (virtio-v1.2 §2.6 "Virtqueues":
 * Descriptor Area, Driver Area, Device Area). Transports write each 64-bit address as two 32-bit halves.
 * <p>
 * Thread safety: constants only.
 */
public enum QueueArea
{
    /** The Descriptor Area: the descriptor table (virtio-mmio QueueDescLow/High, virtio-pci queue_desc). */
    DESC,
    /** The Driver Area: the available ring (virtio-mmio QueueDriverLow/High, virtio-pci queue_driver). */
    DRIVER,
    /** The Device Area: the used ring (virtio-mmio QueueDeviceLow/High, virtio-pci queue_device). */
    DEVICE
}
