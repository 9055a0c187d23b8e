package io.jvirtio.virtio.transport;

import io.jvirtio.bus.event.EventFd;

/**
 * What a transport supplies to the {@link TransportCore} that serves it: the eventfd each queue's notification
 * signals, and the clearing of its own registers at reset. A transport assigns its notify ioeventfds in
 * {@link #assignKick(int)} and deassigns them in {@link #resetTransport()}.
 * <p>
 * Thread safety: called by {@link TransportCore} on a vCPU thread, under the core's control-path lock.
 */
public interface TransportBinding
{
    /**
     * Called at DRIVER_OK for each queue the driver enabled, in queue order: registers how a notification of that
     * queue reaches the device (an ioeventfd on the queue's notify address) and returns the eventfd it signals.
     * Several queues may share one eventfd (virtio-mmio's wildcard notify).
     *
     * @param queueIndex the queue, below the device's queue count.
     * @return the eventfd a notification of that queue signals.
     * @throws RuntimeException if the registration fails (the core then sets DEVICE_NEEDS_RESET and counts it).
     */
    EventFd assignKick(int queueIndex);

    /**
     * Called at reset after the device stopped touching guest memory: deassigns every kick registration and clears
     * the transport's own state (selectors, interrupt status, MSI-X vectors), as virtio-v1.2 §2.4 requires. Must not
     * throw.
     */
    void resetTransport();
}
