package io.jvirtio.bus.kvm;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.irq.InterruptController;

import java.util.ArrayList;
import java.util.List;

/**
 * One VM's irqfds: {@code KVM_IRQFD} assign and deassign as {@code virt/kvm/eventfd.c} does them
 * (virt/kvm/eventfd.c), injecting into an {@link InterruptController}.
 * <p>
 * An irqfd is a wait-queue entry ({@link EventFd#addWaiter}) on its eventfd, so the interrupt is injected on the
 * thread that signals, with no thread of its own and no lock or allocation on the way. Assign polls the eventfd once,
 * so a signal that came before it is injected. The same eventfd may drive only one irqfd (EBUSY). Resample irqfds
 * share one {@link IrqFdResampler} per GSI. Deassign removes every irqfd with that {@code (eventFd, gsi)} and returns
 * only when none of them can inject any more; closing the eventfd deassigns its irqfd (EPOLLHUP).
 * <p>
 * Only in-JVM eventfds can be irqfds here ({@link EventFd#fd()} {@code < 0}): a kernel eventfd would need the real
 * KVM, which wires it up itself.
 * <p>
 * Thread safety: any thread; assign and deassign serialise on an internal lock ({@code kvm->irqfds.lock}), which no
 * injection takes.
 */
public final class IrqFds
{
    private static final int VALID_FLAGS = KvmIrqFd.KVM_IRQFD_FLAG_DEASSIGN | KvmIrqFd.KVM_IRQFD_FLAG_RESAMPLE;

    private final InterruptController irqchip;
    private final Object lock = new Object();
    /** {@code kvm->irqfds.items}; guarded by {@link #lock}. */
    private final List<IrqFd> items = new ArrayList<>();
    /** {@code kvm->irqfds.resampler_list}; guarded by {@link #lock}. */
    private final List<IrqFdResampler> resamplers = new ArrayList<>();

    /**
     * @param irqchip the VM's interrupt controller.
     */
    public IrqFds(final InterruptController irqchip)
    {
        this.irqchip = irqchip;
    }

    /**
     * {@code kvm_irqfd}: deassigns if {@link KvmIrqFd#KVM_IRQFD_FLAG_DEASSIGN} is set, else assigns.
     *
     * @throws KvmException as {@link #assign} or {@link #deassign}.
     */
    public void irqfd(final KvmIrqFd args)
    {
        if ((args.flags() & KvmIrqFd.KVM_IRQFD_FLAG_DEASSIGN) != 0)
        {
            deassign(args);
        }
        else
        {
            assign(args);
        }
    }

    /**
     * {@code kvm_irqfd_assign}.
     *
     * @throws KvmException EINVAL for unknown flags or a kernel eventfd; EBADF for a null or closed eventfd or
     *                      resamplefd; EBUSY if the eventfd already drives an irqfd.
     */
    public void assign(final KvmIrqFd args)
    {
        checkFlags(args);
        final EventFd eventFd = args.eventFd();
        if (eventFd == null || eventFd.isClosed())
        {
            throw refused(Errno.EBADF, "irqfd needs an open eventfd", args);
        }
        if (eventFd.fd() >= 0)
        {
            throw refused(Errno.EINVAL, "irqfd of the simulated interrupt controller needs an in-jvm eventfd", args);
        }
        final boolean resample = (args.flags() & KvmIrqFd.KVM_IRQFD_FLAG_RESAMPLE) != 0;
        if (resample && (args.resampleFd() == null || args.resampleFd().isClosed()))
        {
            throw refused(Errno.EBADF, "resample irqfd needs an open resamplefd", args);
        }
        final IrqFd irqfd;
        synchronized (lock)
        {
            // bound: one pass over the VM's irqfds
            for (int i = 0; i < items.size(); i++)
            {
                if (items.get(i).eventFd == eventFd)
                {
                    throw refused(Errno.EBUSY, "eventfd already drives an irqfd", args);
                }
            }
            irqfd = new IrqFd(this, irqchip, args, resample ? resamplerFor(args.gsi()) : null);
            if (resample)
            {
                irqfd.resampler.add(irqfd);
            }
            items.add(irqfd);
            eventFd.addWaiter(irqfd);
        }
        // the poll of kvm_irqfd_assign: a signal that came before the waiter was added is injected now
        irqfd.onSignal(eventFd);
    }

    /**
     * {@code kvm_irqfd_deassign}: removes every irqfd with this eventfd and GSI, and returns once none of them can
     * inject. Matching nothing is not an error, as in KVM.
     *
     * @throws KvmException EINVAL for unknown flags; EBADF for a null eventfd.
     */
    public void deassign(final KvmIrqFd args)
    {
        checkFlags(args);
        if (args.eventFd() == null)
        {
            throw refused(Errno.EBADF, "irqfd needs an eventfd", args);
        }
        final List<IrqFd> removed = new ArrayList<>(1);
        synchronized (lock)
        {
            // bound: one pass over the VM's irqfds
            for (int i = items.size() - 1; i >= 0; i--)
            {
                final IrqFd irqfd = items.get(i);
                if (irqfd.eventFd == args.eventFd() && irqfd.gsi == args.gsi())
                {
                    items.remove(i);
                    shutdown(irqfd);
                    removed.add(irqfd);
                }
            }
        }
        // the flush_workqueue of kvm_irqfd_deassign: wait for wake-ups still injecting
        for (final IrqFd irqfd : removed)
        {
            irqfd.eventFd.removeWaiter(irqfd);
            irqfd.awaitQuiescent();
        }
    }

    /** @return the number of assigned irqfds. */
    public int size()
    {
        synchronized (lock)
        {
            return items.size();
        }
    }

    /** EPOLLHUP: the eventfd was closed, so its irqfd goes ({@code irqfd_deactivate} from the wake-up). */
    void hangUp(final IrqFd irqfd)
    {
        synchronized (lock)
        {
            if (!items.remove(irqfd))
            {
                return;
            }
            shutdown(irqfd);
        }
        irqfd.eventFd.removeWaiter(irqfd);
    }

    /** Deactivates an irqfd and detaches it from its resampler; caller holds {@link #lock}. */
    private void shutdown(final IrqFd irqfd)
    {
        irqfd.deactivate();
        final IrqFdResampler resampler = irqfd.resampler;
        if (resampler != null && resampler.remove(irqfd))
        {
            // irqfd_resampler_shutdown: the last one unregisters the notifier and de-asserts the line
            irqchip.unregisterAckNotifier(resampler.gsi, resampler);
            irqchip.setIrq(InterruptController.KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID, resampler.gsi, false);
            resamplers.remove(resampler);
        }
    }

    /** The GSI's resampler, created and registered on first use; caller holds {@link #lock}. */
    private IrqFdResampler resamplerFor(final int gsi)
    {
        // bound: one pass over the VM's resamplers
        for (int i = 0; i < resamplers.size(); i++)
        {
            if (resamplers.get(i).gsi == gsi)
            {
                return resamplers.get(i);
            }
        }
        final IrqFdResampler resampler = new IrqFdResampler(irqchip, gsi);
        resamplers.add(resampler);
        irqchip.registerAckNotifier(gsi, resampler);
        return resampler;
    }

    private static void checkFlags(final KvmIrqFd args)
    {
        if ((args.flags() & ~VALID_FLAGS) != 0)
        {
            throw refused(Errno.EINVAL, "irqfd has unknown flags", args);
        }
    }

    private static KvmException refused(final Errno errno, final String what, final KvmIrqFd args)
    {
        final String details =
            "gsi=" + Integer.toUnsignedString(args.gsi()) + ", flags=0x" + Integer.toHexString(args.flags());
        return new KvmException(errno, what, details);
    }
}
