package io.jvirtio.bus.kvmhost;

import io.jvirtio.bus.kvm.KvmException;
import io.jvirtio.bus.linux.Libc;
import io.jvirtio.bus.stats.ExitPath;
import io.jvirtio.bus.stats.ExitReason;
import io.jvirtio.bus.stats.VcpuExitStats;
import io.jvirtio.bus.vm.UserspaceDevices;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * One real vCPU: {@code KVM_CREATE_VCPU} with the CPUID KVM supports ({@code KVM_SET_CPUID2}), its {@code kvm_run}
 * page mapped from the vCPU fd, register access
 * ({@code KVM_GET/SET_REGS}, {@code KVM_GET/SET_SREGS}) and a {@code KVM_RUN} loop.
 * <p>
 * {@link #run(int)} enters the guest until it halts, fails, or has exited {@code maxExits} times. A
 * {@code KVM_EXIT_IO} is dispatched to the VM's userspace port devices ({@link KvmVm#userspacePio()}) once per
 * element of {@code io.count}, an OUT's data read from and an IN's data written to {@code kvm_run} at
 * {@code io.data_offset}; a {@code KVM_EXIT_MMIO} goes to {@link KvmVm#userspaceMmio()}, a load's value written to
 * {@code mmio.data} so the kernel completes the instruction on the next {@code KVM_RUN} (api.rst, "KVM_EXIT_IO",
 * "KVM_EXIT_MMIO"). Exit fields come from the kernel but describe what the guest did, so they are checked: an exit
 * whose size or data offset is out of range is counted in {@link #malformedExits()} and not dispatched.
 * <p>
 * The loop allocates nothing and takes no lock per exit.
 * <p>
 * Thread safety: one thread at a time runs and reads or writes registers (the vCPU thread); counters may be read from
 * any thread; {@link #close()} only once no thread runs the vCPU (the owning {@link KvmVm} closes it).
 */
public final class KvmVcpu implements AutoCloseable
{
    /** {@link #run(int)} result when {@code maxExits} exits passed without a halt or an error exit. */
    public static final int EXIT_LIMIT = -1;

    private static final long SREGS_CS = 0;
    private static final long SREGS_DS = 24;
    private static final long SREGS_ES = 48;
    private static final long SREGS_FS = 72;
    private static final long SREGS_GS = 96;
    private static final long SREGS_SS = 120;
    private static final long SREGS_IDT = 208;
    private static final long DTABLE_LIMIT = 8;
    private static final long SREGS_CR0 = 224;
    private static final long SREGS_CR3 = 240;
    private static final long SREGS_CR4 = 248;
    private static final long SREGS_EFER = 264;
    private static final long SEGMENT_LIMIT = 8;
    private static final long SEGMENT_SELECTOR = 12;
    private static final long SEGMENT_TYPE = 14;
    private static final long SEGMENT_PRESENT = 15;
    private static final long SEGMENT_DPL = 16;
    private static final long SEGMENT_DB = 17;
    private static final long SEGMENT_S = 18;
    private static final long SEGMENT_L = 19;
    private static final long SEGMENT_G = 20;
    private static final long SEGMENT_UNUSABLE = 22;
    private static final int CODE_SELECTOR = 8;
    private static final int DATA_SELECTOR = 16;
    /** Execute/read, accessed. */
    private static final int CODE_TYPE = 0xB;
    /** Read/write, accessed. */
    private static final int DATA_TYPE = 0x3;
    /** PE, MP, ET, NE, WP, PG. */
    private static final long CR0_LONG_MODE = 0x1L | 0x2L | 0x10L | 0x20L | 0x1_0000L | 0x8000_0000L;
    private static final long CR4_PAE = 0x20;
    private static final long EFER_LME = 0x100;
    private static final long EFER_LMA = 0x400;
    private static final long EFER_NXE = 0x800;

    private final KvmVm vm;
    private final int index;
    private final int fd;
    private final Arena arena;
    private final MemorySegment run;
    private final long runSize;
    private final UserspaceDevices pio;
    private final UserspaceDevices mmio;
    private final VcpuExitStats stats;
    private final AtomicLongArray exitCounts = new AtomicLongArray(KvmApi.EXIT_REASON_SLOTS);
    private final AtomicLong malformed = new AtomicLong();
    private final AtomicLong interrupted = new AtomicLong();

    private KvmVcpu(final KvmVm vm, final int index, final int fd, final Arena arena, final MemorySegment run)
    {
        this.vm = vm;
        this.index = index;
        this.fd = fd;
        this.arena = arena;
        this.run = run;
        this.runSize = run.byteSize();
        this.pio = vm.userspacePio();
        this.mmio = vm.userspaceMmio();
        this.stats = vm.exitStats().vcpu(index);
    }

    static KvmVcpu create(final KvmVm vm, final int index, final int mmapSize, final byte[] cpuid)
    {
        final int fd = Libc.ioctl(vm.fd(), KvmApi.KVM_CREATE_VCPU, index);
        if (fd < 0)
        {
            throw new KvmException(-fd, "kvm_create_vcpu failed", "index=" + index);
        }
        final int cpuidResult;
        try (Arena call = Arena.ofConfined())
        {
            final MemorySegment struct = call.allocate(cpuid.length, 8);
            MemorySegment.copy(cpuid, 0, struct, JAVA_BYTE, 0, cpuid.length);
            cpuidResult = Libc.ioctl(fd, KvmApi.KVM_SET_CPUID2, struct.address());
        }
        if (cpuidResult < 0)
        {
            Libc.close(fd);
            throw new KvmException(-cpuidResult, "kvm_set_cpuid2 failed", "index=" + index);
        }
        final MemorySegment raw = Libc.mmap(mmapSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        if (raw.byteSize() == 0)
        {
            Libc.close(fd);
            throw new KvmException((int)-raw.address(), "mmap of kvm_run failed", "index=" + index
                + ", size=" + mmapSize);
        }
        final Arena arena = Arena.ofShared();
        final MemorySegment run = raw.reinterpret(mmapSize, arena, unused -> Libc.munmap(raw));
        return new KvmVcpu(vm, index, fd, arena, run);
    }

    /** @return this vCPU's index in its VM. */
    public int index()
    {
        return index;
    }

    /** @return the vCPU fd. */
    public int fd()
    {
        return fd;
    }

    /**
     * {@code KVM_GET_REGS}.
     *
     * @param into where to copy the registers.
     * @return {@code into}.
     * @throws KvmException with the kernel's errno.
     */
    public KvmRegs getRegs(final KvmRegs into)
    {
        ensureOpen();
        try (Arena call = Arena.ofConfined())
        {
            final MemorySegment struct = call.allocate(KvmApi.REGS_SIZE, 8);
            check(Libc.ioctl(fd, KvmApi.KVM_GET_REGS, struct.address()), "kvm_get_regs failed");
            into.readFrom(struct);
            return into;
        }
    }

    /**
     * {@code KVM_SET_REGS}.
     *
     * @param regs the registers to load.
     * @throws KvmException with the kernel's errno.
     */
    public void setRegs(final KvmRegs regs)
    {
        ensureOpen();
        try (Arena call = Arena.ofConfined())
        {
            final MemorySegment struct = call.allocate(KvmApi.REGS_SIZE, 8);
            regs.writeTo(struct);
            check(Libc.ioctl(fd, KvmApi.KVM_SET_REGS, struct.address()), "kvm_set_regs failed");
        }
    }

    /**
     * Puts the vCPU in real mode with flat segments at 0 except DS and ES, whose base is {@code dataBase}, so that
     * {@code [bx]} addresses {@code dataBase + bx}. A real-mode segment base is normally {@code selector << 4};
     * {@code KVM_SET_SREGS} loads the hidden base directly, as after a return from protected mode ("unreal" mode).
     * Keeps CR0.PE clear; the reset state of {@code KVM_GET_SREGS} supplies everything else.
     *
     * @param dataBase the base of DS and ES.
     * @throws KvmException with the kernel's errno.
     */
    public void enterRealMode(final long dataBase)
    {
        ensureOpen();
        try (Arena call = Arena.ofConfined())
        {
            final MemorySegment sregs = call.allocate(KvmApi.SREGS_SIZE, 8);
            check(Libc.ioctl(fd, KvmApi.KVM_GET_SREGS, sregs.address()), "kvm_get_sregs failed");
            flatSegment(sregs, SREGS_CS, 0);
            flatSegment(sregs, SREGS_SS, 0);
            flatSegment(sregs, SREGS_FS, 0);
            flatSegment(sregs, SREGS_GS, 0);
            flatSegment(sregs, SREGS_DS, dataBase);
            flatSegment(sregs, SREGS_ES, dataBase);
            check(Libc.ioctl(fd, KvmApi.KVM_SET_SREGS, sregs.address()), "kvm_set_sregs failed");
        }
    }

    /**
     * Puts the vCPU in 64-bit mode (Intel SDM Vol. 3A §9.8.5): CR0.PE|PG|WP with NE and ET, CR4.PAE, EFER.LME|LMA,
     * CR3 = {@code cr3}, a 64-bit code segment (selector 8, L = 1) and flat data segments (selector 16) at base 0, and
     * an empty IDT, so that a guest exception ends in a triple fault ({@link KvmApi#KVM_EXIT_SHUTDOWN}). EFER.NXE
     * stays off, so page tables must not set XD (see {@link IdentityPageTables}).
     *
     * @param cr3 the PML4's guest-physical address.
     * @throws KvmException with the kernel's errno.
     */
    public void enterLongMode(final long cr3)
    {
        enterLongMode(cr3, false);
    }

    /**
     * As {@link #enterLongMode(long)}, with EFER.NXE on if {@code nxe}: page tables may then set XD, as the
     * project's {@link io.jvirtio.bus.guest.GuestAddressSpace} does for data.
     *
     * @param cr3 the PML4's guest-physical address.
     * @param nxe true to set EFER.NXE.
     * @throws KvmException with the kernel's errno.
     */
    public void enterLongMode(final long cr3, final boolean nxe)
    {
        ensureOpen();
        try (Arena call = Arena.ofConfined())
        {
            final MemorySegment sregs = call.allocate(KvmApi.SREGS_SIZE, 8);
            check(Libc.ioctl(fd, KvmApi.KVM_GET_SREGS, sregs.address()), "kvm_get_sregs failed");
            longModeSegment(sregs, SREGS_CS, CODE_SELECTOR, CODE_TYPE, true);
            longModeSegment(sregs, SREGS_DS, DATA_SELECTOR, DATA_TYPE, false);
            longModeSegment(sregs, SREGS_ES, DATA_SELECTOR, DATA_TYPE, false);
            longModeSegment(sregs, SREGS_FS, DATA_SELECTOR, DATA_TYPE, false);
            longModeSegment(sregs, SREGS_GS, DATA_SELECTOR, DATA_TYPE, false);
            longModeSegment(sregs, SREGS_SS, DATA_SELECTOR, DATA_TYPE, false);
            // no IDT: an exception the guest raises escalates to a triple fault, KVM_EXIT_SHUTDOWN, never a loop
            sregs.set(JAVA_LONG, SREGS_IDT, 0L);
            sregs.set(JAVA_SHORT, SREGS_IDT + DTABLE_LIMIT, (short)0);
            sregs.set(JAVA_LONG, SREGS_CR0, CR0_LONG_MODE);
            sregs.set(JAVA_LONG, SREGS_CR3, cr3);
            sregs.set(JAVA_LONG, SREGS_CR4, CR4_PAE);
            sregs.set(JAVA_LONG, SREGS_EFER, EFER_LME | EFER_LMA | (nxe ? EFER_NXE : 0));
            check(Libc.ioctl(fd, KvmApi.KVM_SET_SREGS, sregs.address()), "kvm_set_sregs failed");
        }
    }

    /** Fills a {@code struct kvm_segment}: base 0, limit 4 GiB with G, present, DPL 0, S = 1. */
    private static void longModeSegment(final MemorySegment sregs, final long segment, final int selector,
        final int type, final boolean code)
    {
        sregs.set(JAVA_LONG, segment, 0L);
        sregs.set(JAVA_INT, segment + SEGMENT_LIMIT, 0xFFFF_FFFF);
        sregs.set(JAVA_SHORT, segment + SEGMENT_SELECTOR, (short)selector);
        sregs.set(JAVA_BYTE, segment + SEGMENT_TYPE, (byte)type);
        sregs.set(JAVA_BYTE, segment + SEGMENT_PRESENT, (byte)1);
        sregs.set(JAVA_BYTE, segment + SEGMENT_DPL, (byte)0);
        sregs.set(JAVA_BYTE, segment + SEGMENT_DB, (byte)(code ? 0 : 1));
        sregs.set(JAVA_BYTE, segment + SEGMENT_S, (byte)1);
        sregs.set(JAVA_BYTE, segment + SEGMENT_L, (byte)(code ? 1 : 0));
        sregs.set(JAVA_BYTE, segment + SEGMENT_G, (byte)1);
        sregs.set(JAVA_BYTE, segment + SEGMENT_UNUSABLE, (byte)0);
    }

    private static void flatSegment(final MemorySegment sregs, final long segment, final long base)
    {
        sregs.set(JAVA_LONG, segment, base);
        sregs.set(JAVA_SHORT, segment + SEGMENT_SELECTOR, (short)0);
    }

    /**
     * Loads a program: RIP at {@code entry}, RFLAGS with interrupts off, and the given registers, then
     * {@link #run(int)} starts it.
     *
     * @param entry the address of the first instruction (in real mode, below 64 KiB: CS base is 0).
     * @param regs  initial general registers; RIP and RFLAGS are overwritten.
     */
    public void start(final long entry, final KvmRegs regs)
    {
        regs.set(KvmRegs.RIP, entry).set(KvmRegs.RFLAGS, KvmRegs.RFLAGS_FIXED);
        setRegs(regs);
    }

    private void ensureOpen()
    {
        if (!arena.scope().isAlive())
        {
            throw new IllegalStateException("vcpu is closed: index=" + index);
        }
    }

    private void check(final int result, final String what)
    {
        if (result < 0)
        {
            throw new KvmException(-result, what, "vcpu=" + index);
        }
    }

    /**
     * Runs the guest. Bounded by {@code maxExits}, so a guest that never halts cannot hold the caller.
     *
     * @param maxExits the most exits to handle before returning {@link #EXIT_LIMIT}.
     * @return {@link KvmApi#KVM_EXIT_HLT}, another {@code KVM_EXIT_*} reason the loop does not handle (for
     *         example {@link KvmApi#KVM_EXIT_INTERNAL_ERROR} or {@link KvmApi#KVM_EXIT_SHUTDOWN}), or
     *         {@link #EXIT_LIMIT}.
     * @throws KvmException if {@code KVM_RUN} itself fails with an errno other than EINTR/EAGAIN.
     * @throws IllegalStateException after {@link #close()}, rather than an ioctl on a reused fd number.
     */
    public int run(final int maxExits)
    {
        ensureOpen();
        // bound: maxExits, the caller's budget of exits
        for (int n = 0; n < maxExits; n++)
        {
            final int result = Libc.ioctl(fd, KvmApi.KVM_RUN, 0);
            if (result < 0)
            {
                if (result == -Libc.EINTR || result == -Libc.EAGAIN)
                {
                    interrupted.getAndIncrement();
                    continue;
                }
                throw new KvmException(-result, "kvm_run failed", "vcpu=" + index);
            }
            final int reason = run.get(JAVA_INT, KvmApi.RUN_EXIT_REASON);
            exitCounts.getAndIncrement(reason >= 0 && reason < KvmApi.EXIT_REASON_SLOTS
                ? reason : KvmApi.EXIT_REASON_SLOTS - 1);
            switch (reason)
            {
                case KvmApi.KVM_EXIT_IO:
                    handleIo();
                    break;
                case KvmApi.KVM_EXIT_MMIO:
                    handleMmio();
                    break;
                case KvmApi.KVM_EXIT_INTR:
                    interrupted.getAndIncrement();
                    break;
                case KvmApi.KVM_EXIT_HLT:
                    stats.count(ExitReason.HLT, ExitPath.HLT, 0);
                    return reason;
                default:
                    return reason;
            }
        }
        return EXIT_LIMIT;
    }

    private void handleIo()
    {
        final int direction = run.get(JAVA_BYTE, KvmApi.RUN_IO_DIRECTION);
        final int size = run.get(JAVA_BYTE, KvmApi.RUN_IO_SIZE);
        final int port = run.get(JAVA_SHORT, KvmApi.RUN_IO_PORT) & 0xFFFF;
        final long count = run.get(JAVA_INT, KvmApi.RUN_IO_COUNT) & 0xFFFF_FFFFL;
        final long dataOffset = run.get(JAVA_LONG, KvmApi.RUN_IO_DATA_OFFSET);
        if (size != 1 && size != 2 && size != 4 || dataOffset < 0 || dataOffset > runSize
            || count > (runSize - dataOffset) / size)
        {
            malformed.getAndIncrement();
            return;
        }
        stats.count(ExitReason.IO_INSTRUCTION, ExitPath.PIO_USERSPACE, port);
        // bound: count elements, checked above to lie inside the kvm_run mapping
        for (long i = 0; i < count; i++)
        {
            final long at = dataOffset + i * size;
            if (direction == KvmApi.KVM_EXIT_IO_OUT)
            {
                pio.write(port, size, load(at, size));
            }
            else
            {
                store(at, size, pio.read(port, size));
            }
        }
    }

    private void handleMmio()
    {
        final long address = run.get(JAVA_LONG, KvmApi.RUN_MMIO_PHYS_ADDR);
        final int len = run.get(JAVA_INT, KvmApi.RUN_MMIO_LEN);
        final boolean write = run.get(JAVA_BYTE, KvmApi.RUN_MMIO_IS_WRITE) != 0;
        if (len < 1 || len > Long.BYTES)
        {
            malformed.getAndIncrement();
            return;
        }
        stats.count(ExitReason.EPT_MISCONFIG, ExitPath.MMIO_USERSPACE, address);
        if (write)
        {
            mmio.write(address, len, load(KvmApi.RUN_MMIO_DATA, len));
        }
        else
        {
            store(KvmApi.RUN_MMIO_DATA, len, mmio.read(address, len));
        }
    }

    /** Little-endian load of {@code size} (1-8) bytes of {@code kvm_run}. */
    private long load(final long at, final int size)
    {
        long value = 0;
        // bound: at most 8 bytes
        for (int i = 0; i < size; i++)
        {
            value |= (run.get(JAVA_BYTE, at + i) & 0xFFL) << (8 * i);
        }
        return value;
    }

    /** Little-endian store of {@code size} (1-8) bytes into {@code kvm_run}. */
    private void store(final long at, final int size, final long value)
    {
        // bound: at most 8 bytes
        for (int i = 0; i < size; i++)
        {
            run.set(JAVA_BYTE, at + i, (byte)(value >>> (8 * i)));
        }
    }

    /**
     * @param kvmExitReason a {@code KVM_EXIT_*} number; larger than 63 reads the shared overflow counter.
     * @return how many {@code KVM_RUN} returns had that reason.
     */
    public long exitCount(final int kvmExitReason)
    {
        return exitCounts.get(Math.min(kvmExitReason, KvmApi.EXIT_REASON_SLOTS - 1));
    }

    /** @return port or MMIO exits with a size or data offset out of range, which were not dispatched. */
    public long malformedExits()
    {
        return malformed.get();
    }

    /** @return {@code KVM_RUN} calls that a signal interrupted (EINTR, or {@code KVM_EXIT_INTR}). */
    public long interruptedRuns()
    {
        return interrupted.get();
    }

    /** @return the VM this vCPU belongs to. */
    public KvmVm vm()
    {
        return vm;
    }

    /** @return {@code kvm_run.internal.suberror} after {@link KvmApi#KVM_EXIT_INTERNAL_ERROR}. */
    public int internalErrorSuberror()
    {
        return run.get(JAVA_INT, KvmApi.RUN_INTERNAL_SUBERROR);
    }

    /** Unmaps {@code kvm_run} and closes the vCPU fd. */
    @Override
    public void close()
    {
        if (arena.scope().isAlive())
        {
            arena.close();
            Libc.close(fd);
        }
    }
}
