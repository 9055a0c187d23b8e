/**
 * The virtio-pci modern transport (virtio-v1.2 §4.1 "Virtio Over PCI Bus"): a PCI function with the virtio vendor
 * capabilities, the common configuration register file, ISR, device configuration and a notify region in which
 * every queue has its own address (a wildcard length-0 ioeventfd, so kicks take the fast MMIO path), and MSI-X
 * vectors delivered through irqfds.
 */
package io.jvirtio.virtio.transport.pci;
