package io.jvirtio.bus.vm;

import io.jvirtio.bus.kvm.Bus;
import io.jvirtio.bus.kvm.IoBuses;
import io.jvirtio.bus.kvm.IoValue;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.stats.ExitPath;
import io.jvirtio.bus.stats.ExitReason;
import io.jvirtio.bus.stats.VcpuExitStats;
import io.jvirtio.bus.x86.AccessType;
import io.jvirtio.bus.x86.DecodeStatus;
import io.jvirtio.bus.x86.DecodedInstruction;
import io.jvirtio.bus.x86.FetchStatus;
import io.jvirtio.bus.x86.InstructionDecoder;
import io.jvirtio.bus.x86.InstructionFetcher;
import io.jvirtio.bus.x86.PageWalker;
import io.jvirtio.bus.x86.Translation;
import io.jvirtio.bus.x86.WalkStatus;
import io.jvirtio.bus.x86.X86Registers;

import java.util.concurrent.TimeUnit;

/**
 * The hypervisor's side of a VM exit, for one vCPU: the logic of KVM's {@code handle_ept_misconfig} (with the 2014
 * fast-MMIO patch and its later fixes), SVM's {@code npf_interception}, {@code handle_io} and {@code handle_halt}.
 * <p>
 * An MMIO exit first offers the guest-physical address to the FAST_MMIO bus with length 0. If a wildcard ioeventfd
 * takes it, the instruction is skipped by the exit's instruction length (or, when that length cannot be trusted, by
 * decoding just enough to learn it) and nothing is emulated: the access's size, direction and data are never known,
 * so a read there leaves its destination register unchanged. Otherwise the slow path walks the guest page tables for
 * RIP, fetches and decodes the instruction, performs the access on the MMIO bus (datamatch and sized ioeventfds,
 * in-kernel devices) or, if nothing there takes it, on the VMM's userspace device, completes a load into its
 * destination register and advances RIP. Port I/O needs no decoding: the exit names port, size and direction.
 * <p>
 * Nothing a guest puts in memory or registers makes this throw anything but {@link VcpuException}, and nothing on the
 * fast path, the emulated path or the port path allocates.
 * <p>
 * Thread safety: owned by its vCPU's thread.
 */
final class ExitHandler
{
    /** {@code PFERR_PRESENT_MASK}. */
    static final long PFERR_PRESENT = 1;
    /** {@code PFERR_WRITE_MASK}. */
    static final long PFERR_WRITE = 1 << 1;
    /** {@code PFERR_RSVD_MASK}: an MMIO page's nested entry has reserved bits set, which is how SVM marks MMIO. */
    static final long PFERR_RSVD = 1 << 3;
    /** {@code PFERR_GUEST_FINAL_MASK}: the fault hit the final guest-physical address, not a page-table walk. */
    static final long PFERR_GUEST_FINAL = 1L << 32;
    private static final long RFLAGS_TF = 1 << 8;
    private static final long PAGE_MASK = 4095;

    private final SimulatedVcpu vcpu;
    private final X86Registers regs;
    private final GuestMemory memory;
    private final IoBuses buses;
    private final UserspaceDevices mmio;
    private final UserspaceDevices pio;
    private final VcpuExitStats stats;
    private final VmConfig config;
    private final InstructionFetcher fetcher;
    private final InstructionDecoder decoder = new InstructionDecoder();
    private final DecodedInstruction insn = new DecodedInstruction();
    private final PageWalker walker;
    private final Translation data = new Translation();
    private final IoValue ioValue = new IoValue();
    /** The instruction bytes an SVM exit carries with decode assists; {@code assistCount} of them are valid. */
    private final byte[] assistBytes = new byte[InstructionDecoder.MAX_LENGTH];
    private int assistCount;
    private long singleStepTraps;

    ExitHandler(final SimulatedVcpu vcpu, final SimulatedVm vm, final PageWalker walker)
    {
        this.vcpu = vcpu;
        this.regs = vcpu.registers();
        this.memory = vm.memory();
        this.buses = vm.buses();
        this.mmio = vm.userspaceMmio();
        this.pio = vm.userspacePio();
        this.stats = vm.exitStats().vcpu(vcpu.index());
        this.config = vm.config();
        this.walker = walker;
        this.fetcher = new InstructionFetcher(memory, walker);
    }

    private long start()
    {
        return config.exitTiming() ? System.nanoTime() : 0;
    }

    private void record(final ExitReason reason, final ExitPath path, final long address, final long start)
    {
        if (config.exitTiming())
        {
            stats.record(reason, path, address, System.nanoTime() - start);
        }
        else
        {
            stats.count(reason, path, address);
        }
    }

    /**
     * VMX EPT misconfiguration: the hardware reports the guest-physical address and the VM-exit instruction length.
     */
    void eptMisconfig(final long gpa, final int exitInstructionLength)
    {
        final long start = start();
        // handle_ept_misconfig: not in L2 (the GPA would be an L2 address), then the fast bus by address alone.
        if (config.fastMmioBus() && !vcpu.nestedGuestMode()
            && buses.write(Bus.FAST_MMIO, gpa, 0, 0) == IoBuses.HANDLED)
        {
            final int length = config.exitLengthTrusted() ? exitInstructionLength : decodeLengthOnly(gpa, start);
            skipInstruction(length);
            record(ExitReason.EPT_MISCONFIG, ExitPath.FAST_MMIO, gpa, start);
            return;
        }
        emulate(ExitReason.EPT_MISCONFIG, gpa, false, start);
    }

    /**
     * SVM nested page fault: the hardware reports the address, an error code, the next RIP when NRIPS is present,
     * and with decode assists the instruction bytes.
     */
    void nestedPageFault(
        final long gpa,
        final long errorCode,
        final long nextRip,
        final boolean nextRipValid,
        final byte[] bytes,
        final int byteCount)
    {
        final long start = start();
        // 01cde4eaaeca (2026): the fast bus for a reserved-bit NPF, only in L1 and only when the next RIP is known.
        if ((errorCode & PFERR_RSVD) != 0 && nextRipValid && config.fastMmioBus() && !vcpu.nestedGuestMode()
            && buses.write(Bus.FAST_MMIO, gpa, 0, 0) == IoBuses.HANDLED)
        {
            regs.rip(nextRip);
            afterSkip();
            record(ExitReason.NPF, ExitPath.FAST_MMIO, gpa, start);
            return;
        }
        assistCount = Math.min(byteCount, assistBytes.length);
        if (assistCount > 0)
        {
            System.arraycopy(bytes, 0, assistBytes, 0, assistCount);
        }
        emulate(ExitReason.NPF, gpa, assistCount > 0, start);
    }

    /** The EMULTYPE_SKIP path: fetch and decode only to learn the instruction's length. */
    private int decodeLengthOnly(final long gpa, final long start)
    {
        final FetchStatus fetched = fetcher.fetch(regs);
        if (!fetched.hasBytes())
        {
            failFetch(ExitReason.EPT_MISCONFIG, gpa, start, fetched);
        }
        final DecodeStatus status = decoder.decodeLength(fetcher.bytes(), fetcher.count(), insn);
        if (status == DecodeStatus.TRUNCATED && fetched != FetchStatus.OK)
        {
            failFetch(ExitReason.EPT_MISCONFIG, gpa, start, fetched);
        }
        if (!status.isOk())
        {
            fail(ExitReason.EPT_MISCONFIG, ExitPath.DECODE_FAILURE, gpa, start, VcpuException.Kind.EMULATION_FAILURE,
                "decode for skip failed: " + status);
        }
        return insn.length();
    }

    /** {@code kvm_skip_emulated_instruction}: advance RIP, then the single-step trap if TF is set. */
    private void skipInstruction(final int length)
    {
        regs.rip(regs.rip() + length);
        afterSkip();
    }

    private void afterSkip()
    {
        // Skipping an instruction completes it: a single-step trap is due after it (1957aa63be53).
        if ((regs.rflags() & RFLAGS_TF) != 0)
        {
            singleStepTraps++;
        }
    }

    /** The slow path: fetch (or take the assisted bytes), decode, access, complete, advance. */
    private void emulate(final ExitReason reason, final long gpa, final boolean assisted, final long start)
    {
        final byte[] bytes;
        final int count;
        FetchStatus fetched = FetchStatus.OK;
        if (assisted)
        {
            bytes = assistBytes;
            count = assistCount;
        }
        else
        {
            fetched = fetcher.fetch(regs);
            if (!fetched.hasBytes())
            {
                failFetch(reason, gpa, start, fetched);
            }
            bytes = fetcher.bytes();
            count = fetcher.count();
        }
        final DecodeStatus status = decoder.decode(bytes, count, insn);
        if (status == DecodeStatus.TRUNCATED && fetched != FetchStatus.OK)
        {
            failFetch(reason, gpa, start, fetched);
        }
        if (!status.isOk())
        {
            fail(reason, ExitPath.DECODE_FAILURE, gpa, start, VcpuException.Kind.EMULATION_FAILURE,
                "decode failed: " + status);
        }
        final int size = insn.accessSize();
        final long linear = insn.linearAddress(regs);
        long target = gpa;
        // The exit's GPA is the access's address when the page offsets agree (KVM's gpa_available); otherwise walk.
        if ((linear & PAGE_MASK) != (gpa & PAGE_MASK))
        {
            if (!walker.translate(regs, linear, insn.isWrite() ? AccessType.WRITE : AccessType.READ, data).isOk())
            {
                fail(reason, ExitPath.PAGE_FAULT, gpa, start, VcpuException.Kind.PAGE_FAULT,
                    "data walk failed: linear=0x" + Long.toHexString(linear) + ", status=" + data.status());
            }
            target = data.gpa();
        }
        if ((target & PAGE_MASK) + size > PAGE_MASK + 1)
        {
            fail(reason, ExitPath.UNHANDLED, gpa, start, VcpuException.Kind.SPLIT_ACCESS,
                "gpa=0x" + Long.toHexString(target) + ", size=" + size);
        }
        final ExitPath path = insn.isWrite()
            ? emulatedWrite(target, size, insn.storeValue(regs))
            : emulatedRead(target, size);
        insn.advanceRip(regs);
        record(reason, path, gpa, start);
    }

    private ExitPath emulatedWrite(final long gpa, final int size, final long value)
    {
        if (memory.isRam(gpa, size))
        {
            memory.putLE(gpa, size, value);
            return ExitPath.MMIO_KERNEL;
        }
        if (buses.write(Bus.MMIO, gpa, size, value) == IoBuses.HANDLED)
        {
            return ExitPath.MMIO_KERNEL;
        }
        return mmio.write(gpa, size, value) ? ExitPath.MMIO_USERSPACE : ExitPath.UNHANDLED;
    }

    private ExitPath emulatedRead(final long gpa, final int size)
    {
        final ExitPath path;
        final long value;
        if (memory.isRam(gpa, size))
        {
            value = memory.getLE(gpa, size);
            path = ExitPath.MMIO_KERNEL;
        }
        else if (buses.read(Bus.MMIO, gpa, size, ioValue) == IoBuses.HANDLED)
        {
            value = ioValue.get();
            path = ExitPath.MMIO_KERNEL;
        }
        else
        {
            path = mmio.isAssigned(gpa) ? ExitPath.MMIO_USERSPACE : ExitPath.UNHANDLED;
            value = mmio.read(gpa, size);
        }
        insn.completeLoad(regs, value);
        return path;
    }

    /**
     * I/O instruction: port, size and direction come with the exit, so nothing is decoded; the PIO bus first, then
     * the userspace device; IN completes into AL/AX/EAX.
     */
    void io(final int port, final int size, final boolean in, final boolean string, final boolean rep, final int length)
    {
        final long start = start();
        if (string || rep)
        {
            fail(ExitReason.IO_INSTRUCTION, ExitPath.UNHANDLED, port, start, VcpuException.Kind.UNSUPPORTED_IO,
                "port=0x" + Integer.toHexString(port) + ", string=" + string + ", rep=" + rep);
        }
        final ExitPath path;
        if (in)
        {
            final long value;
            if (buses.read(Bus.PIO, port, size, ioValue) == IoBuses.HANDLED)
            {
                value = ioValue.get();
                path = ExitPath.PIO_KERNEL;
            }
            else
            {
                path = pio.isAssigned(port) ? ExitPath.PIO_USERSPACE : ExitPath.UNHANDLED;
                value = pio.read(port, size);
            }
            regs.write(X86Registers.RAX, size, false, value);
        }
        else
        {
            final long value = regs.read(X86Registers.RAX, size, false);
            if (buses.write(Bus.PIO, port, size, value) == IoBuses.HANDLED)
            {
                path = ExitPath.PIO_KERNEL;
            }
            else
            {
                path = pio.write(port, size, value) ? ExitPath.PIO_USERSPACE : ExitPath.UNHANDLED;
            }
        }
        skipInstruction(length);
        record(ExitReason.IO_INSTRUCTION, path, port, start);
    }

    /**
     * HLT: RIP moves past the instruction, then the vCPU sleeps until an interrupt is deliverable.
     *
     * @return true if an interrupt is pending, false on timeout.
     */
    boolean hlt(final int length, final long timeout, final TimeUnit unit) throws InterruptedException
    {
        final long start = start();
        skipInstruction(length);
        final boolean woken = vcpu.awaitInterrupt(timeout, unit);
        record(ExitReason.HLT, ExitPath.HLT, regs.rip(), start);
        return woken;
    }

    /**
     * A fetch at RIP that could not read the bytes the instruction needs (its own page, or the next page when the
     * decoder ran out of bytes, as {@link FetchStatus} describes). A walk fault is the #PF (or, non-canonical, #GP)
     * hardware would raise for the fetch: {@link VcpuException.Kind#PAGE_FAULT}. Code that translates to an address
     * outside RAM, or page tables outside RAM, are what KVM cannot fetch from and reports as an emulation failure
     * (KVM_INTERNAL_ERROR_EMULATION; {@link io.jvirtio.bus.x86.WalkStatus#TABLE_NOT_IN_RAM}).
     */
    private void failFetch(final ExitReason reason, final long gpa, final long start, final FetchStatus fetched)
    {
        final Translation fault = fetcher.fault();
        final boolean pageFault = fault.status() != WalkStatus.OK && fault.status() != WalkStatus.TABLE_NOT_IN_RAM;
        fail(reason, pageFault ? ExitPath.PAGE_FAULT : ExitPath.DECODE_FAILURE, gpa, start,
            pageFault ? VcpuException.Kind.PAGE_FAULT : VcpuException.Kind.EMULATION_FAILURE,
            "instruction fetch failed: fetch=" + fetched + ", walk=" + fault.status() + ", linear=0x"
                + Long.toHexString(fetcher.faultAddress()));
    }

    private void fail(
        final ExitReason reason,
        final ExitPath path,
        final long address,
        final long start,
        final VcpuException.Kind kind,
        final String details)
    {
        record(reason, path, address, start);
        throw new VcpuException(kind, vcpu.index(), regs.rip(), details);
    }

    /** @return single-step traps raised by skipped instructions while RFLAGS.TF was set. */
    long singleStepTraps()
    {
        return singleStepTraps;
    }

    /** @return decode failures by status, as the decoder counted them. */
    long decodeFailures(final DecodeStatus status)
    {
        return decoder.failures(status);
    }
}
