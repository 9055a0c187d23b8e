package io.jvirtio.bus.kvmhost;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.kvm.Bus;
import io.jvirtio.bus.kvm.IoBuses;
import io.jvirtio.bus.kvm.IoEventFds;
import io.jvirtio.bus.kvm.KvmCompat;
import io.jvirtio.bus.kvm.KvmException;
import io.jvirtio.bus.kvm.KvmIoEventFd;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One real VM on /dev/kvm and one simulated {@link IoEventFds} on {@link IoBuses}({@link KvmCompat#CURRENT}), fed
 * the same {@code KVM_IOEVENTFD} requests and the same guest stores; every difference in the result (success or
 * errno), in which eventfds fire, or in whether the store exits to userspace is recorded as a disagreement.
 * <p>
 * Eventfd slot {@code i} is a Linux eventfd on the kernel side and an in-JVM eventfd on the simulated side, so that a
 * signal on one side never shows on the other; slot -1 is "no eventfd" (fd -1 for the kernel, null for the model).
 */
final class KernelOracle implements AutoCloseable
{
    /** Guest-physical base of the MMIO addresses the oracle's guest stores to: DS base in real mode. */
    static final long MMIO_BASE = 0xD000_0000L;
    /** Eventfd slots per side. */
    static final int SLOTS = 3;

    private static final long ENTRY = 0x1000;
    private static final int MAX_EXITS = 16;

    /** One {@code struct kvm_ioeventfd} with an eventfd slot instead of a descriptor. */
    record Request(long datamatch, long addr, int len, int slot, int flags)
    {
        @Override
        public String toString()
        {
            return "addr=0x" + Long.toHexString(addr) + " len=" + Integer.toUnsignedString(len) + " flags=0x"
                + Integer.toHexString(flags) + " datamatch=0x" + Long.toHexString(datamatch) + " slot=" + slot;
        }
    }

    private final Kvm kvm;
    private final KvmVm vm;
    private final KvmVcpu vcpu;
    private final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
    private final IoEventFds model = new IoEventFds(buses);
    private final EventFd[] kernelFds = new EventFd[SLOTS];
    private final EventFd[] modelFds = new EventFd[SLOTS];
    private final KvmRegs regs = new KvmRegs();
    private final List<String> disagreements = new ArrayList<>();
    private int successes;
    private int failures;
    private int accesses;
    private int accessesInKernel;

    KernelOracle()
    {
        kvm = Kvm.open();
        vm = kvm.createVm(KvmVmConfig.defaults());
        vcpu = vm.kvmVcpu(0);
        vcpu.enterRealMode(MMIO_BASE);
        for (int i = 0; i < SLOTS; i++)
        {
            kernelFds[i] = EventFds.linux();
            modelFds[i] = EventFds.jvm();
        }
    }

    /**
     * Applies {@code request} to both sides and compares the results.
     *
     * @return the kernel's result: 0 or a positive errno.
     */
    int ioeventfd(final Request request)
    {
        final int kernel = errno(() -> vm.ioeventfd(args(request, request.slot < 0 ? null : kernelFds[request.slot])));
        final int simulated = errno(() -> model.ioeventfd(
            args(request, request.slot < 0 ? null : modelFds[request.slot])));
        if (kernel != simulated)
        {
            disagreements.add("ioeventfd " + request + ": kernel errno=" + kernel + ", model errno=" + simulated);
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

    private static KvmIoEventFd args(final Request request, final EventFd eventFd)
    {
        return new KvmIoEventFd(request.datamatch, request.addr, request.len, eventFd, request.flags);
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

    /**
     * A guest store of {@code size} bytes of {@code value}: {@code mov [bx], al/ax/eax} at {@link #MMIO_BASE} +
     * {@code offset} or {@code out dx, al/ax/eax} to port {@code offset}, executed by the real vCPU, and
     * {@link IoBuses#write} of the same (address, size, value) on the model's MMIO or PIO bus. Compares which
     * eventfds fired, and how often, and whether the store left the kernel.
     */
    void store(final boolean pio, final int offset, final int size, final long value)
    {
        final RealModeAssembler asm = new RealModeAssembler().movEax((int)value);
        final byte[] code = (pio ? asm.movDx(offset).outDx(size) : asm.movBx(offset).storeBx(size)).hlt().bytes();
        vm.memory().copyIn(ENTRY, code, 0, code.length);
        vcpu.start(ENTRY, regs);
        final int exitReason = pio ? KvmApi.KVM_EXIT_IO : KvmApi.KVM_EXIT_MMIO;
        final long exitsBefore = vcpu.exitCount(exitReason);
        final int stop = vcpu.run(MAX_EXITS);
        final boolean kernelExited = vcpu.exitCount(exitReason) != exitsBefore;
        final long addr = pio ? offset : MMIO_BASE + offset;
        final long stored = value & (-1L >>> (64 - 8 * size));
        final int modelResult = buses.write(pio ? Bus.PIO : Bus.MMIO, addr, size, stored);
        final boolean modelExited = modelResult != IoBuses.HANDLED;
        final long[] kernelFired = drain(kernelFds);
        final long[] modelFired = drain(modelFds);
        final String access = (pio ? "out port=0x" : "mov gpa=0x") + Long.toHexString(addr) + " size=" + size
            + " value=0x" + Long.toHexString(stored);
        if (stop != KvmApi.KVM_EXIT_HLT)
        {
            disagreements.add(access + ": guest did not reach hlt, stop=" + stop);
        }
        if (kernelExited != modelExited || !Arrays.equals(kernelFired, modelFired))
        {
            disagreements.add(access + ": kernel exited=" + kernelExited + " fired=" + Arrays.toString(kernelFired)
                + ", model exited=" + modelExited + " fired=" + Arrays.toString(modelFired));
        }
        accesses++;
        if (!kernelExited)
        {
            accessesInKernel++;
        }
    }

    private static long[] drain(final EventFd[] fds)
    {
        final long[] fired = new long[fds.length];
        for (int i = 0; i < fds.length; i++)
        {
            fired[i] = fds[i].tryRead();
        }
        return fired;
    }

    List<String> disagreements()
    {
        return disagreements;
    }

    int successes()
    {
        return successes;
    }

    int failures()
    {
        return failures;
    }

    int accesses()
    {
        return accesses;
    }

    int accessesInKernel()
    {
        return accessesInKernel;
    }

    @Override
    public void close()
    {
        vm.close();
        kvm.close();
        buses.close();
        for (int i = 0; i < SLOTS; i++)
        {
            kernelFds[i].close();
            modelFds[i].close();
        }
    }
}
