/**
 * A VM on the host's real KVM ({@code /dev/kvm}) through the FFM API: {@link io.jvirtio.bus.kvmhost.Kvm} (the
 * system fd), {@link io.jvirtio.bus.kvmhost.KvmVm} (a VM implementing {@link io.jvirtio.bus.vm.Vm} with
 * {@code KVM_IOEVENTFD}, {@code KVM_IRQFD} and {@code KVM_SET_GSI_ROUTING}), {@link io.jvirtio.bus.kvmhost.KvmVcpu}
 * (real or 64-bit mode, {@link io.jvirtio.bus.kvmhost.KvmRegs}, and a {@code KVM_RUN} loop that dispatches port
 * and MMIO exits to the VM's userspace devices), {@link io.jvirtio.bus.kvmhost.IdentityPageTables} and
 * {@link io.jvirtio.bus.kvmhost.RealModeAssembler} (small guests built in code). Structure layouts and ioctl numbers
 * are those of {@code include/uapi/linux/kvm.h} and {@code arch/x86/include/uapi/asm/kvm.h}; constants are in
 * {@link io.jvirtio.bus.kvmhost.KvmApi}.
 */
package io.jvirtio.bus.kvmhost;
