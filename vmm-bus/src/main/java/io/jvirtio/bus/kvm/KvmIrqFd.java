package io.jvirtio.bus.kvm;

import io.jvirtio.bus.event.EventFd;

/**
 * The argument of the {@code KVM_IRQFD} ioctl, {@code struct kvm_irqfd} (virt/kvm/eventfd.c), with eventfds in
 * place of file descriptors.
 * <p>
 * Thread safety: immutable; any thread.
 *
 * @param eventFd    the eventfd whose signals raise the interrupt ({@code fd}); null stands for a bad descriptor.
 * @param gsi        {@code __u32 gsi}: the GSI, routed to an IOAPIC pin or an MSI message.
 * @param flags      {@code KVM_IRQFD_FLAG_*}.
 * @param resampleFd with {@link #KVM_IRQFD_FLAG_RESAMPLE}, the eventfd signalled when the guest EOIs the level
 *                   interrupt; otherwise ignored and may be null.
 */
public record KvmIrqFd(EventFd eventFd, int gsi, int flags, EventFd resampleFd)
{
    /** Remove the irqfd for {@code (eventFd, gsi)}. */
    public static final int KVM_IRQFD_FLAG_DEASSIGN = 1;
    /** A level-triggered irqfd: the line stays asserted until the guest's EOI, then the resamplefd is signalled. */
    public static final int KVM_IRQFD_FLAG_RESAMPLE = 1 << 1;

    /**
     * @return an edge irqfd request: each signal pulses {@code gsi}.
     */
    public static KvmIrqFd edge(final EventFd eventFd, final int gsi)
    {
        return new KvmIrqFd(eventFd, gsi, 0, null);
    }

    /**
     * @return a resample irqfd request: each signal asserts {@code gsi} until the guest's EOI.
     */
    public static KvmIrqFd resample(final EventFd eventFd, final int gsi, final EventFd resampleFd)
    {
        return new KvmIrqFd(eventFd, gsi, KVM_IRQFD_FLAG_RESAMPLE, resampleFd);
    }

    /** @return this request with {@link #KVM_IRQFD_FLAG_DEASSIGN} set. */
    public KvmIrqFd deassigning()
    {
        return new KvmIrqFd(eventFd, gsi, flags | KVM_IRQFD_FLAG_DEASSIGN, resampleFd);
    }
}
