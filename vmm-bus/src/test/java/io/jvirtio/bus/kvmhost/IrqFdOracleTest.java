package io.jvirtio.bus.kvmhost;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.irq.InterruptController;
import io.jvirtio.bus.kvm.IrqFds;
import io.jvirtio.bus.kvm.KvmException;
import io.jvirtio.bus.kvm.KvmIrqFd;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.jvirtio.bus.kvm.KvmIrqFd.KVM_IRQFD_FLAG_DEASSIGN;
import static io.jvirtio.bus.kvm.KvmIrqFd.KVM_IRQFD_FLAG_RESAMPLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernel as the oracle of the simulated irqfds: the same {@code KVM_IRQFD} requests go to a real VM with the
 * in-kernel irqchip and to {@link IrqFds}, and must succeed or fail with the same errno (virt/kvm/eventfd.c
 * {@code kvm_irqfd}: flag mask, then deassign or assign; EBADF for a missing eventfd; EBUSY for an eventfd that
 * already drives an irqfd; deassign of nothing succeeds).
 * <p>
 * Eventfd slot {@code i} is a Linux eventfd for the kernel and an in-JVM one for the model (the model refuses kernel
 * eventfds by design); slot -1 is "no eventfd". Documented difference, not compared: a VM without the in-kernel
 * irqchip, which the model always has.
 */
class IrqFdOracleTest
{
    private static final int SEED = 0x1AF0;
    private static final int SLOTS = 3;
    private static final int REQUESTS = 200;
    private static final int[] GSIS = {0, 5, 23, 24, 100, 5, 24};
    private static final int[] FLAGS = {0, 0, 0, KVM_IRQFD_FLAG_DEASSIGN, KVM_IRQFD_FLAG_DEASSIGN,
        KVM_IRQFD_FLAG_RESAMPLE, KVM_IRQFD_FLAG_RESAMPLE | KVM_IRQFD_FLAG_DEASSIGN, 1 << 2, Integer.MIN_VALUE};

    @BeforeEach
    void requireKvm()
    {
        KvmAssumptions.assumeKvm();
    }

    /** One {@code struct kvm_irqfd} with eventfd slots instead of descriptors. */
    private record Request(int slot, int gsi, int flags, int resampleSlot)
    {
    }

    /** The two sides and their eventfds. */
    private static final class Sides implements AutoCloseable
    {
        private final Kvm kvm = Kvm.open();
        private final KvmVm vm = kvm.createVm(KvmVmConfig.defaults().withIrqchip());
        private final IrqFds model = new IrqFds(new InterruptController(1));
        private final EventFd[] kernelFds = new EventFd[2 * SLOTS];
        private final EventFd[] modelFds = new EventFd[2 * SLOTS];
        private final List<String> disagreements = new ArrayList<>();
        private int successes;
        private int failures;

        Sides()
        {
            for (int i = 0; i < kernelFds.length; i++)
            {
                kernelFds[i] = EventFds.linux();
                modelFds[i] = EventFds.jvm();
            }
        }

        int apply(final Request request)
        {
            final int kernel = errno(() -> vm.irqfd(args(request, kernelFds)));
            final int simulated = errno(() -> model.irqfd(args(request, modelFds)));
            if (kernel != simulated)
            {
                disagreements.add(request + ": kernel errno=" + kernel + ", model errno=" + simulated);
            }
            if (kernel == 0)
            {
                successes++;
            }
            else
            {
                failures++;
            }
            return kernel;
        }

        private static KvmIrqFd args(final Request request, final EventFd[] fds)
        {
            return new KvmIrqFd(request.slot < 0 ? null : fds[request.slot], request.gsi, request.flags,
                request.resampleSlot < 0 ? null : fds[SLOTS + request.resampleSlot]);
        }

        private static int errno(final Runnable call)
        {
            try
            {
                call.run();
                return 0;
            }
            catch (final KvmException e)
            {
                return e.errno();
            }
        }

        @Override
        public void close()
        {
            vm.close();
            kvm.close();
            for (int i = 0; i < kernelFds.length; i++)
            {
                kernelFds[i].close();
                modelFds[i].close();
            }
        }
    }

    @Test
    void shouldAgreeWithTheKernelOnRandomIrqfdRequests()
    {
        final Random random = new Random(SEED);
        try (Sides sides = new Sides())
        {
            // bound: a fixed number of requests
            for (int i = 0; i < REQUESTS; i++)
            {
                final int slot = random.nextInt(10) == 0 ? -1 : random.nextInt(SLOTS);
                final int resampleSlot = random.nextInt(6) == 0 ? -1 : random.nextInt(SLOTS);
                sides.apply(new Request(slot, GSIS[random.nextInt(GSIS.length)], FLAGS[random.nextInt(FLAGS.length)],
                    resampleSlot));
            }
            assertEquals(List.of(), sides.disagreements, "the model and the kernel disagree");
            assertTrue(sides.successes > 20, "successful requests=" + sides.successes);
            assertTrue(sides.failures > 20, "refused requests=" + sides.failures);
        }
    }

    @Test
    void shouldAgreeWithTheKernelOnTheIrqfdRuleList()
    {
        try (Sides sides = new Sides())
        {
            sides.apply(new Request(0, 5, 0, -1));                              // edge irqfd on an IOAPIC pin
            sides.apply(new Request(0, 6, 0, -1));                              // same eventfd again: EBUSY
            sides.apply(new Request(0, 6, KVM_IRQFD_FLAG_DEASSIGN, -1));        // deassign of nothing: 0
            sides.apply(new Request(0, 5, KVM_IRQFD_FLAG_DEASSIGN, -1));
            sides.apply(new Request(0, 5, KVM_IRQFD_FLAG_DEASSIGN, -1));        // again: still 0
            sides.apply(new Request(-1, 5, 0, -1));                             // no eventfd: EBADF
            sides.apply(new Request(-1, 5, KVM_IRQFD_FLAG_DEASSIGN, -1));       // deassign needs one too
            sides.apply(new Request(1, 5, 1 << 2, -1));                         // unknown flag: EINVAL
            sides.apply(new Request(-1, 5, 1 << 2 | KVM_IRQFD_FLAG_DEASSIGN, -1)); // flags before the eventfd
            sides.apply(new Request(1, 7, KVM_IRQFD_FLAG_RESAMPLE, 0));         // level irqfd with resamplefd
            sides.apply(new Request(2, 7, KVM_IRQFD_FLAG_RESAMPLE, 0));         // a second one shares the resampler
            sides.apply(new Request(0, 8, KVM_IRQFD_FLAG_RESAMPLE, -1));        // no resamplefd: EBADF
            sides.apply(new Request(1, 7, KVM_IRQFD_FLAG_DEASSIGN, -1));
            sides.apply(new Request(2, 7, KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE, -1));
            sides.apply(new Request(0, 24, 0, -1));                             // a GSI with no route yet
            assertEquals(List.of(), sides.disagreements, "the model and the kernel disagree");
        }
    }
}
