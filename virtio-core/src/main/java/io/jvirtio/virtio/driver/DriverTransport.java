package io.jvirtio.virtio.driver;

/**
 * The transport-specific half of a guest driver: how {@link VirtioDriver} reaches the common configuration of a
 * device. virtio-mmio ({@link MmioDriverTransport}) and virtio-pci each implement it; every
 * method is a register access through a vCPU (an exit), and none checks what the device answers beyond what the
 * method documents: that is {@link VirtioDriver}'s job.
 * <p>
 * Thread safety: the vCPU thread that plays the driver; not thread-safe.
 */
public interface DriverTransport
{
    /** @return the virtio device ID (virtio-v1.2 §5), 0 for a placeholder. */
    int deviceId();

    /** @return the device status field. */
    int readStatus();

    /** Writes the device status field (0 resets the device). */
    void writeStatus(int status);

    /** @return the 64 feature bits the device offers (both 32-bit pages). */
    long readDeviceFeatures();

    /** Writes the 64 feature bits the driver accepts (both 32-bit pages). */
    void writeDriverFeatures(long features);

    /**
     * @param queue a queue index.
     * @return the largest Queue Size the device supports for {@code queue}; 0 if the queue does not exist.
     */
    int queueMaxSize(int queue);

    /**
     * Writes a queue's size and the guest-physical addresses of its three areas; does not enable it.
     *
     * @param queue     the queue index.
     * @param size      Queue Size.
     * @param descTable the Descriptor Area.
     * @param availRing the Driver Area.
     * @param usedRing  the Device Area.
     */
    void setupQueue(int queue, int size, long descTable, long availRing, long usedRing);

    /** Enables a queue (QueueReady / queue_enable = 1). */
    void enableQueue(int queue);

    /** @return true if the device reports {@code queue} as ready / enabled. */
    boolean queueReady(int queue);

    /** Sends an available buffer notification for {@code queue} (a store to its notify address). */
    void notifyQueue(int queue);

    /**
     * Reads device configuration space.
     *
     * @param offset bytes from the start of the device's config space.
     * @param size   1, 2 or 4.
     * @return the value, zero-extended.
     */
    long readConfig(int offset, int size);

    /** Writes device configuration space. */
    void writeConfig(int offset, int size, long value);

    /** @return the config generation (to read multi-field config consistently, §2.5.1). */
    int configGeneration();

    /**
     * Handles the device's side of an interrupt: reads which causes are pending and acknowledges them
     * (virtio-mmio InterruptStatus then InterruptACK; virtio-pci reads the ISR, which clears it).
     *
     * @return {@link #INTERRUPT_USED_BUFFER} and/or {@link #INTERRUPT_CONFIG_CHANGE}.
     */
    int acknowledgeInterrupt();

    /** @return the register window, for a hostile driver to write anything anywhere. */
    RawRegisters raw();

    /** Interrupt cause: a used buffer notification (virtio-mmio InterruptStatus bit 0, ISR bit 0). */
    int INTERRUPT_USED_BUFFER = 1;
    /** Interrupt cause: a configuration change notification (InterruptStatus bit 1, ISR bit 1). */
    int INTERRUPT_CONFIG_CHANGE = 2;
}
