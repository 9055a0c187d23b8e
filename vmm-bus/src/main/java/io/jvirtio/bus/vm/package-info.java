/**
 * The VM: the {@link io.jvirtio.bus.vm.Vm} interface that devices and transports program against, the pure-Java
 * {@link io.jvirtio.bus.vm.SimulatedVm}, its vCPUs and their exit handler (the VMX/SVM exit paths of KVM, with the
 * fast-MMIO path for wildcard ioeventfds), and userspace MMIO/port dispatch.
 */
package io.jvirtio.bus.vm;
