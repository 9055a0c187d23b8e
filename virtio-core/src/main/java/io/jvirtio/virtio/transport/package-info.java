/**
 * The state every virtio transport shares, whatever its register layout: the device status machine, feature
 * negotiation, per-queue configuration, config generation, DEVICE_NEEDS_RESET, activation at DRIVER_OK and reset
 * (virtio-v1.2 §2.1 "Device Status Field", §2.2 "Feature Bits", §2.4 "Device Reset", §3.1 "Device Initialization").
 * A transport (virtio-mmio, virtio-pci) decodes its registers and calls
 * {@link io.jvirtio.virtio.transport.TransportCore}; it supplies kick eventfds and clears its own registers through a
 * {@link io.jvirtio.virtio.transport.TransportBinding}.
 */
package io.jvirtio.virtio.transport;
