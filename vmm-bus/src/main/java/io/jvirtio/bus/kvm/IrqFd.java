package io.jvirtio.bus.kvm;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFdClosedException;
import io.jvirtio.bus.event.EventFdWaiter;
import io.jvirtio.bus.irq.InterruptController;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * One irqfd, {@code struct kvm_kernel_irqfd}: a wait-queue entry on its eventfd that injects on the signalling
 * thread, as {@code irqfd_wakeup} does (virt/kvm/eventfd.c).
 * <p>
 * A wake-up consumes the counter and, if it was non-zero, injects: an edge irqfd pulses its GSI (1 then 0); a
 * resample irqfd asserts it under the resample source id and leaves it asserted for the {@link IrqFdResampler}.
 * A wake-up for a closed eventfd is EPOLLHUP and deassigns the irqfd.
 * <p>
 * Thread safety: {@link #onSignal} on any signalling thread, concurrently; {@link #deactivate()} and
 * {@link #awaitQuiescent()} from {@link IrqFds} only. Wake-ups count themselves in and out, so deassign can wait for
 * the ones in flight and none injects once it has returned.
 */
final class IrqFd implements EventFdWaiter
{
    private static final int DEAD = 1 << 30;

    final EventFd eventFd;
    final int gsi;
    final EventFd resampleFd;
    final IrqFdResampler resampler;
    private final IrqFds owner;
    private final InterruptController irqchip;
    /** Wake-ups in flight in the low bits; {@link #DEAD} once deactivated. */
    private final AtomicInteger state = new AtomicInteger();

    IrqFd(
        final IrqFds owner,
        final InterruptController irqchip,
        final KvmIrqFd args,
        final IrqFdResampler resampler)
    {
        this.owner = owner;
        this.irqchip = irqchip;
        this.eventFd = args.eventFd();
        this.gsi = args.gsi();
        this.resampler = resampler;
        this.resampleFd = resampler == null ? null : args.resampleFd();
    }

    /** {@code irqfd_wakeup}. */
    @Override
    public void onSignal(final EventFd signalled)
    {
        if (signalled.isClosed())
        {
            owner.hangUp(this);
            return;
        }
        if (!enter())
        {
            return;
        }
        try
        {
            if (eventFd.tryRead() != 0)
            {
                inject();
            }
        }
        catch (final EventFdClosedException e)
        {
            // closed between the check and the read: the close calls every waiter once more with EPOLLHUP
        }
        finally
        {
            exit();
        }
    }

    /** Signals the resamplefd unless deassigned; called by the resampler on the guest's EOI. */
    void resample()
    {
        if (!enter())
        {
            return;
        }
        try
        {
            resampleFd.signal();
        }
        finally
        {
            exit();
        }
    }

    /** Stops every later wake-up from injecting; those already past {@link #enter()} still finish. */
    void deactivate()
    {
        state.getAndAdd(DEAD);
    }

    /** Waits until no wake-up that passed {@link #enter()} before {@link #deactivate()} is still running. */
    void awaitQuiescent()
    {
        // bound: a wake-up in flight is a counter read and a lock-free injection; later ones see DEAD and leave
        while ((state.get() & ~DEAD) != 0)
        {
            LockSupport.parkNanos(1_000L);
        }
    }

    private boolean enter()
    {
        if ((state.incrementAndGet() & DEAD) != 0)
        {
            state.getAndDecrement();
            return false;
        }
        return true;
    }

    private void exit()
    {
        state.getAndDecrement();
    }

    private void inject()
    {
        if (resampler == null)
        {
            irqchip.setIrq(InterruptController.KVM_USERSPACE_IRQ_SOURCE_ID, gsi, true);
            irqchip.setIrq(InterruptController.KVM_USERSPACE_IRQ_SOURCE_ID, gsi, false);
        }
        else
        {
            irqchip.setIrq(InterruptController.KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID, gsi, true);
        }
    }
}
