package io.jvirtio.bus.vm;

/**
 * Which hardware the simulated vCPU's exits look like. Each gives the exit handler only what that hardware reports.
 * <p>
 * Thread safety: immutable.
 */
public enum ExitStyle
{
    /**
     * Intel VMX with EPT: an access to an MMIO page is an EPT-misconfig exit carrying the guest-physical address and
     * the VM-exit instruction length, nothing about size, direction or data.
     */
    VMX,
    /**
     * AMD SVM with NPT: an access to an MMIO page is a nested page fault carrying the guest-physical address, an
     * error code (present, write, reserved-bit) and, with NRIPS, the next RIP; with decode assists also the
     * instruction bytes.
     */
    SVM
}
