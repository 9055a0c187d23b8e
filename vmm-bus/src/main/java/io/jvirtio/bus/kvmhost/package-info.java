/**
 * A VM on the host's real KVM ({@code /dev/kvm}) through the FFM API: {@link io.jvirtio.bus.kvmhost.Kvm} (the
 * system fd), {@link io.jvirtio.bus.kvmhost.KvmVm} (a VM implementing {@link io.jvirtio.bus.vm.Vm} with
 * {@code KVM_IOEVENTFD}, {@code KVM_IRQFD} and {@code KVM_SET_GSI_ROUTING}), {@link io.jvirtio.bus.kvmhost.KvmVcpu}
 * (a {@code KVM_RUN} loop that dispatches port and MMIO exits to the VM's userspace devices) and
 * {@link io.jvirtio.bus.kvmhost.RealModeAssembler} (small real-mode guests built in code). Structure layouts and
 * ioctl numbers are those of {@code include/uapi/linux/kvm.h} and {@code arch/x86/include/uapi/asm/kvm.h}.
 */
package io.jvirtio.bus.kvmhost;
