package io.jvirtio.bus.stats;

import org.HdrHistogram.AbstractHistogram;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Exit statistics at one moment, as plain data: one row per exit reason, one per path and a total row, for the whole
 * VM ({@link #vcpuId()} = {@link #ALL_VCPUS}, with one nested snapshot per vCPU in {@link #vcpus()}) or for one vCPU.
 * {@link ExitStats#sample()} makes them live; {@link ExitTraceReader#replay} makes them from a trace;
 * {@link ExitStatsTable} prints them and {@link #toMap()} turns them into maps and lists for a JSON writer.
 * <p>
 * Counts and latency sums are cumulative since the statistics were created. "Interval" values cover the time since
 * the previous sample ({@link #intervalNanos()}); for a replayed trace, the whole trace. While vCPUs run, counters and
 * histograms are read one after the other, so a row's count and its histogram's count may differ by the exits recorded
 * in between; once the vCPUs have stopped they agree exactly.
 * <p>
 * Thread safety: immutable; any thread.
 *
 * @param vcpuId             the vCPU these statistics cover, or {@link #ALL_VCPUS} for the VM-wide sum.
 * @param intervalNanos      the length of the interval that the interval counts and rates cover.
 * @param reasons            one row per {@link ExitReason}, in declaration order.
 * @param paths              one row per {@link ExitPath}, in declaration order.
 * @param total              every exit, whatever its reason.
 * @param latencyOutOfRange  latencies clamped because they were negative or too large to track.
 * @param traceWriteFailures exits that were not traced because a trace write failed.
 * @param vcpus              for the VM-wide snapshot, one snapshot per vCPU in index order; otherwise empty.
 */
public record ExitStatsSnapshot(
    int vcpuId,
    long intervalNanos,
    List<Row> reasons,
    List<Row> paths,
    Row total,
    long latencyOutOfRange,
    long traceWriteFailures,
    List<ExitStatsSnapshot> vcpus)
{
    /** The {@link #vcpuId()} of a VM-wide snapshot. */
    public static final int ALL_VCPUS = -1;

    /**
     * @param vcpuId             see the record description.
     * @param intervalNanos      see the record description.
     * @param reasons            see the record description.
     * @param paths              see the record description.
     * @param total              see the record description.
     * @param latencyOutOfRange  see the record description.
     * @param traceWriteFailures see the record description.
     * @param vcpus              see the record description.
     */
    public ExitStatsSnapshot
    {
        if (reasons.size() != VcpuExitStats.REASONS || paths.size() != VcpuExitStats.PATHS)
        {
            throw new IllegalArgumentException("a snapshot needs one row per reason and per path: reasons="
                + reasons.size() + ", paths=" + paths.size());
        }
        reasons = List.copyOf(reasons);
        paths = List.copyOf(paths);
        vcpus = List.copyOf(vcpus);
    }

    /**
     * Latencies of one row, from an HdrHistogram with {@link ExitStats#SIGNIFICANT_DIGITS} significant digits, so
     * each value is the recorded one rounded to that precision (within 1%). All zero when nothing was recorded.
     * <p>
     * Thread safety: immutable; any thread.
     *
     * @param count     the number of latencies recorded.
     * @param minNanos  the smallest.
     * @param p50Nanos  the median.
     * @param p99Nanos  the 99th percentile.
     * @param maxNanos  the largest.
     * @param meanNanos the mean.
     */
    public record Latency(long count, long minNanos, long p50Nanos, long p99Nanos, long maxNanos, double meanNanos)
    {
        /** Nothing recorded. */
        public static final Latency NONE = new Latency(0, 0, 0, 0, 0, 0);

        /** @return the latencies in {@code histogram}. */
        static Latency of(final AbstractHistogram histogram)
        {
            if (histogram.getTotalCount() == 0)
            {
                return NONE;
            }
            return new Latency(histogram.getTotalCount(), histogram.getMinValue(),
                histogram.getValueAtPercentile(50), histogram.getValueAtPercentile(99), histogram.getMaxValue(),
                histogram.getMean());
        }
    }

    /**
     * One line of the statistics: an exit reason, a path, or the total.
     * <p>
     * Thread safety: immutable; any thread.
     *
     * @param name            the {@link ExitReason} or {@link ExitPath} constant's name, or "total".
     * @param count           exits since the statistics were created.
     * @param intervalCount   exits in the interval.
     * @param share           {@code count} as a fraction of all exits, in [0, 1]; 0 when there were none.
     * @param ratePerSecond   {@code intervalCount} per second of the interval; 0 for an empty interval.
     * @param totalNanos      the sum of the exits' latencies since the statistics were created.
     * @param latency         the latencies since the statistics were created.
     * @param intervalLatency the latencies in the interval.
     */
    public record Row(
        String name,
        long count,
        long intervalCount,
        double share,
        double ratePerSecond,
        long totalNanos,
        Latency latency,
        Latency intervalLatency)
    {
    }

    /** @return the row of {@code reason}. */
    public Row reason(final ExitReason reason)
    {
        return reasons.get(reason.ordinal());
    }

    /** @return the row of {@code path}. */
    public Row path(final ExitPath path)
    {
        return paths.get(path.ordinal());
    }

    /** @return every exit counted. */
    public long exits()
    {
        return total.count();
    }

    /**
     * The snapshot as nested maps and lists of strings and numbers, in a fixed key order, for a JSON writer:
     * {@code vcpu} ("all" or the index), {@code intervalNs}, {@code exits}, {@code latencyOutOfRange},
     * {@code traceWriteFailures}, {@code reasons} and {@code paths} (objects keyed by name), {@code total}, and for the
     * VM-wide snapshot {@code vcpus} (a list of per-vCPU objects of the same shape). Each row has {@code count},
     * {@code intervalCount}, {@code share}, {@code ratePerSec}, {@code totalNs}, {@code minNs}, {@code p50Ns},
     * {@code p99Ns}, {@code maxNs}, {@code meanNs}, {@code intervalP50Ns}, {@code intervalP99Ns},
     * {@code intervalMaxNs}.
     *
     * @return a new mutable map; the caller may add its own keys.
     */
    public Map<String, Object> toMap()
    {
        final Map<String, Object> map = new LinkedHashMap<>();
        map.put("vcpu", vcpuId == ALL_VCPUS ? "all" : Integer.valueOf(vcpuId));
        map.put("intervalNs", intervalNanos);
        map.put("exits", exits());
        map.put("latencyOutOfRange", latencyOutOfRange);
        map.put("traceWriteFailures", traceWriteFailures);
        map.put("reasons", rowsMap(reasons));
        map.put("paths", rowsMap(paths));
        map.put("total", rowMap(total));
        if (vcpuId == ALL_VCPUS)
        {
            final List<Object> list = new ArrayList<>(vcpus.size());
            for (final ExitStatsSnapshot vcpu : vcpus)
            {
                list.add(vcpu.toMap());
            }
            map.put("vcpus", list);
        }
        return map;
    }

    private static Map<String, Object> rowsMap(final List<Row> rows)
    {
        final Map<String, Object> map = new LinkedHashMap<>();
        for (final Row row : rows)
        {
            map.put(row.name(), rowMap(row));
        }
        return map;
    }

    private static Map<String, Object> rowMap(final Row row)
    {
        final Map<String, Object> map = new LinkedHashMap<>();
        map.put("count", row.count());
        map.put("intervalCount", row.intervalCount());
        map.put("share", row.share());
        map.put("ratePerSec", row.ratePerSecond());
        map.put("totalNs", row.totalNanos());
        map.put("minNs", row.latency().minNanos());
        map.put("p50Ns", row.latency().p50Nanos());
        map.put("p99Ns", row.latency().p99Nanos());
        map.put("maxNs", row.latency().maxNanos());
        map.put("meanNs", row.latency().meanNanos());
        map.put("intervalP50Ns", row.intervalLatency().p50Nanos());
        map.put("intervalP99Ns", row.intervalLatency().p99Nanos());
        map.put("intervalMaxNs", row.intervalLatency().maxNanos());
        return map;
    }
}
