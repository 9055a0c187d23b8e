/**
 * Generic PCI, as a VMM presents it to a guest: a host bridge with configuration mechanism #1 (ports 0xCF8/0xCFC)
 * and an ECAM window, functions with a type 0 configuration header, 64-bit memory BARs served by userspace devices
 * while memory decoding is on, a capability list, and MSI-X with its vectors wired to irqfds. Nothing here knows
 * virtio.
 */
package io.jvirtio.bus.pci;
