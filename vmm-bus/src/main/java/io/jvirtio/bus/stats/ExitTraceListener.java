package io.jvirtio.bus.stats;

/**
 * Receives the records of an exit trace in the order they were written, from {@link ExitTraceReader#read}.
 * <p>
 * Thread safety: called on the thread that reads the trace.
 */
public interface ExitTraceListener
{
    /**
     * A session record: an {@link ExitStats} started writing to the trace.
     *
     * @param startNanos the clock reading at which the statistics started.
     * @param vcpuCount  the number of vCPUs, in [1, {@link ExitStats#MAX_VCPUS}].
     */
    void onSession(long startNanos, int vcpuCount);

    /**
     * An exit record; its vCPU index is valid for the current session.
     *
     * @param timeNanos the clock reading when the exit was recorded (its end).
     * @param vcpuId    the vCPU, in [0, vcpuCount) of the current session.
     * @param reason    the exit reason.
     * @param path      how the exit was handled.
     * @param address   the guest-physical address or port, 0 when there is none.
     * @param nanos     the latency as recorded, not clamped.
     */
    void onExit(long timeNanos, int vcpuId, ExitReason reason, ExitPath path, long address, long nanos);
}
