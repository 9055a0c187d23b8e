package io.jvirtio.bus.kvm;

import io.jvirtio.bus.irq.AckNotifier;
import io.jvirtio.bus.irq.InterruptController;

import java.util.Arrays;

/**
 * {@code struct kvm_kernel_irqfd_resampler}: one per GSI with resample irqfds, shared by all of them. On the guest's
 * EOI it de-asserts the GSI's resample level and signals every resamplefd, so the VMM can re-check its device and
 * signal again if the interrupt is still pending ({@code irqfd_resampler_ack}, virt/kvm/eventfd.c).
 * <p>
 * Thread safety: {@link #irqAcked} on vCPU threads, lock-free over a copy-on-write array; {@link #add} and
 * {@link #remove} under {@link IrqFds}'s lock.
 */
final class IrqFdResampler implements AckNotifier
{
    private static final IrqFd[] NONE = new IrqFd[0];

    final int gsi;
    private final InterruptController irqchip;
    private volatile IrqFd[] irqfds = NONE;

    IrqFdResampler(final InterruptController irqchip, final int gsi)
    {
        this.irqchip = irqchip;
        this.gsi = gsi;
    }

    @Override
    public void irqAcked(final int ackedGsi)
    {
        irqchip.setIrq(InterruptController.KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID, gsi, false);
        final IrqFd[] current = irqfds;
        // bound: one pass over this GSI's resample irqfds
        for (int i = 0; i < current.length; i++)
        {
            current[i].resample();
        }
    }

    void add(final IrqFd irqfd)
    {
        final IrqFd[] next = Arrays.copyOf(irqfds, irqfds.length + 1);
        next[next.length - 1] = irqfd;
        irqfds = next;
    }

    /** @return true if no irqfd is left. */
    boolean remove(final IrqFd irqfd)
    {
        final IrqFd[] old = irqfds;
        // bound: one pass over this GSI's resample irqfds
        for (int i = 0; i < old.length; i++)
        {
            if (old[i] == irqfd)
            {
                final IrqFd[] next = new IrqFd[old.length - 1];
                System.arraycopy(old, 0, next, 0, i);
                System.arraycopy(old, i + 1, next, i, old.length - i - 1);
                irqfds = next;
                break;
            }
        }
        return irqfds.length == 0;
    }
}
