package io.jvirtio.virtio.machine;

import io.jvirtio.virtio.VirtioDevice;
import io.jvirtio.virtio.driver.VirtioDriver;
import io.jvirtio.virtio.transport.TransportCore;

/**
 * A device presented to the guest by a {@link VirtioMachine}, with the guest driver bound to it.
 * <p>
 * Thread safety: immutable; the driver belongs to the thread that drives vCPU 0.
 *
 * @param device    the device model.
 * @param transport how it is presented.
 * @param driver    the guest driver's transport-independent core, bound to the device.
 * @param core      the device side of its transport: status, queues and the {@link TransportCore#counters()} of
 *                  every guest action it refused.
 */
public record AttachedDevice(VirtioDevice device, TransportKind transport, VirtioDriver driver, TransportCore core)
{
}
