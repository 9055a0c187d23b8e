package io.jvirtio.bus.vm;

import io.jvirtio.bus.guest.GuestAddressSpace;
import io.jvirtio.bus.irq.MsiMessage;
import io.jvirtio.bus.kvm.KvmException;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.kvm.KvmIrqFd;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.stats.ExitStats;

/**
 * A virtual machine as device and transport code see it: guest memory, the ioeventfd and irqfd registrations of the
 * KVM API, userspace MMIO and port ranges for register files, and the vCPUs. {@link SimulatedVm} implements it in
 * pure Java; a VM on /dev/kvm can implement it through the same calls ({@code KVM_IOEVENTFD}, {@code KVM_IRQFD},
 * {@code KVM_SET_GSI_ROUTING}), which is why the arguments are the KVM structures.
 * <p>
 * Thread safety: every method may be called from any thread; the vCPUs themselves are each driven by one thread at a
 * time (see {@link Vcpu}).
 */
public interface Vm extends AutoCloseable
{
    /** @return guest-physical RAM. */
    GuestMemory memory();

    /**
     * @return the guest kernel's page tables and allocator over {@link #memory()}, for guest-side code (drivers).
     */
    GuestAddressSpace guestAddressSpace();

    /**
     * {@code KVM_IOEVENTFD}: assigns, or with {@code KVM_IOEVENTFD_FLAG_DEASSIGN} deassigns, an ioeventfd.
     *
     * @throws KvmException with KVM's errno when KVM would refuse the request.
     */
    void ioeventfd(KvmIoEventFd args);

    /**
     * {@code KVM_IRQFD}: binds an eventfd to a GSI, or with the deassign flag unbinds it.
     *
     * @throws KvmException with KVM's errno when KVM would refuse the request.
     */
    void irqfd(KvmIrqFd args);

    /**
     * One MSI entry of {@code KVM_SET_GSI_ROUTING}: signalling {@code gsi} (through an irqfd) sends {@code message}.
     *
     * @throws KvmException EINVAL for a GSI that cannot carry an MSI route.
     */
    void setMsiRoute(int gsi, MsiMessage message);

    /**
     * Hands out a GSI number for an MSI route, as a VMM keeps its own GSI bookkeeping.
     *
     * @return a GSI no other caller received.
     */
    int allocateMsiGsi();

    /**
     * Registers a userspace device for an MMIO range: accesses no in-kernel device takes are dispatched to it on the
     * vCPU thread. The range must not be RAM.
     *
     * @return the registration; closing it removes the range.
     */
    UserspaceDevices.Registration registerMmio(long base, long length, UserspaceDevice device);

    /**
     * Registers a userspace device for a port range.
     *
     * @return the registration; closing it removes the range.
     */
    UserspaceDevices.Registration registerPio(int port, int length, UserspaceDevice device);

    /** @return the number of vCPUs. */
    int vcpuCount();

    /** @return vCPU {@code index}, 0-based. */
    Vcpu vcpu(int index);

    /** @return exit counters and latency histograms, readable while the VM runs. */
    ExitStats exitStats();

    /** Stops the VM and releases its memory; no vCPU may run afterwards. */
    @Override
    void close();
}
