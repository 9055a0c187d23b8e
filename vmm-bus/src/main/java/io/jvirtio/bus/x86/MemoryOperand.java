package io.jvirtio.bus.x86;

import java.util.Locale;

/**
 * A memory operand in 64-bit mode: {@code segment:[base + index * scale + displacement]}, RIP-relative, or a
 * 64-bit absolute address (moffs). The decoder fills it from ModRM, SIB and displacement bytes; the guest-side
 * encoder reads it to choose those bytes.
 * <p>
 * Address computation (Intel SDM Vol. 1 §3.7.5 "Specifying an Offset" and §3.7.5.1 "Specifying an Offset in
 * 64-Bit Mode"): the effective address is the sum modulo 2^64, or modulo 2^32 with a 67h address-size prefix, in
 * which case the 32-bit registers are used and the result is zero-extended. RIP-relative addressing adds the
 * displacement to the address of the next instruction. The linear address adds the FS or GS base for those
 * overrides; every other segment has base 0 in 64-bit mode.
 * <p>
 * The fields that choose an encoding ({@link #displacementSize()}) are reported by the decoder for inspection; the
 * encoder picks the shortest encoding itself. Two operands address the same memory when {@link #sameAddress} says
 * so.
 * <p>
 * Thread safety: mutable; owned by one thread (the vCPU thread that decodes or encodes with it).
 */
public final class MemoryOperand
{
    /** No base or no index register. */
    public static final int NONE = -1;

    private static final long LOW32 = 0xFFFF_FFFFL;

    private int base = NONE;
    private int index = NONE;
    private int scale = 1;
    private long displacement;
    private int displacementSize;
    private boolean ripRelative;
    private boolean moffs;
    private int addressSize = Long.BYTES;
    private SegmentOverride segment = SegmentOverride.NONE;

    /**
     * Clears the operand to {@code [displacement 0]} with 64-bit addressing and no override.
     *
     * @return this.
     */
    public MemoryOperand reset()
    {
        base = NONE;
        index = NONE;
        scale = 1;
        displacement = 0;
        displacementSize = 0;
        ripRelative = false;
        moffs = false;
        addressSize = Long.BYTES;
        segment = SegmentOverride.NONE;
        return this;
    }

    /** @return the base register (0-15), or {@link #NONE}. */
    public int base()
    {
        return base;
    }

    /**
     * Sets the base register.
     *
     * @param reg 0-15, or {@link #NONE}.
     * @return this.
     */
    public MemoryOperand base(final int reg)
    {
        base = reg;
        return this;
    }

    /** @return the index register (0-15, never RSP), or {@link #NONE}. */
    public int index()
    {
        return index;
    }

    /**
     * Sets the index register.
     *
     * @param reg 0-15 except RSP, or {@link #NONE}.
     * @return this.
     */
    public MemoryOperand index(final int reg)
    {
        index = reg;
        return this;
    }

    /** @return the scale applied to the index: 1, 2, 4 or 8. */
    public int scale()
    {
        return scale;
    }

    /**
     * Sets the scale of the index.
     *
     * @param factor 1, 2, 4 or 8.
     * @return this.
     */
    public MemoryOperand scale(final int factor)
    {
        scale = factor;
        return this;
    }

    /**
     * @return the displacement, sign-extended to 64 bits from its encoded width (disp8 or disp32), or for moffs the
     *     absolute address (zero-extended from 32 bits with a 67h prefix).
     */
    public long displacement()
    {
        return displacement;
    }

    /**
     * Sets the displacement, or the absolute address of a moffs operand.
     *
     * @param value the value.
     * @return this.
     */
    public MemoryOperand displacement(final long value)
    {
        displacement = value;
        return this;
    }

    /** @return the encoded width of the displacement as decoded: 0, 1, 4, or 8 (moffs); the encoder ignores it. */
    public int displacementSize()
    {
        return displacementSize;
    }

    /**
     * Records the encoded displacement width (the decoder does this).
     *
     * @param bytes 0, 1, 4 or 8.
     * @return this.
     */
    public MemoryOperand displacementSize(final int bytes)
    {
        displacementSize = bytes;
        return this;
    }

    /** @return true for {@code disp32(%rip)}: ModRM mod = 00, rm = 101 in 64-bit mode. */
    public boolean ripRelative()
    {
        return ripRelative;
    }

    /**
     * Makes the operand RIP-relative.
     *
     * @param value true for {@code disp32(%rip)}.
     * @return this.
     */
    public MemoryOperand ripRelative(final boolean value)
    {
        ripRelative = value;
        return this;
    }

    /** @return true for the moffs forms A0-A3, whose address is an immediate of the address size. */
    public boolean moffs()
    {
        return moffs;
    }

    /**
     * Makes the operand a moffs address (opcodes A0-A3).
     *
     * @param value true for moffs.
     * @return this.
     */
    public MemoryOperand moffs(final boolean value)
    {
        moffs = value;
        return this;
    }

    /** @return 8, or 4 with a 67h address-size prefix. */
    public int addressSize()
    {
        return addressSize;
    }

    /**
     * Sets the address size.
     *
     * @param bytes 8, or 4 for a 67h prefix.
     * @return this.
     */
    public MemoryOperand addressSize(final int bytes)
    {
        addressSize = bytes;
        return this;
    }

    /** @return the segment override, or {@link SegmentOverride#NONE}. */
    public SegmentOverride segment()
    {
        return segment;
    }

    /**
     * Sets the segment override.
     *
     * @param value the override, or {@link SegmentOverride#NONE}.
     * @return this.
     */
    public MemoryOperand segment(final SegmentOverride value)
    {
        segment = value;
        return this;
    }

    /**
     * @param regs    the registers the address is formed from.
     * @param nextRip the address of the next instruction (RIP + length), for RIP-relative operands.
     * @return the effective address (the offset within the segment).
     */
    public long effectiveAddress(final X86Registers regs, final long nextRip)
    {
        long address = displacement;
        if (ripRelative)
        {
            address += nextRip;
        }
        if (base != NONE)
        {
            address += regs.gpr(base);
        }
        if (index != NONE)
        {
            address += regs.gpr(index) * scale;
        }
        // with a 67h prefix the sum is formed from 32-bit registers modulo 2^32 and zero-extended; the low 32 bits
        // of a 64-bit sum are the same bits, so truncating once is exact
        return addressSize == Integer.BYTES ? address & LOW32 : address;
    }

    /**
     * @param regs    the registers the address is formed from.
     * @param nextRip the address of the next instruction (RIP + length), for RIP-relative operands.
     * @return the linear address: the effective address plus the FS or GS base where overridden.
     */
    public long linearAddress(final X86Registers regs, final long nextRip)
    {
        return segment.base(regs) + effectiveAddress(regs, nextRip);
    }

    /**
     * @param other another operand.
     * @return true if both address memory the same way (same registers, scale where an index is used, displacement,
     *     RIP-relative and moffs flags, address size and segment), whatever bytes encode them.
     */
    public boolean sameAddress(final MemoryOperand other)
    {
        return base == other.base
            && index == other.index
            && (index == NONE || scale == other.scale)
            && displacement == other.displacement
            && ripRelative == other.ripRelative
            && moffs == other.moffs
            && addressSize == other.addressSize
            && segment == other.segment;
    }

    /**
     * Copies every field of {@code other}.
     *
     * @param other the source.
     * @return this.
     */
    public MemoryOperand copyFrom(final MemoryOperand other)
    {
        base = other.base;
        index = other.index;
        scale = other.scale;
        displacement = other.displacement;
        displacementSize = other.displacementSize;
        ripRelative = other.ripRelative;
        moffs = other.moffs;
        addressSize = other.addressSize;
        segment = other.segment;
        return this;
    }

    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder(64);
        if (segment != SegmentOverride.NONE)
        {
            sb.append(segment.name().toLowerCase(Locale.ROOT)).append(':');
        }
        sb.append(displacement < 0 ? "-0x" : "0x").append(Long.toHexString(Math.abs(displacement)));
        if (ripRelative)
        {
            sb.append("(%rip)");
        }
        else if (base != NONE || index != NONE)
        {
            sb.append("(").append(base == NONE ? "" : "r" + base);
            if (index != NONE)
            {
                sb.append(",r").append(index).append(',').append(scale);
            }
            sb.append(')');
        }
        if (moffs)
        {
            sb.append(" moffs");
        }
        if (addressSize == Integer.BYTES)
        {
            sb.append(" addr32");
        }
        return sb.toString();
    }
}
