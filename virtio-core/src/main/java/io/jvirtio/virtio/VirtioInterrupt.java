package io.jvirtio.virtio;

/**
 * A device's way to notify the driver: a used buffer notification for a queue, or a configuration change
 * notification. The transport implements it (an MSI-X vector's irqfd for virtio-pci, the InterruptStatus bits and a
 * GSI irqfd for virtio-mmio).
 * <p>
 * Thread safety: any thread; {@link #signalQueue} is called on the data path and must not allocate or lock.
 */
public interface VirtioInterrupt
{
    /** Sends a used buffer notification for {@code queueIndex} (the worker decided the driver wants it). */
    void signalQueue(int queueIndex);

    /** Sends a configuration change notification. */
    void signalConfig();
}
