/**
 * KVM's I/O buses with ioeventfd and irqfd, modelled on {@code virt/kvm/kvm_main.c} and {@code virt/kvm/eventfd.c}:
 * {@link io.jvirtio.bus.kvm.IoBuses} (the four buses, copy-on-write, read lock-free by vCPUs),
 * {@link io.jvirtio.bus.kvm.IoEventFds} ({@code KVM_IOEVENTFD}), {@link io.jvirtio.bus.kvm.IrqFds}
 * ({@code KVM_IRQFD}), and {@link io.jvirtio.bus.kvm.KvmException} with the errno KVM returns. The behaviour follows
 * the kernel's validation order, matching and collision rules exactly, and
 * {@link io.jvirtio.bus.kvm.KvmCompat} can reproduce the 2014 code with its bugs.
 */
package io.jvirtio.bus.kvm;
