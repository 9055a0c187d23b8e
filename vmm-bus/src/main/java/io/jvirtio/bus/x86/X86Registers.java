package io.jvirtio.bus.x86;

/**
 * The x86-64 state a vCPU needs for the MMIO exit path: the sixteen general-purpose registers, RIP, RFLAGS, CR0,
 * CR3, CR4, EFER and the FS and GS segment bases.
 * <p>
 * General-purpose registers are numbered as the instruction encoding numbers them (Intel SDM Vol. 2A §2.1.5,
 * Table 2-2, extended by REX.R/X/B in §2.2.1): {@link #RAX} = 0 ... {@link #R15} = 15.
 * <p>
 * Partial writes follow the processor (Intel SDM Vol. 1 §3.4.1.1 "General-Purpose Registers in 64-Bit Mode"): a
 * 32-bit write zero-extends into the whole 64-bit register; an 8- or 16-bit write leaves the other bits as they were.
 * An 8-bit operand names either a low byte or, for register numbers 0-3 with {@code highByte}, AH/CH/DH/BH (bits
 * 15:8). Which of the two an encoded 8-bit register number 4-7 means depends on a REX prefix: see
 * {@link #isHighByteEncoding(int, boolean)}.
 * <p>
 * Thread safety: plain mutable state owned by one vCPU thread; it is not safe to share without external
 * synchronisation.
 */
public final class X86Registers
{
    /** RAX, register 0 (AL, AX, EAX). */
    public static final int RAX = 0;
    /** RCX, register 1. */
    public static final int RCX = 1;
    /** RDX, register 2 (DX holds the port of IN/OUT). */
    public static final int RDX = 2;
    /** RBX, register 3. */
    public static final int RBX = 3;
    /** RSP, register 4 (SPL with REX; AH without, as a byte register). */
    public static final int RSP = 4;
    /** RBP, register 5. */
    public static final int RBP = 5;
    /** RSI, register 6. */
    public static final int RSI = 6;
    /** RDI, register 7. */
    public static final int RDI = 7;
    /** R8, register 8 (needs REX.R, REX.X or REX.B to encode). */
    public static final int R8 = 8;
    /** R9, register 9 (needs REX.R, REX.X or REX.B to encode). */
    public static final int R9 = 9;
    /** R10, register 10 (needs REX.R, REX.X or REX.B to encode). */
    public static final int R10 = 10;
    /** R11, register 11 (needs REX.R, REX.X or REX.B to encode). */
    public static final int R11 = 11;
    /** R12, register 12 (needs REX.R, REX.X or REX.B to encode). */
    public static final int R12 = 12;
    /** R13, register 13 (needs REX.R, REX.X or REX.B to encode). */
    public static final int R13 = 13;
    /** R14, register 14 (needs REX.R, REX.X or REX.B to encode). */
    public static final int R14 = 14;
    /** R15, register 15 (needs REX.R, REX.X or REX.B to encode). */
    public static final int R15 = 15;

    /** Number of general-purpose registers in 64-bit mode. */
    public static final int GPR_COUNT = 16;

    /** CR0.PE, protected mode enable (bit 0). Intel SDM Vol. 3A §2.5. */
    public static final long CR0_PE = 1L;
    /** CR0.WP, write protect (bit 16): supervisor writes honour read-only pages. Intel SDM Vol. 3A §2.5. */
    public static final long CR0_WP = 1L << 16;
    /** CR0.PG, paging (bit 31). Intel SDM Vol. 3A §2.5. */
    public static final long CR0_PG = 1L << 31;
    /** CR4.PAE, physical address extension (bit 5), required for 4-level paging. Intel SDM Vol. 3A §2.5. */
    public static final long CR4_PAE = 1L << 5;
    /** CR4.LA57, 5-level paging (bit 12); not modelled, so the vCPU keeps it clear. Intel SDM Vol. 3A §2.5. */
    public static final long CR4_LA57 = 1L << 12;
    /** IA32_EFER.LME, long mode enable (bit 8). Intel SDM Vol. 3A §2.2.1. */
    public static final long EFER_LME = 1L << 8;
    /** IA32_EFER.LMA, long mode active (bit 10). Intel SDM Vol. 3A §2.2.1. */
    public static final long EFER_LMA = 1L << 10;
    /** IA32_EFER.NXE, execute-disable enable (bit 11). Intel SDM Vol. 3A §2.2.1. */
    public static final long EFER_NXE = 1L << 11;
    /** RFLAGS bit 1, reserved and always 1. Intel SDM Vol. 1 §3.4.3. */
    public static final long RFLAGS_FIXED = 1L << 1;

    private static final long LOW8 = 0xFFL;
    private static final long HIGH8 = 0xFF00L;
    private static final long LOW16 = 0xFFFFL;
    private static final long LOW32 = 0xFFFF_FFFFL;

    private final long[] gpr = new long[GPR_COUNT];
    private long rip;
    private long rflags = RFLAGS_FIXED;
    private long cr0;
    private long cr3;
    private long cr4;
    private long efer;
    private long fsBase;
    private long gsBase;

    /**
     * The meaning of an 8-bit register number in a ModRM or opcode field (Intel SDM Vol. 2A §2.2.1.2, Table 3-1):
     * without any REX prefix, 4-7 name AH, CH, DH, BH; with one (even 40h, no bits set), they name SPL, BPL, SIL,
     * DIL.
     *
     * @param encoded the register number as encoded, 0-15 (already extended by REX.R or REX.B).
     * @param rex     whether the instruction has a REX prefix.
     * @return true if the operand is bits 15:8 of register {@code encoded - 4}.
     */
    public static boolean isHighByteEncoding(final int encoded, final boolean rex)
    {
        return !rex && encoded >= RSP && encoded <= RDI;
    }

    /**
     * @param reg 0-15.
     * @return the full 64-bit value of the register.
     */
    public long gpr(final int reg)
    {
        return gpr[reg];
    }

    /**
     * Sets all 64 bits of a register.
     *
     * @param reg   0-15.
     * @param value the value.
     * @return this.
     */
    public X86Registers gpr(final int reg, final long value)
    {
        gpr[reg] = value;
        return this;
    }

    /**
     * Reads an operand of {@code size} bytes from a register, zero-extended to 64 bits.
     *
     * @param reg      0-15; with {@code highByte}, 0-3.
     * @param size     1, 2, 4 or 8.
     * @param highByte for size 1: read bits 15:8 (AH, CH, DH, BH) instead of bits 7:0.
     * @return the operand.
     * @throws IllegalArgumentException for another size, or a high byte of a register above RBX.
     */
    public long read(final int reg, final int size, final boolean highByte)
    {
        final long value = gpr[reg];
        switch (size)
        {
            case 1:
                if (highByte)
                {
                    checkHighByte(reg);
                    return (value >>> 8) & LOW8;
                }
                return value & LOW8;
            case 2:
                return value & LOW16;
            case 4:
                return value & LOW32;
            case 8:
                return value;
            default:
                throw badSize(size);
        }
    }

    /**
     * Writes an operand of {@code size} bytes to a register as the processor does: 8- and 16-bit writes keep the
     * other bits, a 32-bit write zero-extends to 64 bits, a 64-bit write replaces the register.
     *
     * @param reg      0-15; with {@code highByte}, 0-3.
     * @param size     1, 2, 4 or 8.
     * @param highByte for size 1: write bits 15:8 (AH, CH, DH, BH) instead of bits 7:0.
     * @param value    the operand; bits above {@code 8 * size} are ignored.
     * @throws IllegalArgumentException for another size, or a high byte of a register above RBX.
     */
    public void write(final int reg, final int size, final boolean highByte, final long value)
    {
        final long old = gpr[reg];
        switch (size)
        {
            case 1:
                if (highByte)
                {
                    checkHighByte(reg);
                    gpr[reg] = (old & ~HIGH8) | ((value & LOW8) << 8);
                }
                else
                {
                    gpr[reg] = (old & ~LOW8) | (value & LOW8);
                }
                break;
            case 2:
                gpr[reg] = (old & ~LOW16) | (value & LOW16);
                break;
            case 4:
                gpr[reg] = value & LOW32;
                break;
            case 8:
                gpr[reg] = value;
                break;
            default:
                throw badSize(size);
        }
    }

    /**
     * Reads an 8-bit register by its encoded number, applying the REX rule of
     * {@link #isHighByteEncoding(int, boolean)}.
     *
     * @param encoded 0-15 as encoded.
     * @param rex     whether the instruction has a REX prefix.
     * @return the byte, zero-extended.
     */
    public long readByteEncoded(final int encoded, final boolean rex)
    {
        return isHighByteEncoding(encoded, rex) ? read(encoded - RSP, 1, true) : read(encoded, 1, false);
    }

    /**
     * Writes an 8-bit register by its encoded number, applying the REX rule of
     * {@link #isHighByteEncoding(int, boolean)}.
     *
     * @param encoded 0-15 as encoded.
     * @param rex     whether the instruction has a REX prefix.
     * @param value   the byte; higher bits are ignored.
     */
    public void writeByteEncoded(final int encoded, final boolean rex, final long value)
    {
        if (isHighByteEncoding(encoded, rex))
        {
            write(encoded - RSP, 1, true, value);
        }
        else
        {
            write(encoded, 1, false, value);
        }
    }

    /** @return RIP, the linear address of the current instruction. */
    public long rip()
    {
        return rip;
    }

    /**
     * Sets RIP.
     *
     * @param value the new value.
     * @return this.
     */
    public X86Registers rip(final long value)
    {
        rip = value;
        return this;
    }

    /** @return RFLAGS. */
    public long rflags()
    {
        return rflags;
    }

    /**
     * Sets RFLAGS; bit 1 stays set as the processor keeps it.
     *
     * @param value the new value.
     * @return this.
     */
    public X86Registers rflags(final long value)
    {
        rflags = value | RFLAGS_FIXED;
        return this;
    }

    /** @return CR0. */
    public long cr0()
    {
        return cr0;
    }

    /**
     * Sets CR0.
     *
     * @param value the new value.
     * @return this.
     */
    public X86Registers cr0(final long value)
    {
        cr0 = value;
        return this;
    }

    /** @return CR3: the PML4 address, with PWT/PCD or PCID in the low bits. */
    public long cr3()
    {
        return cr3;
    }

    /**
     * Sets CR3.
     *
     * @param value the new value.
     * @return this.
     */
    public X86Registers cr3(final long value)
    {
        cr3 = value;
        return this;
    }

    /** @return CR4. */
    public long cr4()
    {
        return cr4;
    }

    /**
     * Sets CR4.
     *
     * @param value the new value.
     * @return this.
     */
    public X86Registers cr4(final long value)
    {
        cr4 = value;
        return this;
    }

    /** @return IA32_EFER. */
    public long efer()
    {
        return efer;
    }

    /**
     * Sets IA32_EFER.
     *
     * @param value the new value.
     * @return this.
     */
    public X86Registers efer(final long value)
    {
        efer = value;
        return this;
    }

    /** @return the FS segment base (IA32_FS_BASE), added to FS-relative data addresses. */
    public long fsBase()
    {
        return fsBase;
    }

    /**
     * Sets IA32_FS_BASE.
     *
     * @param value the new base.
     * @return this.
     */
    public X86Registers fsBase(final long value)
    {
        fsBase = value;
        return this;
    }

    /** @return the GS segment base (IA32_GS_BASE), added to GS-relative data addresses. */
    public long gsBase()
    {
        return gsBase;
    }

    /**
     * Sets IA32_GS_BASE.
     *
     * @param value the new base.
     * @return this.
     */
    public X86Registers gsBase(final long value)
    {
        gsBase = value;
        return this;
    }

    /**
     * Puts the vCPU in the state a 64-bit kernel runs in: protected mode with paging and write protection, PAE,
     * long mode enabled and active, execute-disable enabled, CR3 as given.
     *
     * @param pml4 the CR3 value (guest-physical address of the PML4 table).
     * @return this.
     */
    public X86Registers enterLongMode(final long pml4)
    {
        cr0 = CR0_PE | CR0_WP | CR0_PG;
        cr4 = CR4_PAE;
        efer = EFER_LME | EFER_LMA | EFER_NXE;
        cr3 = pml4;
        return this;
    }

    /** @return true if CR0.PG, CR4.PAE and EFER.LMA are set and CR4.LA57 is clear: 4-level paging is in use. */
    public boolean isFourLevelPaging()
    {
        return (cr0 & CR0_PG) != 0 && (cr4 & CR4_PAE) != 0 && (cr4 & CR4_LA57) == 0 && (efer & EFER_LMA) != 0;
    }

    /**
     * Copies every register of {@code other} into this.
     *
     * @param other the source.
     */
    public void copyFrom(final X86Registers other)
    {
        System.arraycopy(other.gpr, 0, gpr, 0, GPR_COUNT);
        rip = other.rip;
        rflags = other.rflags;
        cr0 = other.cr0;
        cr3 = other.cr3;
        cr4 = other.cr4;
        efer = other.efer;
        fsBase = other.fsBase;
        gsBase = other.gsBase;
    }

    private static void checkHighByte(final int reg)
    {
        if (reg > RBX)
        {
            throw new IllegalArgumentException("only rax, rcx, rdx and rbx have a high byte: reg=" + reg);
        }
    }

    private static IllegalArgumentException badSize(final int size)
    {
        return new IllegalArgumentException("register operand size must be 1, 2, 4 or 8: size=" + size);
    }

    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder(512).append("X86Registers{");
        for (int i = 0; i < GPR_COUNT; i++)
        {
            sb.append(i == 0 ? "" : ", ").append("r").append(i).append("=0x").append(Long.toHexString(gpr[i]));
        }
        return sb.append(", rip=0x").append(Long.toHexString(rip))
            .append(", rflags=0x").append(Long.toHexString(rflags))
            .append(", cr0=0x").append(Long.toHexString(cr0))
            .append(", cr3=0x").append(Long.toHexString(cr3))
            .append(", cr4=0x").append(Long.toHexString(cr4))
            .append(", efer=0x").append(Long.toHexString(efer))
            .append('}').toString();
    }
}
