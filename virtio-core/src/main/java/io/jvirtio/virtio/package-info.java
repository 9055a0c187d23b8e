/**
 * virtio 1.x machinery: the device model, the split virtqueue, the virtio-pci and virtio-mmio transports, device
 * workers and the guest driver library.
 */
package io.jvirtio.virtio;
