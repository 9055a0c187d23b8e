package io.jvirtio.bus.vm;

import io.jvirtio.bus.guest.AddressingForm;
import io.jvirtio.bus.guest.GuestAddressSpace;
import io.jvirtio.bus.guest.InstructionEncoder;
import io.jvirtio.bus.irq.InterruptController;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.x86.AccessType;
import io.jvirtio.bus.x86.InstructionDecoder;
import io.jvirtio.bus.x86.PageWalker;
import io.jvirtio.bus.x86.Translation;
import io.jvirtio.bus.x86.X86Registers;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * The simulated vCPU: the "hardware" half of each guest device access (place the instruction, translate its address
 * through a small TLB and the guest page tables, decide whether it exits and what the exit reports) and the
 * {@link ExitHandler} that handles the exit.
 * <p>
 * Thread safety: one vCPU thread at a time, as {@link Vcpu} says.
 */
public final class SimulatedVcpu implements Vcpu
{
    private static final int DATA_REGISTER = X86Registers.RAX;
    private static final byte HLT = (byte)0xF4;
    private static final int TLB_ENTRIES = 64;
    private static final long PAGE_MASK = 4095;
    private static final int CODE_PAGE = 4096;
    private static final int NO_FORM = 0;
    private static final int FORM_STORE = 1 << 8;
    private static final int FORM_LOAD = 2 << 8;
    private static final int FORM_OUT = 3 << 8;
    private static final int FORM_IN = 4 << 8;
    /**
     * What an untrusted VM-exit instruction length field reads as: KVM nested under Hyper-V saw "some random value"
     * (d391f1207067); any fixed wrong value shows the bug as well.
     */
    private static final int UNTRUSTED_LENGTH_DELTA = 5;

    private final int index;
    private final SimulatedVm vm;
    private final GuestMemory memory;
    private final GuestAddressSpace space;
    private final InterruptController irqchip;
    private final VmConfig config;
    private final X86Registers regs = new X86Registers();
    private final InstructionEncoder encoder = new InstructionEncoder();
    private final PageWalker walker;
    private final Translation translation = new Translation();
    private final ExitHandler exits;
    private final long codeBase;
    /** Direct-mapped TLB over 4 KiB linear pages: tag = linear page, value = guest-physical page. */
    private final long[] tlbLinear = new long[TLB_ENTRIES];
    private final long[] tlbPhysical = new long[TLB_ENTRIES];
    private final byte[] decodeAssist = new byte[InstructionDecoder.MAX_LENGTH];
    private int codeOffset;
    private boolean nestedGuestMode;
    /** The guest-physical address of the last access that {@link #execute} found in RAM. */
    private long lastGpa;
    /**
     * The instruction already at RIP, as guest code sits in memory once and runs many times: its form, its code
     * offset and its length. An access with the same form at the same place only sets its operand registers.
     */
    private int placedForm = NO_FORM;
    private int placedOffset;
    private int placedLength;

    SimulatedVcpu(final int index, final SimulatedVm vm)
    {
        this.index = index;
        this.vm = vm;
        this.memory = vm.memory();
        this.space = vm.guestAddressSpace();
        this.irqchip = vm.irqchip();
        this.config = vm.config();
        this.walker = new PageWalker(memory);
        this.codeBase = GuestAddressSpace.codeAddress(index);
        regs.enterLongMode(space.cr3());
        regs.rip(codeBase);
        flushTlb();
        this.exits = new ExitHandler(this, vm, walker);
    }

    @Override
    public int index()
    {
        return index;
    }

    @Override
    public X86Registers registers()
    {
        return regs;
    }

    /**
     * Marks the vCPU as running a nested (L2) guest: the exit's address is then an L2 address, so the fast path is
     * not taken and every MMIO exit is emulated, as KVM's {@code !is_guest_mode()} check does.
     */
    public void nestedGuestMode(final boolean on)
    {
        nestedGuestMode = on;
    }

    boolean nestedGuestMode()
    {
        return nestedGuestMode;
    }

    /** @return single-step traps that skipped instructions raised while RFLAGS.TF was set. */
    public long singleStepTraps()
    {
        return exits.singleStepTraps();
    }

    @Override
    public void codeOffset(final int offset)
    {
        space.codePhysicalAddress(index, offset);
        codeOffset = offset;
    }

    @Override
    public void flushTlb()
    {
        Arrays.fill(tlbLinear, -1L);
    }

    /**
     * Sets RIP for the next instruction.
     *
     * @return the guest-physical address to encode the instruction at: RIP's own, or the start of the first code page
     *     when the instruction may straddle the page boundary ({@link #relocate} then moves it byte by byte, because
     *     the two code pages are not physically contiguous).
     */
    private long placeRip()
    {
        placedForm = NO_FORM;
        regs.rip(codeBase + codeOffset);
        return space.codePhysicalAddress(index, straddles() ? 0 : codeOffset);
    }

    private boolean straddles()
    {
        return codeOffset > CODE_PAGE - InstructionDecoder.MAX_LENGTH;
    }

    /** @return {@code length}, after moving an instruction encoded at offset 0 to RIP when it may straddle pages. */
    private int relocate(final int length)
    {
        if (straddles())
        {
            // bound: an instruction is at most 15 bytes
            for (int i = length - 1; i >= 0; i--)
            {
                memory.putByte(space.codePhysicalAddress(index, codeOffset + i),
                    memory.getByte(space.codePhysicalAddress(index, i)));
            }
        }
        return length;
    }

    /**
     * @return the length of the instruction of {@code form} already at RIP, or 0 if it must be encoded (RIP is set
     *     either way).
     */
    private int placed(final int form)
    {
        regs.rip(codeBase + codeOffset);
        return placedForm == form && placedOffset == codeOffset ? placedLength : 0;
    }

    private int remember(final int form, final int length)
    {
        placedForm = form;
        placedOffset = codeOffset;
        placedLength = length;
        return length;
    }

    @Override
    public void mmioWrite(final long address, final int size, final long value)
    {
        // writeb/w/l/q: mov %reg,(%rdi); its bytes depend only on the size, so a placed copy is reused
        final int form = FORM_STORE | size;
        int length = placed(form);
        if (length == 0)
        {
            length = remember(form, relocate(encoder.encodeStore(
                memory, placeRip(), regs, size, DATA_REGISTER, value, AddressingForm.BASE, address)));
        }
        else
        {
            regs.write(DATA_REGISTER, size, false, value);
            regs.gpr(AddressingForm.BASE_REGISTER, address);
        }
        execute(address, size, true, value, length);
    }

    @Override
    public void mmioWrite(final long address, final int size, final long value, final AddressingForm form)
    {
        final long ripGpa = placeRip();
        final int length = relocate(
            encoder.encodeStore(memory, ripGpa, regs, size, DATA_REGISTER, value, form, address));
        execute(address, size, true, value, length);
    }

    @Override
    public void mmioWriteImmediate(final long address, final int size, final long immediate)
    {
        final long ripGpa = placeRip();
        final int length = relocate(encoder.encodeStoreImmediate(
            memory, ripGpa, regs, size, immediate, AddressingForm.BASE, address));
        // C7 with a 64-bit operand stores the sign-extended imm32; narrower stores take the low bytes.
        execute(address, size, true, size == Long.BYTES ? (long)(int)immediate : immediate, length);
    }

    @Override
    public long mmioRead(final long address, final int size)
    {
        // readb/w/l/q: mov (%rdi),%reg
        final int form = FORM_LOAD | size;
        int length = placed(form);
        if (length == 0)
        {
            length = remember(form, relocate(encoder.encodeLoad(
                memory, placeRip(), regs, size, DATA_REGISTER, AddressingForm.BASE, address)));
        }
        else
        {
            regs.gpr(AddressingForm.BASE_REGISTER, address);
        }
        if (execute(address, size, false, 0, length))
        {
            regs.write(DATA_REGISTER, size, false, memory.getLE(lastGpa, size));
        }
        return regs.read(DATA_REGISTER, size, false);
    }

    @Override
    public long mmioRead(final long address, final int size, final AddressingForm form)
    {
        final long ripGpa = placeRip();
        final int length = relocate(encoder.encodeLoad(memory, ripGpa, regs, size, DATA_REGISTER, form, address));
        if (execute(address, size, false, 0, length))
        {
            regs.write(DATA_REGISTER, size, false, memory.getLE(lastGpa, size));
        }
        return regs.read(DATA_REGISTER, size, false);
    }

    @Override
    public long mmioReadZeroExtend(final long address, final int accessSize)
    {
        final long ripGpa = placeRip();
        final int length = relocate(encoder.encodeLoadZeroExtend(
            memory, ripGpa, regs, accessSize, Integer.BYTES, DATA_REGISTER, AddressingForm.BASE, address));
        if (execute(address, accessSize, false, 0, length))
        {
            regs.write(DATA_REGISTER, Integer.BYTES, false, memory.getLE(lastGpa, accessSize));
        }
        return regs.gpr(DATA_REGISTER);
    }

    @Override
    public long mmioReadSignExtend(final long address, final int accessSize)
    {
        final long ripGpa = placeRip();
        final int length = relocate(encoder.encodeLoadSignExtend(
            memory, ripGpa, regs, accessSize, Long.BYTES, DATA_REGISTER, AddressingForm.BASE, address));
        if (execute(address, accessSize, false, 0, length))
        {
            final long raw = memory.getLE(lastGpa, accessSize);
            regs.gpr(DATA_REGISTER, accessSize == 1 ? (byte)raw : (short)raw);
        }
        return regs.gpr(DATA_REGISTER);
    }

    /**
     * Executes the instruction just placed at RIP: translate, then either a plain RAM access (no exit) or the MMIO
     * exit of the configured hardware. Checks that the exit left RIP at the next instruction.
     *
     * @return true if the address is RAM (a load's caller completes it from {@link #lastGpa}), false if it exited.
     */
    private boolean execute(final long linear, final int size, final boolean write, final long value,
        final int length)
    {
        final long rip = regs.rip();
        final long gpa = translateData(linear, write);
        if (memory.isRam(gpa, size))
        {
            if (write)
            {
                memory.putLE(gpa, size, value);
            }
            lastGpa = gpa;
            regs.rip(rip + length);
            return true;
        }
        if (config.exitStyle() == ExitStyle.VMX)
        {
            exits.eptMisconfig(gpa,
                config.exitLengthTrusted() ? length : (length + UNTRUSTED_LENGTH_DELTA) & 0xF);
        }
        else
        {
            final long errorCode = ExitHandler.PFERR_PRESENT | ExitHandler.PFERR_RSVD | ExitHandler.PFERR_GUEST_FINAL
                | (write ? ExitHandler.PFERR_WRITE : 0);
            int assisted = 0;
            if (config.svmDecodeAssists())
            {
                assisted = length;
                // byte by byte: the instruction may straddle the two code pages, which are not contiguous
                for (int i = 0; i < length; i++)
                {
                    decodeAssist[i] = memory.getByte(space.codePhysicalAddress(index, codeOffset + i));
                }
            }
            exits.nestedPageFault(gpa, errorCode, rip + length, config.svmNextRip(), decodeAssist, assisted);
        }
        checkRip(rip, length);
        return false;
    }

    private void checkRip(final long rip, final int length)
    {
        if (regs.rip() != rip + length)
        {
            throw new VcpuException(VcpuException.Kind.RIP_CORRUPTED, index, rip,
                "expected=0x" + Long.toHexString(rip + length) + ", actual=0x" + Long.toHexString(regs.rip()));
        }
    }

    /** The CPU's data translation: TLB, else the guest page tables. */
    private long translateData(final long linear, final boolean write)
    {
        final long page = linear & ~PAGE_MASK;
        final int slot = (int)((linear >>> 12) & (TLB_ENTRIES - 1));
        if (tlbLinear[slot] == page)
        {
            return tlbPhysical[slot] | (linear & PAGE_MASK);
        }
        if (!walker.translate(regs, linear, write ? AccessType.WRITE : AccessType.READ, translation).isOk())
        {
            throw new VcpuException(VcpuException.Kind.PAGE_FAULT, index, regs.rip(),
                "linear=0x" + Long.toHexString(linear) + ", status=" + translation.status());
        }
        final long gpa = translation.gpa();
        tlbLinear[slot] = page;
        tlbPhysical[slot] = gpa & ~PAGE_MASK;
        return gpa;
    }

    @Override
    public void out(final int port, final int size, final long value)
    {
        // outb/w/l: out %al/%ax/%eax,(%dx)
        final int form = FORM_OUT | size;
        int length = placed(form);
        if (length == 0)
        {
            length = remember(form, relocate(encoder.encodeOut(memory, placeRip(), regs, size, port, value)));
        }
        else
        {
            regs.write(X86Registers.RDX, Short.BYTES, false, port);
            regs.write(DATA_REGISTER, size, false, value);
        }
        final long rip = regs.rip();
        exits.io(port, size, false, false, false, length);
        checkRip(rip, length);
    }

    @Override
    public long in(final int port, final int size)
    {
        final int form = FORM_IN | size;
        int length = placed(form);
        if (length == 0)
        {
            length = remember(form, relocate(encoder.encodeIn(memory, placeRip(), regs, size, port)));
        }
        else
        {
            regs.write(X86Registers.RDX, Short.BYTES, false, port);
        }
        final long rip = regs.rip();
        exits.io(port, size, true, false, false, length);
        checkRip(rip, length);
        return regs.read(DATA_REGISTER, size, false);
    }

    @Override
    public int hlt(final long timeout, final TimeUnit unit) throws InterruptedException
    {
        placeRip();
        memory.putByte(space.codePhysicalAddress(index, codeOffset), HLT);
        if (!exits.hlt(1, timeout, unit))
        {
            return -1;
        }
        return takeInterrupt();
    }

    boolean awaitInterrupt(final long timeout, final TimeUnit unit) throws InterruptedException
    {
        return irqchip.awaitInterrupt(index, timeout, unit);
    }

    @Override
    public int takeInterrupt()
    {
        final int vector = irqchip.acknowledge(index);
        return vector == InterruptController.NO_VECTOR ? -1 : vector;
    }

    @Override
    public void eoi()
    {
        irqchip.eoi(index);
    }

    @Override
    public void executeRaw(final byte[] code, final long gpa, final boolean write, final int claimedLength)
    {
        if (code.length == 0 || code.length > InstructionDecoder.MAX_LENGTH)
        {
            throw new IllegalArgumentException("raw code must be 1 to 15 bytes: length=" + code.length);
        }
        placedForm = NO_FORM;
        final long rip = codeBase + codeOffset;
        regs.rip(rip);
        // Placed byte by byte: the two code pages are not physically contiguous.
        for (int i = 0; i < code.length; i++)
        {
            memory.putByte(space.codePhysicalAddress(index, codeOffset + i), code[i]);
        }
        if (config.exitStyle() == ExitStyle.VMX)
        {
            exits.eptMisconfig(gpa, claimedLength);
        }
        else
        {
            final long errorCode = ExitHandler.PFERR_PRESENT | ExitHandler.PFERR_RSVD | ExitHandler.PFERR_GUEST_FINAL
                | (write ? ExitHandler.PFERR_WRITE : 0);
            exits.nestedPageFault(gpa, errorCode, rip + claimedLength, config.svmNextRip(), code,
                config.svmDecodeAssists() ? code.length : 0);
        }
    }

    @Override
    public String toString()
    {
        return "SimulatedVcpu{index=" + index + ", vm=" + vm + '}';
    }
}
