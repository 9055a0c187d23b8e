package io.jvirtio.bus.x86;

/**
 * The segment of a memory operand as a segment-override prefix names it (Intel SDM Vol. 2A §2.1.1, group 2).
 * <p>
 * In 64-bit mode the ES, CS, SS and DS bases are treated as zero, so those overrides change nothing; FS and GS keep
 * their bases (Intel SDM Vol. 1 §3.3.7.1 "Canonical Addressing" and Vol. 3A §3.4.4), which come from
 * {@link X86Registers#fsBase()} and {@link X86Registers#gsBase()}. {@link #NONE} is the default segment.
 * <p>
 * Thread safety: immutable.
 */
public enum SegmentOverride
{
    /** No override: the instruction's default segment (DS or SS), base 0 in 64-bit mode. */
    NONE(0),
    /** ES override (26h), base 0 in 64-bit mode. */
    ES(0x26),
    /** CS override (2Eh), base 0 in 64-bit mode. */
    CS(0x2E),
    /** SS override (36h), base 0 in 64-bit mode. */
    SS(0x36),
    /** DS override (3Eh), base 0 in 64-bit mode. */
    DS(0x3E),
    /** FS override (64h): adds IA32_FS_BASE. */
    FS(0x64),
    /** GS override (65h): adds IA32_GS_BASE. */
    GS(0x65);

    private final int prefix;

    SegmentOverride(final int prefix)
    {
        this.prefix = prefix;
    }

    /** @return the prefix byte, or 0 for {@link #NONE}. */
    public int prefix()
    {
        return prefix;
    }

    /**
     * @param regs the vCPU state.
     * @return the base this segment adds to an effective address in 64-bit mode.
     */
    public long base(final X86Registers regs)
    {
        return switch (this)
        {
            case FS -> regs.fsBase();
            case GS -> regs.gsBase();
            default -> 0;
        };
    }
}
