package io.jvirtio.samples;

import io.jvirtio.bus.stats.ExitStatsSnapshot;
import io.jvirtio.bus.stats.ExitStatsTable;
import io.jvirtio.bus.stats.ExitTraceReader;
import io.jvirtio.samples.cli.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code ./jvirtio trace-report DIR}: reads an exit trace (written by {@code ExitStats} with an {@code ExitTrace})
 * and prints its statistics as the {@code kvm_stat}-like table, optionally with the {@code perf kvm stat}-like
 * summary and a table per vCPU; with {@code --json}, the last line is one JSON object: {@code program},
 * {@code trace}, {@code sessions}, {@code exits}, {@code malformedRecords} and {@code stats} (the snapshot as
 * {@link ExitStatsSnapshot#toMap()} describes it).
 * <p>
 * Exit status: 0 on success, 1 if the directory holds no readable trace, 2 for a usage error.
 * <p>
 * Thread safety: one instance per run, on the main thread.
 */
@Command(
    name = "trace-report",
    mixinStandardHelpOptions = true,
    description = "Prints exit statistics (counts, shares, rates, latency percentiles per exit reason and per path) "
        + "from an exit trace directory.")
public final class ExitTraceReport implements Callable<Integer>
{
    /** Exit status when the trace cannot be read. */
    public static final int NO_TRACE = 1;

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "The exit trace directory (a Chronicle Queue).")
    private Path directory;

    @Option(names = "--summary", description = "Also print the perf-kvm-stat-like summary.")
    private boolean summary;

    @Option(names = "--per-vcpu", description = "Also print one table per vCPU.")
    private boolean perVcpu;

    @Option(names = "--json", description = "Print one JSON object with every number as the last line.")
    private boolean json;

    @Override
    public Integer call()
    {
        final PrintWriter out = spec.commandLine().getOut();
        final ExitTraceReader.Replay replay;
        try
        {
            replay = ExitTraceReader.replay(directory);
        }
        catch (final RuntimeException e)
        {
            // No trace there, or one Chronicle cannot open: one line, not a stack trace.
            spec.commandLine().getErr().println("jvirtio trace-report: "
                + (e.getMessage() != null ? e.getMessage() : e.toString()));
            return NO_TRACE;
        }
        final ExitStatsSnapshot snapshot = replay.snapshot();
        final ExitTraceReader.Counts counts = replay.counts();
        out.printf("trace %s: %d sessions, %d exits, %d malformed records%n", directory, counts.sessions(),
            counts.exits(), counts.malformedRecords());
        out.println();
        out.print(ExitStatsTable.table(snapshot));
        if (perVcpu)
        {
            for (final ExitStatsSnapshot vcpu : snapshot.vcpus())
            {
                out.println();
                out.print(ExitStatsTable.table(vcpu));
            }
        }
        if (summary)
        {
            out.println();
            out.print(ExitStatsTable.summary(snapshot));
        }
        if (json)
        {
            final Map<String, Object> map = new LinkedHashMap<>();
            map.put("program", "trace-report");
            map.put("trace", directory.toString());
            map.put("sessions", counts.sessions());
            map.put("exits", counts.exits());
            map.put("malformedRecords", counts.malformedRecords());
            map.put("stats", snapshot.toMap());
            out.println(Json.write(map));
        }
        out.flush();
        return 0;
    }
}
