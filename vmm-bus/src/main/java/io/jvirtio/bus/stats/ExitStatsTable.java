package io.jvirtio.bus.stats;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Prints an {@link ExitStatsSnapshot} as text with a fixed column layout, in two forms.
 * <p>
 * {@link #table} is {@code kvm_stat}-like: a line naming the scope and interval, then a block with one row per exit
 * reason and a total row, and a block with one row per path. Every reason and path has a row, in declaration order,
 * even when its count is 0, so the rows never move. Columns: {@code total} (exits since start), {@code %total}
 * (share of all exits), {@code rate/s} (exits per second over the interval), and the cumulative latency
 * {@code p50 ns}, {@code p99 ns} and {@code max ns} ({@code -} when nothing was recorded).
 * <p>
 * {@link #summary} is {@code perf kvm stat report}-like: per block, the reasons (then the paths) that occurred, most
 * frequent first, with {@code Samples}, {@code Samples%}, {@code Time%} (share of all time spent in exits),
 * {@code Min Time}, {@code Max Time}, {@code Avg time} in nanoseconds, and a closing total line.
 * <pre>
 * exits 1000 in 2.000000 s, all vCPUs
 * exit reason              total  %total       rate/s       p50 ns       p99 ns       max ns
 * EPT_MISCONFIG              600   60.00        300.0          149          198          199
 * NPF                          0    0.00          0.0            -            -            -
 * </pre>
 * <pre>
 *          VM-EXIT       Samples  Samples%     Time%      Min Time      Max Time        Avg time
 *
 *    EPT_MISCONFIG           600    60.00%    71.93%         100ns         199ns         149.5ns
 * </pre>
 * <p>
 * Thread safety: stateless; any thread.
 */
public final class ExitStatsTable
{
    // Widths: counts to 10^12, latencies to HIGHEST_TRACKABLE_NANOS (11 digits), so values never push columns.
    private static final String HEADER = "%-16s %13s %7s %12s %12s %12s %12s%n";
    private static final String ROW = "%-16s %13d %7.2f %12.1f %12s %12s %12s%n";
    private static final String SUMMARY_HEADER = "%16s %13s %9s %9s %13s %13s %15s%n";
    private static final String SUMMARY_ROW = "%16s %13d %8.2f%% %8.2f%% %11dns %11dns %13.1fns%n";
    private static final String NO_VALUE = "-";

    private ExitStatsTable()
    {
    }

    /** Prints {@link #table(ExitStatsSnapshot)} to {@code out}. */
    public static void print(final ExitStatsSnapshot snapshot, final PrintStream out)
    {
        out.print(table(snapshot));
        out.flush();
    }

    /** Prints {@link #summary(ExitStatsSnapshot)} to {@code out}. */
    public static void printSummary(final ExitStatsSnapshot snapshot, final PrintStream out)
    {
        out.print(summary(snapshot));
        out.flush();
    }

    /** @return the {@code kvm_stat}-like table of {@code snapshot}, lines ending in the platform line separator. */
    public static String table(final ExitStatsSnapshot snapshot)
    {
        final StringBuilder sb = new StringBuilder(2048);
        sb.append(String.format(Locale.ROOT, "exits %d in %.6f s, %s%n", snapshot.exits(),
            snapshot.intervalNanos() / 1e9, scope(snapshot)));
        sb.append(String.format(Locale.ROOT, HEADER, "exit reason", "total", "%total", "rate/s", "p50 ns", "p99 ns",
            "max ns"));
        for (final ExitStatsSnapshot.Row row : snapshot.reasons())
        {
            row(sb, row);
        }
        row(sb, snapshot.total());
        sb.append(System.lineSeparator());
        sb.append(String.format(Locale.ROOT, HEADER, "exit path", "total", "%total", "rate/s", "p50 ns", "p99 ns",
            "max ns"));
        for (final ExitStatsSnapshot.Row row : snapshot.paths())
        {
            row(sb, row);
        }
        return sb.toString();
    }

    /** @return the {@code perf kvm stat report}-like summary of {@code snapshot}. */
    public static String summary(final ExitStatsSnapshot snapshot)
    {
        final StringBuilder sb = new StringBuilder(2048);
        sb.append(String.format(Locale.ROOT, "Analyze events for all VMs, %s:%n",
            snapshot.vcpuId() == ExitStatsSnapshot.ALL_VCPUS ? "all VCPUs" : "VCPU " + snapshot.vcpuId()));
        final long totalNanos = snapshot.total().totalNanos();
        summaryBlock(sb, "VM-EXIT", snapshot.reasons(), snapshot.exits(), totalNanos);
        summaryBlock(sb, "EXIT-PATH", snapshot.paths(), snapshot.exits(), totalNanos);
        sb.append(System.lineSeparator());
        sb.append(String.format(Locale.ROOT, "Total Samples:%d, Total events handled time:%dns.%n",
            snapshot.exits(), totalNanos));
        return sb.toString();
    }

    private static String scope(final ExitStatsSnapshot snapshot)
    {
        return snapshot.vcpuId() == ExitStatsSnapshot.ALL_VCPUS ? "all vCPUs" : "vCPU " + snapshot.vcpuId();
    }

    private static void row(final StringBuilder sb, final ExitStatsSnapshot.Row row)
    {
        final ExitStatsSnapshot.Latency latency = row.latency();
        final boolean empty = latency.count() == 0;
        sb.append(String.format(Locale.ROOT, ROW, row.name(), row.count(), row.share() * 100, row.ratePerSecond(),
            empty ? NO_VALUE : Long.toString(latency.p50Nanos()),
            empty ? NO_VALUE : Long.toString(latency.p99Nanos()),
            empty ? NO_VALUE : Long.toString(latency.maxNanos())));
    }

    private static void summaryBlock(
        final StringBuilder sb,
        final String title,
        final List<ExitStatsSnapshot.Row> rows,
        final long exits,
        final long totalNanos)
    {
        final List<ExitStatsSnapshot.Row> occurred = new ArrayList<>(rows.size());
        for (final ExitStatsSnapshot.Row row : rows)
        {
            if (row.count() > 0)
            {
                occurred.add(row);
            }
        }
        // Most frequent first, as perf sorts by sample count; the stable sort keeps declaration order for ties.
        occurred.sort(Comparator.comparingLong(ExitStatsSnapshot.Row::count).reversed());
        sb.append(System.lineSeparator());
        sb.append(String.format(Locale.ROOT, SUMMARY_HEADER, title, "Samples", "Samples%", "Time%", "Min Time",
            "Max Time", "Avg time"));
        sb.append(System.lineSeparator());
        for (final ExitStatsSnapshot.Row row : occurred)
        {
            sb.append(String.format(Locale.ROOT, SUMMARY_ROW, row.name(), row.count(),
                exits == 0 ? 0.0 : row.count() * 100.0 / exits,
                totalNanos == 0 ? 0.0 : row.totalNanos() * 100.0 / totalNanos,
                row.latency().minNanos(), row.latency().maxNanos(), (double)row.totalNanos() / row.count()));
        }
    }
}
