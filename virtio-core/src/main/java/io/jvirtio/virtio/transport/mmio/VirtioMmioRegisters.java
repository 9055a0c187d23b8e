package io.jvirtio.virtio.transport.mmio;

/**
 * The virtio-mmio version 2 register map, virtio-v1.2 §4.2.2 "MMIO Device Register Layout": offsets from the base of
 * the device's window. Registers below {@link #CONFIG} are 32 bits wide and only aligned 32-bit accesses are defined
 * (§4.2.2.2: "The driver MUST only use 32 bit wide and aligned reads and writes"). The legacy (version 1) registers
 * GuestPageSize 0x028, QueueAlign 0x03c and QueuePFN 0x040 do not exist here (CVE-2017-17381 came from QueueAlign).
 * <p>
 * Thread safety: constants only.
 */
public final class VirtioMmioRegisters
{
    /** MagicValue (R): {@link #MAGIC}. */
    public static final int MAGIC_VALUE = 0x000;
    /** Version (R): {@link #VERSION_2}. */
    public static final int VERSION = 0x004;
    /** DeviceID (R): the virtio device ID; 0 is a placeholder the driver ignores. */
    public static final int DEVICE_ID = 0x008;
    /** VendorID (R). */
    public static final int VENDOR_ID = 0x00c;
    /** DeviceFeatures (R): 32 offered feature bits starting at {@code 32 * DeviceFeaturesSel}. */
    public static final int DEVICE_FEATURES = 0x010;
    /** DeviceFeaturesSel (W). */
    public static final int DEVICE_FEATURES_SEL = 0x014;
    /** DriverFeatures (W): 32 accepted feature bits starting at {@code 32 * DriverFeaturesSel}. */
    public static final int DRIVER_FEATURES = 0x020;
    /** DriverFeaturesSel (W). */
    public static final int DRIVER_FEATURES_SEL = 0x024;
    /** QueueSel (W): the queue the queue registers refer to. */
    public static final int QUEUE_SEL = 0x030;
    /** QueueSizeMax (R), QueueNumMax in the spec: 0 if the queue does not exist. */
    public static final int QUEUE_SIZE_MAX = 0x034;
    /** QueueSize (W), QueueNum in the spec. */
    public static final int QUEUE_SIZE = 0x038;
    /** QueueReady (RW). */
    public static final int QUEUE_READY = 0x044;
    /** QueueNotify (W): the queue index (no VIRTIO_F_NOTIFICATION_DATA). */
    public static final int QUEUE_NOTIFY = 0x050;
    /** InterruptStatus (R): {@link #INTERRUPT_USED_BUFFER}, {@link #INTERRUPT_CONFIG_CHANGE}. */
    public static final int INTERRUPT_STATUS = 0x060;
    /** InterruptACK (W): clears the InterruptStatus bits written. */
    public static final int INTERRUPT_ACK = 0x064;
    /** Status (RW): the device status field; writing 0 resets. */
    public static final int STATUS = 0x070;
    /** QueueDescLow (W). */
    public static final int QUEUE_DESC_LOW = 0x080;
    /** QueueDescHigh (W). */
    public static final int QUEUE_DESC_HIGH = 0x084;
    /** QueueDriverLow (W). */
    public static final int QUEUE_DRIVER_LOW = 0x090;
    /** QueueDriverHigh (W). */
    public static final int QUEUE_DRIVER_HIGH = 0x094;
    /** QueueDeviceLow (W). */
    public static final int QUEUE_DEVICE_LOW = 0x0a0;
    /** QueueDeviceHigh (W). */
    public static final int QUEUE_DEVICE_HIGH = 0x0a4;
    /** SHMSel (W): the shared memory region the SHM registers refer to. */
    public static final int SHM_SEL = 0x0ac;
    /** SHMLenLow (R): all ones for a region that does not exist. */
    public static final int SHM_LEN_LOW = 0x0b0;
    /** SHMLenHigh (R). */
    public static final int SHM_LEN_HIGH = 0x0b4;
    /** SHMBaseLow (R): all ones for a region that does not exist. */
    public static final int SHM_BASE_LOW = 0x0b8;
    /** SHMBaseHigh (R). */
    public static final int SHM_BASE_HIGH = 0x0bc;
    /** QueueReset (RW): only with VIRTIO_F_RING_RESET, which this transport does not offer. */
    public static final int QUEUE_RESET = 0x0c0;
    /** ConfigGeneration (R). */
    public static final int CONFIG_GENERATION = 0x0fc;
    /** Config (RW): device-specific configuration space, byte-granular, from here on. */
    public static final int CONFIG = 0x100;

    /** The magic value, ASCII "virt" read little-endian. */
    public static final int MAGIC = 0x74726976;
    /** The non-legacy version. */
    public static final int VERSION_2 = 2;
    /** InterruptStatus bit 0: a used buffer notification. */
    public static final int INTERRUPT_USED_BUFFER = 1;
    /** InterruptStatus bit 1: a configuration change notification. */
    public static final int INTERRUPT_CONFIG_CHANGE = 2;
    /** Width of every register below {@link #CONFIG}. */
    public static final int REGISTER_SIZE = 4;

    private VirtioMmioRegisters()
    {
    }
}
