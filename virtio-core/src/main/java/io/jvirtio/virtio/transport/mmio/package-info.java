/**
 * The virtio-mmio version 2 transport (virtio-v1.2 §4.2 "Virtio Over MMIO"): a register file that lives in the VMM
 * as a userspace MMIO device, notifications through ioeventfds on QueueNotify, and a level-triggered GSI driven by an
 * irqfd with a resamplefd.
 */
package io.jvirtio.virtio.transport.mmio;
