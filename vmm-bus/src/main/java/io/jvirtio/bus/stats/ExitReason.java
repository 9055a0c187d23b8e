package io.jvirtio.bus.stats;

/**
 * Why a vCPU left the guest, as the hardware reports it: the basic exit reason of a VMX VM exit (Intel SDM Vol. 3
 * Appendix C, {@code EXIT_REASON_*} in Linux {@code arch/x86/include/uapi/asm/vmx.h}) or the exit code of an SVM
 * {@code #VMEXIT} (AMD APM Vol. 2 Appendix C, {@code SVM_EXIT_*} in {@code arch/x86/include/uapi/asm/svm.h}).
 * <p>
 * Only the exits that the device data path raises are listed: an MMIO access to a guest-physical address that no RAM
 * backs (EPT misconfiguration on VMX, nested page fault with the reserved bit on SVM), a port access, and HLT, which
 * is where a vCPU waits for the interrupt that a device's irqfd raises. Each constant has a {@link #code() stable code}
 * that the exit trace stores, so reordering the constants never changes what an old trace means.
 * <p>
 * Thread safety: immutable; any thread.
 */
public enum ExitReason
{
    /**
     * VMX {@code EXIT_REASON_EPT_MISCONFIG} (49): an access hit an MMIO SPTE, whose bits 2:0 = 110b are
     * architecturally illegal. The exit carries the guest-physical address and the VM-exit instruction length, but
     * neither the access type nor its size (arch/x86/kvm/vmx/vmx.c).
     */
    EPT_MISCONFIG(1, 49, -1),

    /**
     * SVM {@code SVM_EXIT_NPF} (0x400): a nested page fault; with PFERR_RSVD set it is the MMIO case, and the fast
     * path is taken only when the next RIP is known (arch/x86/kvm/vmx/vmx.c).
     */
    NPF(2, -1, 0x400),

    /** VMX {@code EXIT_REASON_IO_INSTRUCTION} (30), SVM {@code SVM_EXIT_IOIO} (0x07B): an IN or OUT. */
    IO_INSTRUCTION(3, 30, 0x07B),

    /** VMX {@code EXIT_REASON_HLT} (12), SVM {@code SVM_EXIT_HLT} (0x078): the guest halted until an interrupt. */
    HLT(4, 12, 0x078);

    private static final ExitReason[] BY_CODE = byCode();

    private final int code;
    private final int vmxExitReason;
    private final int svmExitCode;

    ExitReason(final int code, final int vmxExitReason, final int svmExitCode)
    {
        this.code = code;
        this.vmxExitReason = vmxExitReason;
        this.svmExitCode = svmExitCode;
    }

    /** @return the stable code the exit trace stores for this reason, in [1, 127]. */
    public int code()
    {
        return code;
    }

    /** @return the VMX basic exit reason, or -1 if VMX has no such exit. */
    public int vmxExitReason()
    {
        return vmxExitReason;
    }

    /** @return the SVM exit code, or -1 if SVM has no such exit. */
    public int svmExitCode()
    {
        return svmExitCode;
    }

    /**
     * @param code a code as {@link #code()} returns it, possibly read from a damaged trace.
     * @return the reason with that code, or null if there is none.
     */
    public static ExitReason fromCode(final int code)
    {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }

    private static ExitReason[] byCode()
    {
        int max = 0;
        for (final ExitReason reason : values())
        {
            max = Math.max(max, reason.code);
        }
        final ExitReason[] table = new ExitReason[max + 1];
        for (final ExitReason reason : values())
        {
            table[reason.code] = reason;
        }
        return table;
    }
}
