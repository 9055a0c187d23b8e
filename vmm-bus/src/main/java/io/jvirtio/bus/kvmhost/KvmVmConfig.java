package io.jvirtio.bus.kvmhost;

/**
 * How to build a {@link KvmVm}.
 * <p>
 * With {@link #irqchip()} the VM has KVM's in-kernel PIC, IOAPIC and LAPICs ({@code KVM_CREATE_IRQCHIP}), which
 * {@code KVM_IRQFD} needs; a halted vCPU then waits in the kernel for an interrupt instead of returning
 * {@code KVM_EXIT_HLT}, so guests that end in HLT run on VMs without it.
 * <p>
 * Thread safety: immutable; any thread.
 *
 * @param memoryBytes guest RAM at guest-physical 0, a positive multiple of 4 KiB.
 * @param vcpus       vCPUs to create, at least 1.
 * @param irqchip     true for the in-kernel irqchip.
 */
public record KvmVmConfig(long memoryBytes, int vcpus, boolean irqchip)
{
    /** Default RAM: 4 MiB, enough for {@link io.jvirtio.bus.guest.GuestAddressSpace}'s reserved 1 MiB and more. */
    public static final long DEFAULT_MEMORY_BYTES = 4L << 20;

    /**
     * @throws IllegalArgumentException for a size that is not a positive multiple of 4 KiB or no vCPU.
     */
    public KvmVmConfig
    {
        if (memoryBytes <= 0 || (memoryBytes & 0xFFF) != 0)
        {
            throw new IllegalArgumentException("memory must be a positive multiple of 4096: memoryBytes="
                + memoryBytes);
        }
        if (vcpus < 1)
        {
            throw new IllegalArgumentException("a vm needs a vcpu: vcpus=" + vcpus);
        }
    }

    /** @return 4 MiB, one vCPU, no irqchip: a VM whose guests may end in HLT. */
    public static KvmVmConfig defaults()
    {
        return new KvmVmConfig(DEFAULT_MEMORY_BYTES, 1, false);
    }

    /** @return this configuration with the in-kernel irqchip. */
    public KvmVmConfig withIrqchip()
    {
        return new KvmVmConfig(memoryBytes, vcpus, true);
    }
}
