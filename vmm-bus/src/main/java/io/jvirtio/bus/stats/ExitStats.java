package io.jvirtio.bus.stats;

import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * A VM's exit statistics, in the spirit of {@code kvm_stat} and {@code perf kvm stat}: one {@link VcpuExitStats} per
 * vCPU that the vCPU's exit handler records into, and a VM-wide view that sums them.
 * {@snippet :
 * ExitStats stats = new ExitStats(2);
 * ExitRecorder vcpu0 = stats.vcpu(0);                    // handed to vCPU 0 when it starts
 * vcpu0.record(ExitReason.EPT_MISCONFIG, ExitPath.FAST_MMIO, 0xfe00_3000L, 850);
 * ExitStatsSnapshot now = stats.sample();                // on any thread, while the vCPUs run
 * ExitStatsTable.print(now, System.out);
 * }
 * <p>
 * Live counters ({@link #count(ExitReason)} and friends) are read without disturbing anything. {@link #sample()}
 * also drains every vCPU's latency recorders into interval histograms (the time since the previous sample) and
 * cumulative ones, and reports the interval's exit rates, as {@code kvm_stat} does between two refreshes. Sampling is
 * one-consumer by nature: every caller of {@link #sample()} shares one sequence of intervals.
 * <p>
 * With an {@link ExitTrace}, every exit is also appended to the trace; the constructor writes the trace's session
 * header (vCPU count and the clock reading that starts the first interval), so that
 * {@link ExitTraceReader#replay} rebuilds exactly the statistics a single {@link #sample()} at the last exit gives.
 * <p>
 * Memory: each vCPU keeps three histograms of about 31 KB for each exit reason and each path (two in the recorder,
 * one cumulative), about 1.2 MB per vCPU.
 * <p>
 * Thread safety: {@link #vcpu(int)}'s recorder is written by its vCPU thread only; every method of this class may be
 * called from any thread; {@link #sample()} is serialised by a lock that the vCPUs never take.
 */
public final class ExitStats
{
    /** Latencies above this, in nanoseconds (one minute), are clamped to it and counted as out of range. */
    public static final long HIGHEST_TRACKABLE_NANOS = 60_000_000_000L;

    /** HdrHistogram precision: two significant digits, so every latency is reported within 1%. */
    public static final int SIGNIFICANT_DIGITS = 2;

    /** The most vCPUs one instance accepts; a bound on memory, and on what a damaged trace header can ask for. */
    public static final int MAX_VCPUS = 1024;

    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final int REASONS = VcpuExitStats.REASONS;
    private static final int PATHS = VcpuExitStats.PATHS;
    private static final int SERIES = VcpuExitStats.SERIES;

    private final VcpuExitStats[] vcpus;
    private final LongSupplier clock;

    // Sampling state, guarded by samplingLock.
    private final Object samplingLock = new Object();
    private final Histogram[][] cumulative;
    private final long[][] lastCounts;
    private final Histogram interval = histogram();
    private final Histogram[] vmInterval = histograms(SERIES);
    private final Histogram[] vmCumulative = histograms(SERIES);
    private final Histogram totalInterval = histogram();
    private final Histogram totalCumulative = histogram();
    private long lastSampleNanos;

    /**
     * Statistics without a trace, timed by {@link System#nanoTime()}.
     *
     * @param vcpuCount the number of vCPUs, in [1, {@link #MAX_VCPUS}].
     */
    public ExitStats(final int vcpuCount)
    {
        this(vcpuCount, null, System::nanoTime);
    }

    /**
     * Statistics timed by {@link System#nanoTime()}, with an optional trace.
     *
     * @param vcpuCount the number of vCPUs, in [1, {@link #MAX_VCPUS}].
     * @param trace     where every exit is also appended, or null for no trace; see the three-argument constructor.
     */
    public ExitStats(final int vcpuCount, final ExitTrace trace)
    {
        this(vcpuCount, trace, System::nanoTime);
    }

    /**
     * @param vcpuCount the number of vCPUs, in [1, {@link #MAX_VCPUS}].
     * @param trace     where every exit is also appended, or null for no trace. One trace serves one
     *                  {@code ExitStats}; it is not closed by this class.
     * @param clock     a monotonic nanosecond clock: it times the sampling intervals and stamps trace records. It is
     *                  called on the vCPU threads when tracing, so it must not allocate or block.
     */
    public ExitStats(final int vcpuCount, final ExitTrace trace, final LongSupplier clock)
    {
        if (vcpuCount < 1 || vcpuCount > MAX_VCPUS)
        {
            throw new IllegalArgumentException("vcpu count out of range: vcpuCount=" + vcpuCount
                + ", max=" + MAX_VCPUS);
        }
        this.clock = clock;
        this.vcpus = new VcpuExitStats[vcpuCount];
        this.cumulative = new Histogram[vcpuCount][];
        this.lastCounts = new long[vcpuCount][REASONS + PATHS];
        for (int v = 0; v < vcpuCount; v++)
        {
            vcpus[v] = new VcpuExitStats(v, clock, trace);
            cumulative[v] = histograms(SERIES);
        }
        this.lastSampleNanos = clock.getAsLong();
        if (trace != null)
        {
            trace.writeSession(vcpuCount, lastSampleNanos);
        }
    }

    /** @return the number of vCPUs. */
    public int vcpuCount()
    {
        return vcpus.length;
    }

    /**
     * @param vcpuId the vCPU index, in [0, {@link #vcpuCount()}).
     * @return that vCPU's statistics; its {@link VcpuExitStats#record} belongs to that vCPU's thread.
     */
    public VcpuExitStats vcpu(final int vcpuId)
    {
        if (vcpuId < 0 || vcpuId >= vcpus.length)
        {
            throw new IndexOutOfBoundsException("no such vcpu: vcpuId=" + vcpuId + ", vcpuCount=" + vcpus.length);
        }
        return vcpus[vcpuId];
    }

    /** @return exits with this reason, summed over the vCPUs. */
    public long count(final ExitReason reason)
    {
        long sum = 0;
        for (final VcpuExitStats vcpu : vcpus)
        {
            sum += vcpu.count(reason);
        }
        return sum;
    }

    /** @return exits that took this path, summed over the vCPUs. */
    public long count(final ExitPath path)
    {
        long sum = 0;
        for (final VcpuExitStats vcpu : vcpus)
        {
            sum += vcpu.count(path);
        }
        return sum;
    }

    /** @return every exit, summed over the vCPUs. */
    public long exits()
    {
        long sum = 0;
        for (final VcpuExitStats vcpu : vcpus)
        {
            sum += vcpu.exits();
        }
        return sum;
    }

    /** @return clamped latencies, summed over the vCPUs. */
    public long latencyOutOfRange()
    {
        long sum = 0;
        for (final VcpuExitStats vcpu : vcpus)
        {
            sum += vcpu.latencyOutOfRange();
        }
        return sum;
    }

    /** @return untraced exits, summed over the vCPUs. */
    public long traceWriteFailures()
    {
        long sum = 0;
        for (final VcpuExitStats vcpu : vcpus)
        {
            sum += vcpu.traceWriteFailures();
        }
        return sum;
    }

    /**
     * Ends the current interval: drains every vCPU's latency recorders, and returns the VM-wide statistics with one
     * nested snapshot per vCPU. Allocates (the snapshot); never blocks a vCPU.
     *
     * @return the statistics now, with interval values covering the time since the previous call (or since
     *         construction).
     */
    public ExitStatsSnapshot sample()
    {
        synchronized (samplingLock)
        {
            return sampleLocked();
        }
    }

    private ExitStatsSnapshot sampleLocked()
    {
        final long now = clock.getAsLong();
        final long intervalNanos = now - lastSampleNanos;
        lastSampleNanos = now;

        for (int s = 0; s < SERIES; s++)
        {
            vmInterval[s].reset();
            vmCumulative[s].reset();
        }
        final List<ExitStatsSnapshot> perVcpu = new ArrayList<>(vcpus.length);
        final long[] vmCounts = new long[REASONS + PATHS];
        final long[] vmIntervalCounts = new long[REASONS + PATHS];
        final long[] vmNanos = new long[REASONS + PATHS];
        long vmOutOfRange = 0;
        long vmTraceFailures = 0;
        for (int v = 0; v < vcpus.length; v++)
        {
            final VcpuExitStats vcpu = vcpus[v];
            final Latencies latencies = new Latencies();
            totalInterval.reset();
            totalCumulative.reset();
            for (int s = 0; s < SERIES; s++)
            {
                vcpu.recorder(s).getIntervalHistogramInto(interval);
                cumulative[v][s].add(interval);
                vmInterval[s].add(interval);
                vmCumulative[s].add(cumulative[v][s]);
                latencies.interval[s] = ExitStatsSnapshot.Latency.of(interval);
                latencies.cumulative[s] = ExitStatsSnapshot.Latency.of(cumulative[v][s]);
                if (s < REASONS)
                {
                    totalInterval.add(interval);
                    totalCumulative.add(cumulative[v][s]);
                }
            }
            latencies.totalInterval = ExitStatsSnapshot.Latency.of(totalInterval);
            latencies.totalCumulative = ExitStatsSnapshot.Latency.of(totalCumulative);

            final long[] counts = new long[REASONS + PATHS];
            final long[] intervalCounts = new long[REASONS + PATHS];
            final long[] nanos = new long[REASONS + PATHS];
            for (final ExitReason reason : ExitReason.values())
            {
                counts[reason.ordinal()] = vcpu.count(reason);
                nanos[reason.ordinal()] = vcpu.totalNanos(reason);
            }
            for (final ExitPath path : ExitPath.values())
            {
                counts[REASONS + path.ordinal()] = vcpu.count(path);
                nanos[REASONS + path.ordinal()] = vcpu.totalNanos(path);
            }
            for (int i = 0; i < REASONS + PATHS; i++)
            {
                intervalCounts[i] = counts[i] - lastCounts[v][i];
                lastCounts[v][i] = counts[i];
                vmCounts[i] += counts[i];
                vmIntervalCounts[i] += intervalCounts[i];
                vmNanos[i] += nanos[i];
            }
            final long outOfRange = vcpu.latencyOutOfRange();
            final long traceFailures = vcpu.traceWriteFailures();
            vmOutOfRange += outOfRange;
            vmTraceFailures += traceFailures;
            perVcpu.add(snapshot(v, intervalNanos, counts, intervalCounts, nanos, latencies, outOfRange,
                traceFailures, List.of()));
        }

        final Latencies vm = new Latencies();
        totalInterval.reset();
        totalCumulative.reset();
        for (int s = 0; s < SERIES; s++)
        {
            vm.interval[s] = ExitStatsSnapshot.Latency.of(vmInterval[s]);
            vm.cumulative[s] = ExitStatsSnapshot.Latency.of(vmCumulative[s]);
            if (s < REASONS)
            {
                totalInterval.add(vmInterval[s]);
                totalCumulative.add(vmCumulative[s]);
            }
        }
        vm.totalInterval = ExitStatsSnapshot.Latency.of(totalInterval);
        vm.totalCumulative = ExitStatsSnapshot.Latency.of(totalCumulative);
        return snapshot(ExitStatsSnapshot.ALL_VCPUS, intervalNanos, vmCounts, vmIntervalCounts, vmNanos, vm,
            vmOutOfRange, vmTraceFailures, perVcpu);
    }

    /** Latencies of every series and of the total, cumulative and for the interval. */
    private static final class Latencies
    {
        final ExitStatsSnapshot.Latency[] interval = new ExitStatsSnapshot.Latency[SERIES];
        final ExitStatsSnapshot.Latency[] cumulative = new ExitStatsSnapshot.Latency[SERIES];
        ExitStatsSnapshot.Latency totalInterval;
        ExitStatsSnapshot.Latency totalCumulative;
    }

    private static ExitStatsSnapshot snapshot(
        final int vcpuId,
        final long intervalNanos,
        final long[] counts,
        final long[] intervalCounts,
        final long[] nanos,
        final Latencies latencies,
        final long outOfRange,
        final long traceFailures,
        final List<ExitStatsSnapshot> perVcpu)
    {
        long exits = 0;
        long intervalExits = 0;
        long exitNanos = 0;
        for (int r = 0; r < REASONS; r++)
        {
            exits += counts[r];
            intervalExits += intervalCounts[r];
            exitNanos += nanos[r];
        }
        final List<ExitStatsSnapshot.Row> reasons = new ArrayList<>(REASONS);
        for (final ExitReason reason : ExitReason.values())
        {
            reasons.add(row(reason.name(), reason.ordinal(), exits, intervalNanos, counts, intervalCounts, nanos,
                latencies));
        }
        final List<ExitStatsSnapshot.Row> paths = new ArrayList<>(PATHS);
        for (final ExitPath path : ExitPath.values())
        {
            paths.add(row(path.name(), REASONS + path.ordinal(), exits, intervalNanos, counts, intervalCounts,
                nanos, latencies));
        }
        final ExitStatsSnapshot.Row total = new ExitStatsSnapshot.Row("total", exits, intervalExits,
            exits == 0 ? 0 : 1, rate(intervalExits, intervalNanos), exitNanos, latencies.totalCumulative,
            latencies.totalInterval);
        return new ExitStatsSnapshot(vcpuId, intervalNanos, reasons, paths, total, outOfRange, traceFailures,
            perVcpu);
    }

    private static ExitStatsSnapshot.Row row(
        final String name,
        final int index,
        final long exits,
        final long intervalNanos,
        final long[] counts,
        final long[] intervalCounts,
        final long[] nanos,
        final Latencies latencies)
    {
        return new ExitStatsSnapshot.Row(name, counts[index], intervalCounts[index],
            exits == 0 ? 0 : (double)counts[index] / exits, rate(intervalCounts[index], intervalNanos),
            nanos[index], latencies.cumulative[index], latencies.interval[index]);
    }

    private static double rate(final long count, final long intervalNanos)
    {
        return intervalNanos <= 0 ? 0 : count * (double)NANOS_PER_SECOND / intervalNanos;
    }

    private static Histogram histogram()
    {
        return new Histogram(1, HIGHEST_TRACKABLE_NANOS, SIGNIFICANT_DIGITS);
    }

    private static Histogram[] histograms(final int n)
    {
        final Histogram[] array = new Histogram[n];
        for (int i = 0; i < n; i++)
        {
            array[i] = histogram();
        }
        return array;
    }
}
