package io.jvirtio.virtio;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.virtio.queue.VirtQueue;

/**
 * Everything a device gets at DRIVER_OK: the negotiated features, guest memory, the queues the driver enabled with
 * their kick eventfds, and the interrupt to notify through. A queue the driver did not enable is reported as such and
 * must not be touched.
 * <p>
 * Thread safety: immutable for the life of one activation; the queues belong to the device's workers.
 */
public interface DeviceContext
{
    /** @return the features both sides agreed on (VERSION_1 included). */
    long features();

    /** @return guest RAM. */
    GuestMemory memory();

    /** @return the number of queues the device has (enabled or not). */
    int queueCount();

    /** @return true if the driver enabled queue {@code index}. */
    boolean isQueueEnabled(int index);

    /** @return queue {@code index}, active if enabled. */
    VirtQueue queue(int index);

    /**
     * @return the eventfd a kick of queue {@code index} signals. With one notify eventfd for the whole device (the
     *     virtio-mmio wildcard mode) every queue returns the same eventfd, and a worker woken by it checks every queue
     *     it owns.
     */
    EventFd kick(int index);

    /** @return the interrupt to notify the driver through. */
    VirtioInterrupt interrupt();
}
