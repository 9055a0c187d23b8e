package io.jvirtio.bus.stats;

/**
 * Where a vCPU's exit handler reports each exit it has finished handling: why the vCPU exited, which path handled
 * it, the address or port, and how long the handling took.
 * <p>
 * Thread safety: an implementation belongs to one vCPU and is called only on that vCPU's thread. Implementations
 * must not allocate, lock or throw: the call sits on every exit.
 */
@FunctionalInterface
public interface ExitRecorder
{
    /**
     * Records one finished exit.
     *
     * @param reason  the hardware exit reason.
     * @param path    how the exit was handled.
     * @param address the guest-physical address for MMIO exits, the port for port I/O, 0 when there is none (HLT).
     * @param nanos   how long the exit took, in nanoseconds, from the exit to the point the vCPU would re-enter.
     */
    void record(ExitReason reason, ExitPath path, long address, long nanos);
}
