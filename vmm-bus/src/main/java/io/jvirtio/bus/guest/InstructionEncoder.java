package io.jvirtio.bus.guest;

import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.x86.MemoryOperand;
import io.jvirtio.bus.x86.SegmentOverride;
import io.jvirtio.bus.x86.X86Registers;

/**
 * Writes the real bytes of a device-access instruction into guest memory at RIP, as a guest kernel's compiled code
 * would hold them, and sets the registers it uses. The vCPU places an instruction this way before raising the exit
 * hardware would raise, so the exit path sees only bytes and registers, never the Java value the guest meant.
 * <p>
 * Forms (Intel SDM Vol. 2B "MOV", "MOVZX", "MOVSX", "IN", "OUT"; the Linux accessors of
 * {@code arch/x86/include/asm/io.h}: {@code writeb/w/l/q} are {@code mov %reg,(mem)}, {@code readb/w/l/q} are
 * {@code mov (mem),%reg}, with MOVZX as compilers emit {@code readb}/{@code readw} into 32-bit registers; the
 * volatile C stores of kvm-unit-tests {@code x86/vmexit.c} are {@code mov $imm,(mem)}):
 * <ul>
 *     <li>store: 88 / 66 89 / 89 / REX.W 89, or A2/A3 for {@link AddressingForm#MOFFS};</li>
 *     <li>load: 8A / 66 8B / 8B / REX.W 8B, or A0/A1 for {@link AddressingForm#MOFFS};</li>
 *     <li>store immediate: C6 /0 ib, 66 C7 /0 iw, C7 /0 id, REX.W C7 /0 id (sign-extended);</li>
 *     <li>MOVZX 0F B6/B7 and MOVSX 0F BE/BF, to 16 (66), 32 or 64 (REX.W) bits;</li>
 *     <li>port I/O: OUT DX = EE / 66 EF / EF, OUT imm8 = E6 / 66 E7 / E7, IN DX = EC / 66 ED / ED,
 *     IN imm8 = E4 / 66 E5 / E5. These are placed for realism; a port exit carries the length.</li>
 * </ul>
 * Each method returns the instruction's length. The memory operand is encoded the way an assembler does: the
 * shortest displacement, a SIB byte where the base is RSP/R12 or an index is used, disp8 0 for a base of RBP/R13.
 * An 8-bit register operand always means the low byte, so registers 4-7 get a REX prefix (SPL, BPL, SIL, DIL).
 * <p>
 * Two levels: methods taking a {@link MemoryOperand} encode exactly that operand; the {@code encode...} methods take
 * an {@link AddressingForm} and a linear address, set the address registers (and the data register of a store or
 * OUT) in {@link X86Registers}, and for {@link AddressingForm#RIP_RELATIVE} compute the displacement from
 * {@code regs.rip()}, which must already be the linear address of {@code gpaOfRip}.
 * <p>
 * Errors: the guest code that calls this is host code playing the guest, so a request no instruction can express
 * (a size of 3, an index of RSP, a displacement beyond 32 bits) is a bug and throws
 * {@link IllegalArgumentException}; the guest memory accessors throw if {@code gpaOfRip} is not RAM.
 * <p>
 * Allocation: none on success. Thread safety: owned by one vCPU thread (it holds a scratch buffer and operand).
 */
public final class InstructionEncoder
{
    private static final int MAX_LENGTH = 15;
    private static final int PREFIX_OPERAND_SIZE = 0x66;
    private static final int PREFIX_ADDRESS_SIZE = 0x67;
    private static final int REX_BASE = 0x40;
    private static final int REX_W = 0x08;
    private static final int REX_R = 0x04;
    private static final int REX_X = 0x02;
    private static final int REX_B = 0x01;
    private static final int TWO_BYTE_ESCAPE = 0x0F;
    private static final int MOV_STORE_BYTE = 0x88;
    private static final int MOV_LOAD_BYTE = 0x8A;
    private static final int MOV_LOAD_AL_MOFFS = 0xA0;
    private static final int MOV_STORE_AL_MOFFS = 0xA2;
    private static final int MOV_STORE_IMM_BYTE = 0xC6;
    private static final int MOVZX_BYTE = 0xB6;
    private static final int MOVSX_BYTE = 0xBE;
    private static final int IN_IMM_BYTE = 0xE4;
    private static final int OUT_IMM_BYTE = 0xE6;
    private static final int IN_DX_BYTE = 0xEC;
    private static final int OUT_DX_BYTE = 0xEE;
    private static final int RM_SIB = 4;
    private static final int RM_DISP32 = 5;
    private static final int SIB_NO_INDEX = 4;
    private static final int SIB_NO_BASE = 5;
    private static final int NO_IMMEDIATE = 0;

    private final byte[] code = new byte[MAX_LENGTH];
    private final MemoryOperand bound = new MemoryOperand();

    /**
     * {@code mov %reg,(mem)}: 88 / 66 89 / 89 / REX.W 89 /r, or A2/A3 for a moffs operand.
     *
     * @param memory  guest memory to write the instruction into.
     * @param gpa     guest-physical address of the first byte.
     * @param size    access size: 1, 2, 4 or 8.
     * @param srcReg  the source register, 0-15 (its low {@code size} bytes); RAX for moffs.
     * @param operand the memory operand.
     * @return the instruction's length.
     */
    public int store(
        final GuestMemory memory, final long gpa, final int size, final int srcReg, final MemoryOperand operand)
    {
        return place(memory, gpa, encodeMov(MOV_STORE_BYTE, MOV_STORE_AL_MOFFS, size, srcReg, operand));
    }

    /**
     * {@code mov (mem),%reg}: 8A / 66 8B / 8B / REX.W 8B /r, or A0/A1 for a moffs operand.
     *
     * @param memory  guest memory to write the instruction into.
     * @param gpa     guest-physical address of the first byte.
     * @param size    access size: 1, 2, 4 or 8.
     * @param dstReg  the destination register, 0-15; RAX for moffs.
     * @param operand the memory operand.
     * @return the instruction's length.
     */
    public int load(
        final GuestMemory memory, final long gpa, final int size, final int dstReg, final MemoryOperand operand)
    {
        return place(memory, gpa, encodeMov(MOV_LOAD_BYTE, MOV_LOAD_AL_MOFFS, size, dstReg, operand));
    }

    /**
     * {@code mov $imm,(mem)}: C6 /0 ib, 66 C7 /0 iw, C7 /0 id, REX.W C7 /0 id.
     *
     * @param memory    guest memory to write the instruction into.
     * @param gpa       guest-physical address of the first byte.
     * @param size      access size: 1, 2, 4 or 8.
     * @param immediate the value; it must fit the size (signed or unsigned), or for size 8 fit a signed 32 bits.
     * @param operand   the memory operand (not moffs).
     * @return the instruction's length.
     */
    public int storeImmediate(
        final GuestMemory memory, final long gpa, final int size, final long immediate, final MemoryOperand operand)
    {
        checkSize(size);
        checkNotMoffs(operand);
        final int immediateSize = size == Long.BYTES ? Integer.BYTES : size;
        if (!fitsSigned(immediate, immediateSize) && !(size < Long.BYTES && fitsUnsigned(immediate, size)))
        {
            throw new IllegalArgumentException(
                "immediate does not fit the store: size=" + size + ", immediate=0x" + Long.toHexString(immediate));
        }
        final int opcode = size == 1 ? MOV_STORE_IMM_BYTE : MOV_STORE_IMM_BYTE + 1;
        return place(memory, gpa, encode(size, false, opcode, 0, false, operand, immediateSize, immediate));
    }

    /**
     * {@code movz[bw][wlq] (mem),%reg}: 0F B6 (from 8 bits) or 0F B7 (from 16 bits), with 66 or REX.W for the
     * destination size.
     *
     * @param memory          guest memory to write the instruction into.
     * @param gpa             guest-physical address of the first byte.
     * @param accessSize      1 or 2.
     * @param destinationSize 2, 4 or 8, larger than {@code accessSize}.
     * @param dstReg          the destination register, 0-15.
     * @param operand         the memory operand (not moffs).
     * @return the instruction's length.
     */
    public int loadZeroExtend(
        final GuestMemory memory,
        final long gpa,
        final int accessSize,
        final int destinationSize,
        final int dstReg,
        final MemoryOperand operand)
    {
        return place(memory, gpa, encodeExtend(MOVZX_BYTE, accessSize, destinationSize, dstReg, operand));
    }

    /**
     * {@code movs[bw][wlq] (mem),%reg}: 0F BE (from 8 bits) or 0F BF (from 16 bits), with 66 or REX.W for the
     * destination size.
     *
     * @param memory          guest memory to write the instruction into.
     * @param gpa             guest-physical address of the first byte.
     * @param accessSize      1 or 2.
     * @param destinationSize 2, 4 or 8, larger than {@code accessSize}.
     * @param dstReg          the destination register, 0-15.
     * @param operand         the memory operand (not moffs).
     * @return the instruction's length.
     */
    public int loadSignExtend(
        final GuestMemory memory,
        final long gpa,
        final int accessSize,
        final int destinationSize,
        final int dstReg,
        final MemoryOperand operand)
    {
        return place(memory, gpa, encodeExtend(MOVSX_BYTE, accessSize, destinationSize, dstReg, operand));
    }

    /**
     * A store of {@code value} from {@code srcReg} to {@code address}: sets the source register (with the partial
     * write rules of {@link X86Registers#write}) and the address registers of {@code form}, then writes the bytes.
     *
     * @param memory   guest memory to write the instruction into.
     * @param gpaOfRip guest-physical address of RIP.
     * @param regs     the vCPU registers; RIP must be the linear address of {@code gpaOfRip}.
     * @param size     access size: 1, 2, 4 or 8.
     * @param srcReg   the source register, 0-15, not one {@code form} uses; RAX for moffs.
     * @param value    the value to store.
     * @param form     how the address is formed.
     * @param address  the linear address to access.
     * @return the instruction's length.
     */
    public int encodeStore(
        final GuestMemory memory,
        final long gpaOfRip,
        final X86Registers regs,
        final int size,
        final int srcReg,
        final long value,
        final AddressingForm form,
        final long address)
    {
        checkSize(size);
        checkRegister(srcReg);
        checkDataRegister(form, srcReg);
        regs.write(srcReg, size, false, value);
        return place(memory, gpaOfRip,
            encodeMovAt(MOV_STORE_BYTE, MOV_STORE_AL_MOFFS, size, srcReg, form, regs, address));
    }

    /** Binds {@code form} to {@code address} and encodes a MOV; RIP-relative takes a second pass (see below). */
    private int encodeMovAt(
        final int byteOpcode,
        final int moffsOpcode,
        final int size,
        final int reg,
        final AddressingForm form,
        final X86Registers regs,
        final long address)
    {
        bind(form, regs, address);
        int length = encodeMov(byteOpcode, moffsOpcode, size, reg, bound);
        if (form == AddressingForm.RIP_RELATIVE)
        {
            // the displacement counts from the end of the instruction, whose length the first pass found
            bound.displacement(ripDisplacement(regs, address, length));
            length = encodeMov(byteOpcode, moffsOpcode, size, reg, bound);
        }
        return length;
    }

    /**
     * A load from {@code address} into {@code dstReg}: sets the address registers of {@code form}, then writes the
     * bytes.
     *
     * @param memory   guest memory to write the instruction into.
     * @param gpaOfRip guest-physical address of RIP.
     * @param regs     the vCPU registers; RIP must be the linear address of {@code gpaOfRip}.
     * @param size     access size: 1, 2, 4 or 8.
     * @param dstReg   the destination register, 0-15; RAX for moffs.
     * @param form     how the address is formed.
     * @param address  the linear address to access.
     * @return the instruction's length.
     */
    public int encodeLoad(
        final GuestMemory memory,
        final long gpaOfRip,
        final X86Registers regs,
        final int size,
        final int dstReg,
        final AddressingForm form,
        final long address)
    {
        return place(memory, gpaOfRip,
            encodeMovAt(MOV_LOAD_BYTE, MOV_LOAD_AL_MOFFS, size, dstReg, form, regs, address));
    }

    /**
     * A store of an immediate to {@code address}: sets the address registers of {@code form}, then writes the
     * bytes.
     *
     * @param memory    guest memory to write the instruction into.
     * @param gpaOfRip  guest-physical address of RIP.
     * @param regs      the vCPU registers; RIP must be the linear address of {@code gpaOfRip}.
     * @param size      access size: 1, 2, 4 or 8.
     * @param immediate the value (see {@link #storeImmediate}).
     * @param form      how the address is formed (not {@link AddressingForm#MOFFS}).
     * @param address   the linear address to access.
     * @return the instruction's length.
     */
    public int encodeStoreImmediate(
        final GuestMemory memory,
        final long gpaOfRip,
        final X86Registers regs,
        final int size,
        final long immediate,
        final AddressingForm form,
        final long address)
    {
        bind(form, regs, address);
        int length = storeImmediate(memory, gpaOfRip, size, immediate, bound);
        if (form == AddressingForm.RIP_RELATIVE)
        {
            bound.displacement(ripDisplacement(regs, address, length));
            length = storeImmediate(memory, gpaOfRip, size, immediate, bound);
        }
        return length;
    }

    /**
     * A MOVZX load from {@code address}: sets the address registers of {@code form}, then writes the bytes.
     *
     * @param memory          guest memory to write the instruction into.
     * @param gpaOfRip        guest-physical address of RIP.
     * @param regs            the vCPU registers; RIP must be the linear address of {@code gpaOfRip}.
     * @param accessSize      1 or 2.
     * @param destinationSize 2, 4 or 8, larger than {@code accessSize}.
     * @param dstReg          the destination register, 0-15.
     * @param form            how the address is formed (not {@link AddressingForm#MOFFS}).
     * @param address         the linear address to access.
     * @return the instruction's length.
     */
    public int encodeLoadZeroExtend(
        final GuestMemory memory,
        final long gpaOfRip,
        final X86Registers regs,
        final int accessSize,
        final int destinationSize,
        final int dstReg,
        final AddressingForm form,
        final long address)
    {
        return encodeExtendAt(memory, gpaOfRip, regs, MOVZX_BYTE, accessSize, destinationSize, dstReg, form, address);
    }

    /**
     * A MOVSX load from {@code address}: sets the address registers of {@code form}, then writes the bytes.
     *
     * @param memory          guest memory to write the instruction into.
     * @param gpaOfRip        guest-physical address of RIP.
     * @param regs            the vCPU registers; RIP must be the linear address of {@code gpaOfRip}.
     * @param accessSize      1 or 2.
     * @param destinationSize 2, 4 or 8, larger than {@code accessSize}.
     * @param dstReg          the destination register, 0-15.
     * @param form            how the address is formed (not {@link AddressingForm#MOFFS}).
     * @param address         the linear address to access.
     * @return the instruction's length.
     */
    public int encodeLoadSignExtend(
        final GuestMemory memory,
        final long gpaOfRip,
        final X86Registers regs,
        final int accessSize,
        final int destinationSize,
        final int dstReg,
        final AddressingForm form,
        final long address)
    {
        return encodeExtendAt(memory, gpaOfRip, regs, MOVSX_BYTE, accessSize, destinationSize, dstReg, form, address);
    }

    /**
     * {@code out %al/%ax/%eax,(%dx)}: EE / 66 EF / EF. Sets DX to the port and AL/AX/EAX to the value.
     *
     * @param memory   guest memory to write the instruction into.
     * @param gpaOfRip guest-physical address of RIP.
     * @param regs     the vCPU registers.
     * @param size     1, 2 or 4.
     * @param port     0-0xFFFF.
     * @param value    the value to write.
     * @return the instruction's length.
     */
    public int encodeOut(
        final GuestMemory memory,
        final long gpaOfRip,
        final X86Registers regs,
        final int size,
        final int port,
        final long value)
    {
        checkPort(port, 0xFFFF);
        final int length = encodePortIo(OUT_DX_BYTE, size, -1);
        regs.write(X86Registers.RDX, Short.BYTES, false, port);
        regs.write(X86Registers.RAX, size, false, value);
        return place(memory, gpaOfRip, length);
    }

    /**
     * {@code out %al/%ax/%eax,$port}: E6 ib / 66 E7 ib / E7 ib. Sets AL/AX/EAX to the value.
     *
     * @param memory   guest memory to write the instruction into.
     * @param gpaOfRip guest-physical address of RIP.
     * @param regs     the vCPU registers.
     * @param size     1, 2 or 4.
     * @param port     0-0xFF.
     * @param value    the value to write.
     * @return the instruction's length.
     */
    public int encodeOutImmediate(
        final GuestMemory memory,
        final long gpaOfRip,
        final X86Registers regs,
        final int size,
        final int port,
        final long value)
    {
        checkPort(port, 0xFF);
        final int length = encodePortIo(OUT_IMM_BYTE, size, port);
        regs.write(X86Registers.RAX, size, false, value);
        return place(memory, gpaOfRip, length);
    }

    /**
     * {@code in (%dx),%al/%ax/%eax}: EC / 66 ED / ED. Sets DX to the port.
     *
     * @param memory   guest memory to write the instruction into.
     * @param gpaOfRip guest-physical address of RIP.
     * @param regs     the vCPU registers.
     * @param size     1, 2 or 4.
     * @param port     0-0xFFFF.
     * @return the instruction's length.
     */
    public int encodeIn(
        final GuestMemory memory, final long gpaOfRip, final X86Registers regs, final int size, final int port)
    {
        checkPort(port, 0xFFFF);
        final int length = encodePortIo(IN_DX_BYTE, size, -1);
        regs.write(X86Registers.RDX, Short.BYTES, false, port);
        return place(memory, gpaOfRip, length);
    }

    /**
     * {@code in $port,%al/%ax/%eax}: E4 ib / 66 E5 ib / E5 ib.
     *
     * @param memory   guest memory to write the instruction into.
     * @param gpaOfRip guest-physical address of RIP.
     * @param size     1, 2 or 4.
     * @param port     0-0xFF.
     * @return the instruction's length.
     */
    public int encodeInImmediate(final GuestMemory memory, final long gpaOfRip, final int size, final int port)
    {
        checkPort(port, 0xFF);
        return place(memory, gpaOfRip, encodePortIo(IN_IMM_BYTE, size, port));
    }

    private int encodeExtendAt(
        final GuestMemory memory,
        final long gpaOfRip,
        final X86Registers regs,
        final int byteOpcode,
        final int accessSize,
        final int destinationSize,
        final int dstReg,
        final AddressingForm form,
        final long address)
    {
        bind(form, regs, address);
        int length = encodeExtend(byteOpcode, accessSize, destinationSize, dstReg, bound);
        if (form == AddressingForm.RIP_RELATIVE)
        {
            bound.displacement(ripDisplacement(regs, address, length));
            length = encodeExtend(byteOpcode, accessSize, destinationSize, dstReg, bound);
        }
        return place(memory, gpaOfRip, length);
    }

    /** Sets the registers and {@link #bound} so that the operand of {@code form} resolves to {@code address}. */
    private void bind(final AddressingForm form, final X86Registers regs, final long address)
    {
        bound.reset();
        switch (form)
        {
            case BASE, BASE_DISP8, BASE_DISP32 ->
            {
                bound.base(AddressingForm.BASE_REGISTER).displacement(form.displacement());
                regs.gpr(AddressingForm.BASE_REGISTER, address - form.displacement());
            }
            case BASE_INDEX_SCALE ->
            {
                bound.base(AddressingForm.BASE_REGISTER).index(AddressingForm.INDEX_REGISTER)
                    .scale(AddressingForm.SCALE).displacement(form.displacement());
                regs.gpr(AddressingForm.INDEX_REGISTER, AddressingForm.INDEX_VALUE);
                regs.gpr(AddressingForm.BASE_REGISTER,
                    address - form.displacement() - AddressingForm.INDEX_VALUE * AddressingForm.SCALE);
            }
            case RIP_RELATIVE -> bound.ripRelative(true);
            case ABSOLUTE ->
            {
                if (!fitsSigned(address, Integer.BYTES))
                {
                    throw new IllegalArgumentException(
                        "absolute address must be a sign-extended 32-bit value: address=0x"
                            + Long.toHexString(address));
                }
                bound.displacement(address);
            }
            case MOFFS -> bound.moffs(true).displacement(address);
            default -> throw new IllegalArgumentException("unknown addressing form: form=" + form);
        }
    }

    private static long ripDisplacement(final X86Registers regs, final long address, final int length)
    {
        final long displacement = address - (regs.rip() + length);
        if (!fitsSigned(displacement, Integer.BYTES))
        {
            throw new IllegalArgumentException("rip-relative target is more than 2 GiB away: address=0x"
                + Long.toHexString(address) + ", rip=0x" + Long.toHexString(regs.rip()));
        }
        return displacement;
    }

    private int encodeMov(
        final int byteOpcode, final int moffsByteOpcode, final int size, final int reg, final MemoryOperand operand)
    {
        checkSize(size);
        checkRegister(reg);
        final int sizeBit = size == 1 ? 0 : 1;
        if (operand.moffs())
        {
            if (reg != X86Registers.RAX)
            {
                throw new IllegalArgumentException("a moffs access uses al/ax/eax/rax only: reg=" + reg);
            }
            return encode(size, false, moffsByteOpcode + sizeBit, 0, false, operand, NO_IMMEDIATE, 0);
        }
        return encode(size, false, byteOpcode + sizeBit, reg, size == 1, operand, NO_IMMEDIATE, 0);
    }

    private int encodeExtend(
        final int byteOpcode,
        final int accessSize,
        final int destinationSize,
        final int reg,
        final MemoryOperand operand)
    {
        final boolean validAccess = accessSize == Byte.BYTES || accessSize == Short.BYTES;
        final boolean validDestination = destinationSize == Short.BYTES || destinationSize == Integer.BYTES
            || destinationSize == Long.BYTES;
        if (!validAccess || !validDestination || destinationSize <= accessSize)
        {
            throw new IllegalArgumentException("movzx/movsx extend 1 or 2 bytes to 2, 4 or 8: accessSize="
                + accessSize + ", destinationSize=" + destinationSize);
        }
        checkRegister(reg);
        checkNotMoffs(operand);
        return encode(destinationSize, true, byteOpcode + accessSize - 1, reg, false, operand, NO_IMMEDIATE, 0);
    }

    private int encodePortIo(final int byteOpcode, final int size, final int immediatePort)
    {
        if (size != 1 && size != 2 && size != 4)
        {
            throw new IllegalArgumentException("port i/o size must be 1, 2 or 4: size=" + size);
        }
        int pos = 0;
        if (size == 2)
        {
            code[pos++] = (byte)PREFIX_OPERAND_SIZE;
        }
        code[pos++] = (byte)(byteOpcode + (size == 1 ? 0 : 1));
        if (immediatePort >= 0)
        {
            code[pos++] = (byte)immediatePort;
        }
        return pos;
    }

    /**
     * Encodes prefixes, opcode, ModRM/SIB/displacement (or the moffs address) and immediate into {@link #code}.
     *
     * @param operandSize 1, 2, 4 or 8: selects 66 or REX.W.
     * @param twoByte     whether the opcode follows a 0F escape.
     * @param opcode      the opcode byte.
     * @param reg         the ModRM.reg value (register or opcode extension), 0-15.
     * @param byteReg     whether {@code reg} is an 8-bit register (4-7 then need a REX prefix).
     * @return the length.
     */
    private int encode(
        final int operandSize,
        final boolean twoByte,
        final int opcode,
        final int reg,
        final boolean byteReg,
        final MemoryOperand operand,
        final int immediateSize,
        final long immediate)
    {
        checkOperand(operand);
        final int base = operand.base();
        final int index = operand.index();
        int pos = 0;
        if (operand.segment() != SegmentOverride.NONE)
        {
            code[pos++] = (byte)operand.segment().prefix();
        }
        if (operand.addressSize() == Integer.BYTES)
        {
            code[pos++] = (byte)PREFIX_ADDRESS_SIZE;
        }
        if (operandSize == Short.BYTES)
        {
            code[pos++] = (byte)PREFIX_OPERAND_SIZE;
        }
        int rex = operandSize == Long.BYTES ? REX_W : 0;
        if (!operand.moffs())
        {
            rex |= (reg >= 8 ? REX_R : 0)
                | (index != MemoryOperand.NONE && index >= 8 ? REX_X : 0)
                | (base != MemoryOperand.NONE && base >= 8 ? REX_B : 0);
        }
        if (rex != 0 || (byteReg && reg >= X86Registers.RSP))
        {
            code[pos++] = (byte)(REX_BASE | rex);
        }
        if (twoByte)
        {
            code[pos++] = (byte)TWO_BYTE_ESCAPE;
        }
        code[pos++] = (byte)opcode;

        if (operand.moffs())
        {
            return putLE(pos, operand.displacement(), operand.addressSize());
        }
        final int regBits = (reg & 7) << 3;
        final long displacement = operand.displacement();
        if (operand.ripRelative())
        {
            code[pos++] = (byte)(regBits | RM_DISP32);
            pos = putLE(pos, displacement, Integer.BYTES);
        }
        else if (base == MemoryOperand.NONE)
        {
            code[pos++] = (byte)(regBits | RM_SIB);
            code[pos++] = (byte)(sibScaleIndex(operand) | SIB_NO_BASE);
            pos = putLE(pos, displacement, Integer.BYTES);
        }
        else
        {
            final int displacementSize = displacement == 0 && (base & 7) != RM_DISP32 ? 0
                : fitsSigned(displacement, Byte.BYTES) ? Byte.BYTES : Integer.BYTES;
            final int mod = displacementSize == 0 ? 0 : displacementSize == Byte.BYTES ? 1 : 2;
            if (index != MemoryOperand.NONE || (base & 7) == RM_SIB)
            {
                code[pos++] = (byte)((mod << 6) | regBits | RM_SIB);
                code[pos++] = (byte)(sibScaleIndex(operand) | (base & 7));
            }
            else
            {
                code[pos++] = (byte)((mod << 6) | regBits | (base & 7));
            }
            pos = putLE(pos, displacement, displacementSize);
        }
        return putLE(pos, immediate, immediateSize);
    }

    private static int sibScaleIndex(final MemoryOperand operand)
    {
        final int index = operand.index();
        if (index == MemoryOperand.NONE)
        {
            return SIB_NO_INDEX << 3;
        }
        return (Integer.numberOfTrailingZeros(operand.scale()) << 6) | ((index & 7) << 3);
    }

    private int putLE(final int offset, final long value, final int size)
    {
        // bound: size is 0, 1, 2, 4 or 8
        for (int i = 0; i < size; i++)
        {
            code[offset + i] = (byte)(value >>> (Byte.SIZE * i));
        }
        return offset + size;
    }

    private int place(final GuestMemory memory, final long gpa, final int length)
    {
        // bound: an instruction is at most 15 bytes
        for (int i = 0; i < length; i++)
        {
            memory.putByte(gpa + i, code[i]);
        }
        return length;
    }

    private static void checkOperand(final MemoryOperand operand)
    {
        final int base = operand.base();
        final int index = operand.index();
        final int addressSize = operand.addressSize();
        if (addressSize != Integer.BYTES && addressSize != Long.BYTES)
        {
            throw new IllegalArgumentException("address size must be 4 or 8: addressSize=" + addressSize);
        }
        if ((base != MemoryOperand.NONE && (base < 0 || base > X86Registers.R15))
            || (index != MemoryOperand.NONE && (index < 0 || index > X86Registers.R15)))
        {
            throw new IllegalArgumentException("base and index must be registers 0-15: base=" + base
                + ", index=" + index);
        }
        if (index == X86Registers.RSP)
        {
            throw new IllegalArgumentException("rsp cannot be an index register: index=" + index);
        }
        final int scale = operand.scale();
        if (index != MemoryOperand.NONE && scale != 1 && scale != 2 && scale != 4 && scale != 8)
        {
            throw new IllegalArgumentException("scale must be 1, 2, 4 or 8: scale=" + scale);
        }
        final boolean special = operand.ripRelative() || operand.moffs();
        if (special && (base != MemoryOperand.NONE || index != MemoryOperand.NONE))
        {
            throw new IllegalArgumentException("rip-relative and moffs operands take no base or index: base=" + base
                + ", index=" + index);
        }
        final long displacement = operand.displacement();
        final boolean fits = operand.moffs()
            ? addressSize == Long.BYTES || fitsUnsigned(displacement, Integer.BYTES)
            : fitsSigned(displacement, Integer.BYTES)
                || (addressSize == Integer.BYTES && fitsUnsigned(displacement, Integer.BYTES));
        if (!fits)
        {
            throw new IllegalArgumentException("displacement does not fit its encoding: displacement=0x"
                + Long.toHexString(displacement) + ", addressSize=" + addressSize);
        }
    }

    private static void checkNotMoffs(final MemoryOperand operand)
    {
        if (operand.moffs())
        {
            throw new IllegalArgumentException("only mov al/ax/eax/rax has a moffs form: moffs=true");
        }
    }

    private static void checkSize(final int size)
    {
        if (size != 1 && size != 2 && size != 4 && size != 8)
        {
            throw new IllegalArgumentException("access size must be 1, 2, 4 or 8: size=" + size);
        }
    }

    private static void checkRegister(final int reg)
    {
        if (reg < 0 || reg > X86Registers.R15)
        {
            throw new IllegalArgumentException("register must be 0-15: reg=" + reg);
        }
    }

    private static void checkDataRegister(final AddressingForm form, final int reg)
    {
        if (form.usesRegister(reg))
        {
            throw new IllegalArgumentException("data register is also an address register: reg=" + reg
                + ", form=" + form);
        }
    }

    private static void checkPort(final int port, final int max)
    {
        if (port < 0 || port > max)
        {
            throw new IllegalArgumentException("port out of range: port=0x" + Integer.toHexString(port)
                + ", max=0x" + Integer.toHexString(max));
        }
    }

    private static boolean fitsSigned(final long value, final int bytes)
    {
        final int shift = Long.SIZE - Byte.SIZE * bytes;
        return (value << shift) >> shift == value;
    }

    private static boolean fitsUnsigned(final long value, final int bytes)
    {
        return bytes == Long.BYTES || (value >>> (Byte.SIZE * bytes)) == 0;
    }
}
