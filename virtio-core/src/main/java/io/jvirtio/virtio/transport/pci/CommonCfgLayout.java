package io.jvirtio.virtio.transport.pci;

/**
 * {@code struct virtio_pci_common_cfg}, virtio-v1.2 §4.1.4.3 "Common configuration structure layout", the virtio 1.0
 * and 1.1 structure of 56 bytes (checklist 3.8; NOTIF_CONFIG_DATA, RING_RESET and the admin queue fields are not
 * offered, so they are not decoded).
 * <p>
 * Thread safety: constants only.
 */
public final class CommonCfgLayout
{
    /** le32 RW: which 32 bits of device_feature to show. */
    public static final int DEVICE_FEATURE_SELECT = 0x00;
    /** le32 RO: 32 bits of the device's features. */
    public static final int DEVICE_FEATURE = 0x04;
    /** le32 RW: which 32 bits of driver_feature to access. */
    public static final int DRIVER_FEATURE_SELECT = 0x08;
    /** le32 RW: 32 bits of the driver's features. */
    public static final int DRIVER_FEATURE = 0x0C;
    /** le16 RW: the MSI-X vector for configuration change notifications. */
    public static final int CONFIG_MSIX_VECTOR = 0x10;
    /** le16 RO: the number of queues. */
    public static final int NUM_QUEUES = 0x12;
    /** u8 RW: the device status field. */
    public static final int DEVICE_STATUS = 0x14;
    /** u8 RO: the configuration atomicity value. */
    public static final int CONFIG_GENERATION = 0x15;
    /** le16 RW: the queue the queue_* fields refer to. */
    public static final int QUEUE_SELECT = 0x16;
    /** le16 RW: the selected queue's size; the maximum after reset, 0 for a queue that does not exist. */
    public static final int QUEUE_SIZE = 0x18;
    /** le16 RW: the selected queue's MSI-X vector. */
    public static final int QUEUE_MSIX_VECTOR = 0x1A;
    /** le16 RW: 1 once the selected queue is enabled. */
    public static final int QUEUE_ENABLE = 0x1C;
    /** le16 RO: the selected queue's notify offset, in notify_off_multiplier units. */
    public static final int QUEUE_NOTIFY_OFF = 0x1E;
    /** le64 RW: the selected queue's Descriptor Area. */
    public static final int QUEUE_DESC = 0x20;
    /** le64 RW: the selected queue's Driver Area. */
    public static final int QUEUE_DRIVER = 0x28;
    /** le64 RW: the selected queue's Device Area. */
    public static final int QUEUE_DEVICE = 0x30;
    /** Size of the structure. */
    public static final int LENGTH = 0x38;

    /** MSI-X "no vector": no interrupt for that event (§4.1.5.1.2). */
    public static final int VIRTIO_MSI_NO_VECTOR = 0xFFFF;

    private CommonCfgLayout()
    {
    }
}
