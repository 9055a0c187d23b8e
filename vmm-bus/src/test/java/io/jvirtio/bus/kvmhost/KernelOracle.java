package io.jvirtio.bus.kvmhost;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.kvm.Bus;
import io.jvirtio.bus.kvm.IoBuses;
import io.jvirtio.bus.kvm.IoEventFds;
import io.jvirtio.bus.kvm.KvmCompat;
import io.jvirtio.bus.kvm.KvmException;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.vm.SimulatedVm;
import io.jvirtio.bus.vm.UserspaceDevices;
import io.jvirtio.bus.vm.VmConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One real VM on /dev/kvm and two models of it, fed the same {@code KVM_IOEVENTFD} requests and the same guest
 * stores: the bare {@link IoEventFds} on {@link IoBuses}({@link KvmCompat#CURRENT}), offered each store with
 * {@link IoBuses#write}, and a {@link SimulatedVm} whose vCPU executes each store through its exit path, with the
 * fast MMIO bus off because this host's kernel emulates every MMIO store (PVM has no EPT-misconfig exit). Every
 * difference in the result (success or errno), in which eventfds fire, or in whether the store exits to userspace is
 * recorded as a disagreement.
 * <p>
 * The real vCPU runs in 64-bit mode, so stores are 1, 2, 4 or 8 bytes to memory and 1, 2 or 4 bytes to ports.
 * Eventfd slot {@code i} is a Linux eventfd on the kernel side and an in-JVM eventfd on each model side, so that a
 * signal on one side never shows on another; slot -1 is "no eventfd" (fd -1 for the kernel, null for the models).
 */
final class KernelOracle implements AutoCloseable
{
    /** Guest-physical base of the MMIO addresses the oracle's guest stores to: DS base in real mode. */
    static final long MMIO_BASE = 0xD000_0000L;
    /** Eventfd slots per side. */
    static final int SLOTS = 3;

    private static final long ENTRY = 0x1000;
    private static final long TABLES = 0x10000;
    private static final int MAX_EXITS = 16;
    private static final int MODELS = 2;

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
    /** Without the fast MMIO bus: this host's kernel emulates every MMIO store (PVM has no EPT-misconfig exit). */
    private final SimulatedVm simulated = SimulatedVm.create(VmConfig.defaults().withFastMmioBus(false));
    private final long simulatedMmio = simulated.guestAddressSpace().ioremap(MMIO_BASE, 0x1000);
    private final EventFd[] kernelFds = new EventFd[SLOTS];
    private final EventFd[][] modelFds = new EventFd[MODELS][SLOTS];
    private final KvmRegs regs = new KvmRegs();
    private final List<String> disagreements = new ArrayList<>();
    private final List<String> history = new ArrayList<>();
    private int successes;
    private int failures;
    private int accesses;
    private boolean lastStoreExited;
    private int accessesInKernel;

    KernelOracle()
    {
        kvm = Kvm.open();
        vm = kvm.createVm(KvmVmConfig.defaults());
        vcpu = vm.kvmVcpu(0);
        vcpu.enterLongMode(IdentityPageTables.build(vm.memory(), TABLES));
        for (int i = 0; i < SLOTS; i++)
        {
            kernelFds[i] = EventFds.linux();
            for (int m = 0; m < MODELS; m++)
            {
                modelFds[m][i] = EventFds.jvm();
            }
        }
    }

    /**
     * Applies {@code request} to both sides and compares the results.
     *
     * @return the kernel's result: 0 or a positive errno.
     */
    int ioeventfd(final Request request)
    {
        final int kernel = errno(() -> vm.ioeventfd(args(request, kernelFds)));
        final int bare = errno(() -> model.ioeventfd(args(request, modelFds[0])));
        final int vmModel = errno(() -> simulated.ioeventfd(args(request, modelFds[1])));
        if (kernel != bare || kernel != vmModel)
        {
            disagreements.add("ioeventfd " + request + ": kernel errno=" + kernel + ", model errno=" + bare
                + ", simulated vm errno=" + vmModel);
        }
        history.add(request + " -> " + kernel);
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

    private static KvmIoEventFd args(final Request request, final EventFd[] fds)
    {
        return new KvmIoEventFd(request.datamatch, request.addr, request.len,
            request.slot < 0 ? null : fds[request.slot], request.flags);
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
     * A guest store of {@code size} bytes of {@code value}, {@code mov [rdi], al/ax/eax/rax} at {@link #MMIO_BASE} +
     * {@code offset} or {@code out dx, al/ax/eax} to port {@code offset}: executed by the real vCPU, offered to the
     * bare model's MMIO or PIO bus with {@link IoBuses#write}, and executed by the simulated VM's vCPU. Compares
     * which eventfds fired, and how often, and whether the store left the kernel.
     */
    void store(final boolean pio, final int offset, final int size, final long value)
    {
        final byte[] code = pio ? out(size) : mov(size);
        vm.memory().copyIn(ENTRY, code, 0, code.length);
        final long addr = pio ? offset : MMIO_BASE + offset;
        vcpu.start(ENTRY, regs.set(KvmRegs.RAX, value).set(KvmRegs.RDX, offset).set(KvmRegs.RDI, addr));
        final int exitReason = pio ? KvmApi.KVM_EXIT_IO : KvmApi.KVM_EXIT_MMIO;
        final long exitsBefore = vcpu.exitCount(exitReason);
        final int stop = vcpu.run(MAX_EXITS);
        final boolean kernelExited = vcpu.exitCount(exitReason) != exitsBefore;

        final long stored = size == Long.BYTES ? value : value & (-1L >>> (64 - 8 * size));
        final boolean bareExited = buses.write(pio ? Bus.PIO : Bus.MMIO, addr, size, stored) != IoBuses.HANDLED;

        final UserspaceDevices userspace = pio ? simulated.userspacePio() : simulated.userspaceMmio();
        final long unassignedBefore = userspace.unassignedWrites();
        if (pio)
        {
            simulated.vcpu(0).out(offset, size, stored);
        }
        else
        {
            simulated.vcpu(0).mmioWrite(simulatedMmio + offset, size, stored);
        }
        final boolean vmExited = userspace.unassignedWrites() != unassignedBefore;

        final long[] kernelFired = drain(kernelFds);
        final long[] bareFired = drain(modelFds[0]);
        final long[] vmFired = drain(modelFds[1]);
        final String access = (pio ? "out port=0x" : "mov gpa=0x") + Long.toHexString(addr) + " size=" + size
            + " value=0x" + Long.toHexString(stored);
        if (stop != KvmApi.KVM_EXIT_HLT)
        {
            disagreements.add(access + ": guest did not reach hlt, stop=" + stop);
        }
        if (kernelExited != bareExited || kernelExited != vmExited || !Arrays.equals(kernelFired, bareFired)
            || !Arrays.equals(kernelFired, vmFired))
        {
            if (disagreements.isEmpty())
            {
                disagreements.add("requests before the first store disagreement: " + history);
            }
            disagreements.add(access + ": kernel exited=" + kernelExited + " fired=" + Arrays.toString(kernelFired)
                + ", model exited=" + bareExited + " fired=" + Arrays.toString(bareFired)
                + ", simulated vm exited=" + vmExited + " fired=" + Arrays.toString(vmFired));
        }
        accesses++;
        lastStoreExited = kernelExited;
        if (!kernelExited)
        {
            accessesInKernel++;
        }
    }

    /** {@code out dx, al} (EE), {@code out dx, ax} (66 EF) or {@code out dx, eax} (EF), then {@code hlt} (F4). */
    private static byte[] out(final int size)
    {
        return switch (size)
        {
            case 1 -> new byte[] {(byte)0xEE, (byte)0xF4};
            case 2 -> new byte[] {0x66, (byte)0xEF, (byte)0xF4};
            case 4 -> new byte[] {(byte)0xEF, (byte)0xF4};
            default -> throw new IllegalArgumentException("port stores are 1, 2 or 4 bytes: size=" + size);
        };
    }

    /**
     * {@code mov [rdi], al} (88 07), {@code mov [rdi], ax} (66 89 07), {@code mov [rdi], eax} (89 07) or
     * {@code mov [rdi], rax} (48 89 07), then {@code hlt} (F4).
     */
    private static byte[] mov(final int size)
    {
        return switch (size)
        {
            case 1 -> new byte[] {(byte)0x88, 0x07, (byte)0xF4};
            case 2 -> new byte[] {0x66, (byte)0x89, 0x07, (byte)0xF4};
            case 4 -> new byte[] {(byte)0x89, 0x07, (byte)0xF4};
            case 8 -> new byte[] {0x48, (byte)0x89, 0x07, (byte)0xF4};
            default -> throw new IllegalArgumentException("memory stores are 1, 2, 4 or 8 bytes: size=" + size);
        };
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

    /** @return true if the kernel sent the last {@link #store} to userspace. */
    boolean lastStoreExited()
    {
        return lastStoreExited;
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
        simulated.close();
        for (int i = 0; i < SLOTS; i++)
        {
            kernelFds[i].close();
            for (int m = 0; m < MODELS; m++)
            {
                modelFds[m][i].close();
            }
        }
    }
}
