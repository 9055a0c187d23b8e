package io.jvirtio.virtio;

/**
 * Feature bits reserved for the transport and the queues, virtio-v1.2 §6 "Reserved Feature Bits" (device-specific
 * bits live with each device). A feature set is a {@code long}: bit {@code n} is feature {@code n}.
 * <p>
 * Thread safety: constants only.
 */
public final class VirtioFeatures
{
    /** Bit 28: descriptors may point at indirect descriptor tables (§2.7.5.3). */
    public static final int VIRTIO_F_INDIRECT_DESC = 28;
    /** Bit 29: {@code used_event} and {@code avail_event} suppress notifications (§2.7.7, §2.7.10). */
    public static final int VIRTIO_F_EVENT_IDX = 29;
    /** Bit 32: a virtio 1.x (non-legacy) device; the device offers it and requires it. */
    public static final int VIRTIO_F_VERSION_1 = 32;
    /** Bit 33: the device is behind an IOMMU or restricted memory access. */
    public static final int VIRTIO_F_ACCESS_PLATFORM = 33;
    /** Bit 34: packed virtqueue layout (§2.8). */
    public static final int VIRTIO_F_RING_PACKED = 34;
    /** Bit 35: buffers are used in the order they were made available. */
    public static final int VIRTIO_F_IN_ORDER = 35;
    /** Bit 36: memory accesses need platform ordering. */
    public static final int VIRTIO_F_ORDER_PLATFORM = 36;
    /** Bit 37: single-root I/O virtualization. */
    public static final int VIRTIO_F_SR_IOV = 37;
    /** Bit 38: the driver passes extra data in notifications (§2.9). */
    public static final int VIRTIO_F_NOTIFICATION_DATA = 38;
    /** Bit 39: the device supplies notification data for the driver to use. */
    public static final int VIRTIO_F_NOTIF_CONFIG_DATA = 39;
    /** Bit 40: individual queues can be reset. */
    public static final int VIRTIO_F_RING_RESET = 40;

    private VirtioFeatures()
    {
    }

    /** @return the mask with bit {@code bit} set. */
    public static long bit(final int bit)
    {
        return 1L << bit;
    }

    /** @return true if {@code features} has bit {@code bit}. */
    public static boolean has(final long features, final int bit)
    {
        return (features & (1L << bit)) != 0;
    }
}
