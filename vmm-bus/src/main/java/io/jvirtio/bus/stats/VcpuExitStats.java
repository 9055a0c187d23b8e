package io.jvirtio.bus.stats;

import org.HdrHistogram.SingleWriterRecorder;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.LongSupplier;

/**
 * One vCPU's exit counters and latency recorders: the {@link ExitRecorder} its exit handler calls after each exit.
 * <p>
 * Counters: per exit reason and per path, the number of exits and the sum of their latencies, plus
 * {@link #latencyOutOfRange()} and {@link #traceWriteFailures()}. They are plain {@code long}s in one array; the vCPU
 * thread is their only writer and publishes each new value with a release store, and readers load with acquire, so
 * a reader on any thread sees every value whole and never a count that goes backwards. The array is padded at both
 * ends so that two vCPUs' counters never share a cache line.
 * <p>
 * Latencies: one HdrHistogram {@link SingleWriterRecorder} per reason and per path, from 0 to
 * {@link ExitStats#HIGHEST_TRACKABLE_NANOS} with {@link ExitStats#SIGNIFICANT_DIGITS} significant digits. Recording
 * is wait-free and allocates nothing; {@link ExitStats#sample()} drains them into interval and cumulative
 * histograms. A latency below 0 or above the highest trackable value (a clock step, a vCPU descheduled for a minute)
 * is clamped into range and counted in {@link #latencyOutOfRange()}, never thrown.
 * <p>
 * When the owning {@link ExitStats} has an {@link ExitTrace}, each exit is also appended to it, stamped with the
 * stats' clock at the time of recording (the end of the exit). A trace write that fails is counted in
 * {@link #traceWriteFailures()}, and after the first failure this vCPU stops tracing.
 * <p>
 * Thread safety: {@link #record} is called only on the owning vCPU's thread (one writer); every other method may be
 * called from any thread at any time.
 */
public final class VcpuExitStats implements ExitRecorder
{
    private static final VarHandle COUNTERS = MethodHandles.arrayElementVarHandle(long[].class);

    static final int REASONS = ExitReason.values().length;
    static final int PATHS = ExitPath.values().length;
    /** Latency series: one per reason (index = ordinal), then one per path (index = REASONS + ordinal). */
    static final int SERIES = REASONS + PATHS;

    /** 128 bytes of padding: two cache lines, so that the adjacent-line prefetcher does not pair two vCPUs either. */
    private static final int PAD = 16;
    private static final int REASON_COUNT = PAD;
    private static final int PATH_COUNT = REASON_COUNT + REASONS;
    private static final int REASON_NANOS = PATH_COUNT + PATHS;
    private static final int PATH_NANOS = REASON_NANOS + REASONS;
    private static final int OUT_OF_RANGE = PATH_NANOS + PATHS;
    private static final int TRACE_FAILURES = OUT_OF_RANGE + 1;
    private static final int COUNTERS_LENGTH = TRACE_FAILURES + 1 + PAD;

    private final int vcpuId;
    private final long[] counters = new long[COUNTERS_LENGTH];
    private final SingleWriterRecorder[] recorders = new SingleWriterRecorder[SERIES];
    private final LongSupplier clock;
    private final ExitTrace.Writer traceWriter;

    VcpuExitStats(final int vcpuId, final LongSupplier clock, final ExitTrace trace)
    {
        this.vcpuId = vcpuId;
        this.clock = clock;
        this.traceWriter = trace == null ? null : trace.writer(vcpuId);
        for (int i = 0; i < SERIES; i++)
        {
            recorders[i] = new SingleWriterRecorder(
                1, ExitStats.HIGHEST_TRACKABLE_NANOS, ExitStats.SIGNIFICANT_DIGITS);
        }
    }

    /** @return the vCPU index these statistics belong to. */
    public int vcpuId()
    {
        return vcpuId;
    }

    /**
     * Counts one exit, records its latency for its reason and its path, and traces it if tracing is on. Allocates
     * nothing, takes no lock and throws nothing for any argument values other than null enums.
     */
    @Override
    public void record(final ExitReason reason, final ExitPath path, final long address, final long nanos)
    {
        long latency = nanos;
        if (latency < 0 || latency > ExitStats.HIGHEST_TRACKABLE_NANOS)
        {
            latency = latency < 0 ? 0 : ExitStats.HIGHEST_TRACKABLE_NANOS;
            increment(OUT_OF_RANGE, 1);
        }
        final int r = reason.ordinal();
        final int p = path.ordinal();
        recorders[r].recordValue(latency);
        recorders[REASONS + p].recordValue(latency);
        increment(REASON_NANOS + r, latency);
        increment(PATH_NANOS + p, latency);
        increment(REASON_COUNT + r, 1);
        increment(PATH_COUNT + p, 1);

        final ExitTrace.Writer writer = traceWriter;
        if (writer != null && !writer.write(clock.getAsLong(), reason, path, address, nanos))
        {
            increment(TRACE_FAILURES, 1);
        }
    }

    /**
     * Counts one exit without a latency, as KVM's always-on exit counters do while its tracepoints are off: the
     * counters and the trace (with zero nanoseconds), no histograms. Allocates nothing, takes no lock.
     */
    public void count(final ExitReason reason, final ExitPath path, final long address)
    {
        increment(REASON_COUNT + reason.ordinal(), 1);
        increment(PATH_COUNT + path.ordinal(), 1);
        final ExitTrace.Writer writer = traceWriter;
        if (writer != null && !writer.write(clock.getAsLong(), reason, path, address, 0))
        {
            increment(TRACE_FAILURES, 1);
        }
    }

    /** @return how many exits had this reason. */
    public long count(final ExitReason reason)
    {
        return load(REASON_COUNT + reason.ordinal());
    }

    /** @return how many exits took this path. */
    public long count(final ExitPath path)
    {
        return load(PATH_COUNT + path.ordinal());
    }

    /** @return the sum of the (clamped) latencies of the exits with this reason, in nanoseconds. */
    public long totalNanos(final ExitReason reason)
    {
        return load(REASON_NANOS + reason.ordinal());
    }

    /** @return the sum of the (clamped) latencies of the exits that took this path, in nanoseconds. */
    public long totalNanos(final ExitPath path)
    {
        return load(PATH_NANOS + path.ordinal());
    }

    /** @return every exit recorded, summed over the reasons. */
    public long exits()
    {
        long sum = 0;
        for (int r = 0; r < REASONS; r++)
        {
            sum += load(REASON_COUNT + r);
        }
        return sum;
    }

    /** @return how many latencies were negative or above {@link ExitStats#HIGHEST_TRACKABLE_NANOS} and clamped. */
    public long latencyOutOfRange()
    {
        return load(OUT_OF_RANGE);
    }

    /** @return how many exits were not traced because the trace write failed (zero when tracing is off). */
    public long traceWriteFailures()
    {
        return load(TRACE_FAILURES);
    }

    /** @return the latency recorder of one series (see {@link #SERIES}); drained only by {@link ExitStats}. */
    SingleWriterRecorder recorder(final int series)
    {
        return recorders[series];
    }

    private void increment(final int index, final long delta)
    {
        // Single writer: a plain read of our own last value, then a release store so readers see a whole value.
        COUNTERS.setRelease(counters, index, (long)COUNTERS.get(counters, index) + delta);
    }

    private long load(final int index)
    {
        return (long)COUNTERS.getAcquire(counters, index);
    }
}
