package io.jvirtio.virtio.transport.pci;

/**
 * The virtio vendor capabilities, virtio-v1.2 §4.1.4 "Virtio Structure PCI Capabilities" (checklist 3.8).
 *
 * <pre>
 *  struct virtio_pci_cap (16 bytes)          struct virtio_pci_notify_cap (20 bytes)
 *  +0  u8 cap_vndr (0x09)                    +0  struct virtio_pci_cap cap
 *  +1  u8 cap_next                           +16 le32 notify_off_multiplier
 *  +2  u8 cap_len
 *  +3  u8 cfg_type                           struct virtio_pci_cfg_cap (20 bytes)
 *  +4  u8 bar                                +0  struct virtio_pci_cap cap
 *  +5  u8 id                                 +16 u8 pci_cfg_data[4]
 *  +6  u8 padding[2]
 *  +8  le32 offset
 *  +12 le32 length
 * </pre>
 * <p>
 * Thread safety: constants only.
 */
public final class VirtioPciCapLayout
{
    /** Offset of cap_len. */
    public static final int CAP_LEN = 2;
    /** Offset of cfg_type. */
    public static final int CFG_TYPE = 3;
    /** Offset of bar. */
    public static final int BAR = 4;
    /** Offset of id. */
    public static final int ID = 5;
    /** Offset of offset (le32). */
    public static final int OFFSET = 8;
    /** Offset of length (le32). */
    public static final int LENGTH = 12;
    /** sizeof(struct virtio_pci_cap). */
    public static final int CAP_SIZE = 16;
    /** Offset of notify_off_multiplier in struct virtio_pci_notify_cap. */
    public static final int NOTIFY_OFF_MULTIPLIER = 16;
    /** sizeof(struct virtio_pci_notify_cap). */
    public static final int NOTIFY_CAP_SIZE = 20;
    /** Offset of pci_cfg_data in struct virtio_pci_cfg_cap. */
    public static final int PCI_CFG_DATA = 16;
    /** sizeof(struct virtio_pci_cfg_cap). */
    public static final int PCI_CFG_CAP_SIZE = 20;

    /** cfg_type: common configuration. */
    public static final int VIRTIO_PCI_CAP_COMMON_CFG = 1;
    /** cfg_type: notifications. */
    public static final int VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
    /** cfg_type: ISR status. */
    public static final int VIRTIO_PCI_CAP_ISR_CFG = 3;
    /** cfg_type: device-specific configuration. */
    public static final int VIRTIO_PCI_CAP_DEVICE_CFG = 4;
    /** cfg_type: PCI configuration access. */
    public static final int VIRTIO_PCI_CAP_PCI_CFG = 5;

    private VirtioPciCapLayout()
    {
    }
}
