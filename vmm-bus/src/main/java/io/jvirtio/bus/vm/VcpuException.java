package io.jvirtio.bus.vm;

/**
 * A vCPU stopped on something the exit handler could not complete, reported to the VMM as KVM reports
 * {@code KVM_EXIT_INTERNAL_ERROR} (emulation failure) or a guest fault the guest cannot take: the guest code that
 * made the access does not continue. Thrown on the vCPU thread, to the guest code that made the access; the same
 * event is counted in the exit statistics.
 * <p>
 * Thread safety: immutable.
 */
public final class VcpuException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /** What stopped the vCPU. */
    public enum Kind
    {
        /** The emulator could not decode the instruction at RIP (KVM_INTERNAL_ERROR_EMULATION). */
        EMULATION_FAILURE,
        /** Walking the guest page tables for RIP or for the access faulted (a #PF the Java guest cannot take). */
        PAGE_FAULT,
        /** A string or REP port instruction, which the exit path does not emulate. */
        UNSUPPORTED_IO,
        /** An MMIO access that crosses a page boundary, which the exit path does not split. */
        SPLIT_ACCESS,
        /** After the exit, RIP is not at the next instruction: the guest would run from the middle of one. */
        RIP_CORRUPTED
    }

    private final Kind kind;
    private final int vcpu;
    private final long rip;

    public VcpuException(final Kind kind, final int vcpu, final long rip, final String details)
    {
        super(describe(kind) + ": vcpu=" + vcpu + ", rip=0x" + Long.toHexString(rip) + ", " + details);
        this.kind = kind;
        this.vcpu = vcpu;
        this.rip = rip;
    }

    private static String describe(final Kind kind)
    {
        return switch (kind)
        {
            case EMULATION_FAILURE -> "instruction emulation failed";
            case PAGE_FAULT -> "guest page fault";
            case UNSUPPORTED_IO -> "unsupported port i/o instruction";
            case SPLIT_ACCESS -> "mmio access crosses a page boundary";
            case RIP_CORRUPTED -> "rip is not at the next instruction after the exit";
        };
    }

    /** @return what stopped the vCPU. */
    public Kind kind()
    {
        return kind;
    }

    /** @return the vCPU index. */
    public int vcpu()
    {
        return vcpu;
    }

    /** @return RIP of the instruction that failed. */
    public long rip()
    {
        return rip;
    }
}
