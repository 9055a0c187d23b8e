package io.jvirtio.bus.stats;

/**
 * How the exit handler dealt with one exit: which bus or which party completed the access, or why nobody could.
 * The paths follow KVM's exit handling (arch/x86/kvm/vmx/vmx.c): the FAST_MMIO bus before anything else, then
 * instruction emulation against the MMIO bus, then an exit to the userspace device model; port I/O goes to the PIO
 * bus and then to userspace, with no decoding. Each constant has a {@link #code() stable code} that the exit trace
 * stores.
 * <p>
 * Thread safety: immutable; any thread.
 */
public enum ExitPath
{
    /**
     * A device on the FAST_MMIO bus (a length-0 wildcard ioeventfd) accepted {@code (gpa, 0)} and the instruction was
     * skipped without decoding; KVM emits the {@code kvm_fast_mmio} tracepoint here (arch/x86/kvm/vmx/vmx.c).
     */
    FAST_MMIO(1),

    /** Emulated: the instruction was decoded and an MMIO bus device (an ioeventfd or in-kernel device) took it. */
    MMIO_KERNEL(2),

    /** Emulated: no MMIO bus device took it, so it went to the userspace device model ({@code KVM_EXIT_MMIO}). */
    MMIO_USERSPACE(3),

    /** A device on the PIO bus (an ioeventfd or in-kernel device) took the port access. */
    PIO_KERNEL(4),

    /** No PIO bus device took the port access, so it went to the userspace device model ({@code KVM_EXIT_IO}). */
    PIO_USERSPACE(5),

    /** The vCPU halted and waited for an interrupt. */
    HLT(6),

    /** The emulator fetched the instruction at RIP but could not decode it. */
    DECODE_FAILURE(7),

    /** The walk of the guest page tables for RIP, or the instruction fetch, faulted. */
    PAGE_FAULT(8),

    /**
     * Nothing claimed the access, not even userspace: for MMIO, reads return all ones and writes are dropped, as on a
     * bus with no device; the caller decides what happens, this only counts it.
     */
    UNHANDLED(9);

    private static final ExitPath[] BY_CODE = byCode();

    private final int code;

    ExitPath(final int code)
    {
        this.code = code;
    }

    /** @return the stable code the exit trace stores for this path, in [1, 127]. */
    public int code()
    {
        return code;
    }

    /**
     * @param code a code as {@link #code()} returns it, possibly read from a damaged trace.
     * @return the path with that code, or null if there is none.
     */
    public static ExitPath fromCode(final int code)
    {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }

    private static ExitPath[] byCode()
    {
        int max = 0;
        for (final ExitPath path : values())
        {
            max = Math.max(max, path.code);
        }
        final ExitPath[] table = new ExitPath[max + 1];
        for (final ExitPath path : values())
        {
            table[path.code] = path;
        }
        return table;
    }
}
