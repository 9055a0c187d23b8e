package io.jvirtio.bus.x86;

/**
 * One decoded memory-access instruction: a reusable, mutable result that {@link InstructionDecoder} fills, so a
 * decode allocates nothing. It also carries the three steps the exit handler takes after decoding: the address
 * ({@link #linearAddress}), the data of a store ({@link #storeValue}) and the completion of a load
 * ({@link #completeLoad}), then {@link #advanceRip}.
 * <p>
 * After a decode that did not return {@link DecodeStatus#OK}, only {@link #status()} and {@link #failOffset()} mean
 * anything.
 * <p>
 * Thread safety: mutable; owned by one vCPU thread.
 */
public final class DecodedInstruction
{
    /** No register operand (a store of an immediate). */
    public static final int NO_REGISTER = -1;

    private static final long LOW32 = 0xFFFF_FFFFL;

    private final MemoryOperand operand = new MemoryOperand();
    private DecodeStatus status = DecodeStatus.TRUNCATED;
    private InstructionKind kind = InstructionKind.NONE;
    private int length;
    private int failOffset;
    private int opcode;
    private int rex;
    private int accessSize;
    private int destinationSize;
    private int register = NO_REGISTER;
    private boolean highByte;
    private long immediate;

    /** @return the outcome of the last decode into this object. */
    public DecodeStatus status()
    {
        return status;
    }

    /** @return the instruction's length in bytes, prefixes included (1-15). */
    public int length()
    {
        return length;
    }

    /**
     * @return after a failure, the offset of the byte that made the decode fail (the opcode for an unknown one,
     *     the LOCK or REP prefix, the ModRM byte for a register operand, the first missing byte when truncated, 15
     *     when too long).
     */
    public int failOffset()
    {
        return failOffset;
    }

    /** @return what the instruction does. */
    public InstructionKind kind()
    {
        return kind;
    }

    /** @return true if the memory access is a write. */
    public boolean isWrite()
    {
        return kind.isWrite();
    }

    /** @return the opcode: one byte, or 0x0Fxx for the two-byte MOVZX/MOVSX opcodes. */
    public int opcode()
    {
        return opcode;
    }

    /** @return the REX prefix in effect (0x40-0x4F), or 0 if there is none. */
    public int rex()
    {
        return rex;
    }

    /** @return the width of the memory access in bytes: 1, 2, 4 or 8. */
    public int accessSize()
    {
        return accessSize;
    }

    /**
     * @return the width of the destination register for loads: the access size for MOV, the operand size (2, 4
     *     or 8) for MOVZX and MOVSX; for stores, the access size.
     */
    public int destinationSize()
    {
        return destinationSize;
    }

    /**
     * @return the register operand (the source of a store, the destination of a load), 0-15, or
     *     {@link #NO_REGISTER} for a store of an immediate. With {@link #highByte()} it is 0-3, meaning AH-BH.
     */
    public int register()
    {
        return register;
    }

    /** @return true if the register operand is AH, CH, DH or BH (bits 15:8 of register 0-3). */
    public boolean highByte()
    {
        return highByte;
    }

    /**
     * @return for {@link InstructionKind#STORE_IMM}, the value stored: the immediate of the access size,
     *     zero-extended into the long, except that a 64-bit store holds the imm32 sign-extended to 64 bits.
     */
    public long immediate()
    {
        return immediate;
    }

    /** @return the memory operand. */
    public MemoryOperand operand()
    {
        return operand;
    }

    /**
     * @param regs the vCPU registers; RIP must still point at this instruction.
     * @return the effective address of the memory operand.
     */
    public long effectiveAddress(final X86Registers regs)
    {
        return operand.effectiveAddress(regs, regs.rip() + length);
    }

    /**
     * @param regs the vCPU registers; RIP must still point at this instruction.
     * @return the linear address of the access (effective address plus the FS/GS base where overridden).
     */
    public long linearAddress(final X86Registers regs)
    {
        return operand.linearAddress(regs, regs.rip() + length);
    }

    /**
     * The data of a store, as the processor would put it on the bus.
     *
     * @param regs the vCPU registers.
     * @return the low {@link #accessSize()} bytes of the source register or the immediate, zero-extended.
     * @throws IllegalStateException if the instruction is not a store.
     */
    public long storeValue(final X86Registers regs)
    {
        if (kind == InstructionKind.STORE_REG)
        {
            return regs.read(register, accessSize, highByte);
        }
        if (kind == InstructionKind.STORE_IMM)
        {
            return accessSize == Long.BYTES ? immediate : immediate & mask(accessSize);
        }
        throw new IllegalStateException("not a store: kind=" + kind);
    }

    /**
     * Completes a load: writes the value read from memory into the destination register with the instruction's
     * extension (Intel SDM Vol. 2A "MOV", "MOVZX", "MOVSX"; register write rules in {@link X86Registers}).
     * <ul>
     *     <li>MOV: 8- and 16-bit loads keep the register's other bits (AH-BH included); a 32-bit load
     *     zero-extends to 64 bits.</li>
     *     <li>MOVZX/MOVSX: the access-size value is zero- or sign-extended to the destination size, then written
     *     with the same rules (a 16-bit destination keeps bits 63:16, a 32-bit one clears bits 63:32).</li>
     * </ul>
     * RFLAGS are unchanged, as MOV, MOVZX and MOVSX leave them.
     *
     * @param regs  the vCPU registers.
     * @param value the data read; bits above the access size are ignored.
     * @throws IllegalStateException if the instruction is not a load.
     */
    public void completeLoad(final X86Registers regs, final long value)
    {
        final long data = accessSize == Long.BYTES ? value : value & mask(accessSize);
        switch (kind)
        {
            case LOAD:
                regs.write(register, accessSize, highByte, data);
                break;
            case LOAD_ZERO_EXTEND:
                regs.write(register, destinationSize, false, data);
                break;
            case LOAD_SIGN_EXTEND:
                final int shift = Long.SIZE - Byte.SIZE * accessSize;
                regs.write(register, destinationSize, false, (data << shift) >> shift);
                break;
            default:
                throw new IllegalStateException("not a load: kind=" + kind);
        }
    }

    /**
     * Moves RIP past the instruction, as completing it does in 64-bit mode.
     *
     * @param regs the vCPU registers.
     */
    public void advanceRip(final X86Registers regs)
    {
        regs.rip(regs.rip() + length);
    }

    private static long mask(final int size)
    {
        return size == Integer.BYTES ? LOW32 : (1L << (Byte.SIZE * size)) - 1;
    }

    void clear()
    {
        operand.reset();
        status = DecodeStatus.TRUNCATED;
        kind = InstructionKind.NONE;
        length = 0;
        failOffset = 0;
        opcode = 0;
        rex = 0;
        accessSize = 0;
        destinationSize = 0;
        register = NO_REGISTER;
        highByte = false;
        immediate = 0;
    }

    DecodeStatus fail(final DecodeStatus failure, final int offset)
    {
        status = failure;
        failOffset = offset;
        kind = InstructionKind.NONE;
        return failure;
    }

    DecodeStatus succeed(final int instructionLength)
    {
        status = DecodeStatus.OK;
        length = instructionLength;
        return DecodeStatus.OK;
    }

    void set(
        final InstructionKind instructionKind,
        final int opcodeValue,
        final int rexPrefix,
        final int size,
        final int destSize)
    {
        kind = instructionKind;
        opcode = opcodeValue;
        rex = rexPrefix;
        accessSize = size;
        destinationSize = destSize;
    }

    void register(final int reg, final boolean high)
    {
        register = reg;
        highByte = high;
    }

    void immediate(final long value)
    {
        immediate = value;
    }

    @Override
    public String toString()
    {
        if (status != DecodeStatus.OK)
        {
            return "DecodedInstruction{status=" + status + ", failOffset=" + failOffset + '}';
        }
        return "DecodedInstruction{kind=" + kind
            + ", length=" + length
            + ", opcode=0x" + Integer.toHexString(opcode)
            + ", accessSize=" + accessSize
            + ", destinationSize=" + destinationSize
            + ", register=" + register + (highByte ? "h" : "")
            + ", immediate=0x" + Long.toHexString(immediate)
            + ", operand=" + operand + '}';
    }
}
