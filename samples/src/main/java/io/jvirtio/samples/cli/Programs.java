package io.jvirtio.samples.cli;

import io.jvirtio.samples.BlockSample;
import io.jvirtio.samples.BlockSoak;
import io.jvirtio.samples.BusBench;
import io.jvirtio.samples.ControlSoak;
import io.jvirtio.samples.EchoBench;
import io.jvirtio.samples.EchoSample;
import io.jvirtio.samples.EchoSoak;
import io.jvirtio.samples.ExitTraceReport;
import io.jvirtio.samples.IopsBench;
import io.jvirtio.samples.Report;
import io.jvirtio.samples.RingBench;
import io.jvirtio.samples.VhostUserSample;
import io.jvirtio.samples.VmExitMatrix;
import picocli.CommandLine;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * The programs {@code ./jvirtio} can run, and the one place that maps a name to a command.
 * <p>
 * Every program is a picocli command: {@code --help} documents its options, a bad option or value is reported in one
 * line with a non-zero exit, and {@code --json} makes its last line of output one JSON object.
 * <p>
 * Thread safety: called once, on the main thread.
 */
public final class Programs
{
    /** Exit status for a usage error: unknown program, bad option or value. */
    public static final int USAGE = 2;

    /**
     * A runnable program.
     *
     * @param name    what the user types after {@code ./jvirtio}.
     * @param summary one line for {@code ./jvirtio --help}.
     * @param command makes a fresh picocli command object.
     */
    public record Program(String name, String summary, Supplier<Object> command)
    {
    }

    private static final List<Program> PROGRAMS = List.of(
        new Program("echo", "the main job: a virtio-net echo device driven by the guest, every frame checked",
            EchoSample::new),
        new Program("vmexit", "the kvm-unit-tests vmexit matrix, simulated (--host kvm: on /dev/kvm too)",
            VmExitMatrix::new),
        new Program("bus-bench", "bus lookup, ioeventfd signal and eventfd hand-off costs beside their floors",
            BusBench::new),
        new Program("echo-bench", "the echo at 64/256/1500 bytes, EVENT_IDX on and off, 1 and 2 pairs, vs a floor",
            EchoBench::new),
        new Program("blk", "a virtio-blk device on a file or in memory with a fio-like job, every read verified",
            BlockSample::new),
        new Program("iops", "virtio-blk 4 KiB random IOPS on memory and file disks, beside fio when installed",
            IopsBench::new),
        new Program("ring", "ring hand-off benchmark after tools/virtio/ringtest, beside an SPSC floor",
            RingBench::new),
        new Program("report", "every benchmark in one JVM, interleaved: table, CSV and chart, ratios vs targets",
            Report::new),
        new Program("soak-echo", "soak: 10M frames of mixed sizes over two echo pairs; lost, duplicated, reordered",
            EchoSoak::new),
        new Program("soak-blk", "soak: random writes and verified reads on a 1 GiB image, then FLUSH and SIGKILL",
            BlockSoak::new),
        new Program("soak-control", "soak: ioeventfd assign/deassign, resets and link toggles under net and blk load",
            ControlSoak::new),
        new Program("vhost-user", "serves virtio-net or virtio-blk to QEMU over a vhost-user socket, until killed",
            VhostUserSample::new),
        new Program("trace-report", "prints exit statistics from an exit trace", ExitTraceReport::new));

    private Programs()
    {
    }

    /** @return every program, in the order {@code --help} lists them. */
    public static List<Program> all()
    {
        return PROGRAMS;
    }

    /**
     * Runs the program named by {@code args[0]} with the remaining arguments.
     *
     * @return the process exit status.
     */
    public static int run(final String[] args, final PrintStream out, final PrintStream err)
    {
        if (args.length == 0 || "--help".equals(args[0]) || "-h".equals(args[0]) || "help".equals(args[0]))
        {
            printHelp(out);
            return args.length == 0 ? USAGE : 0;
        }
        for (final Program program : PROGRAMS)
        {
            if (program.name().equals(args[0]))
            {
                return command(program, out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            }
        }
        err.println("jvirtio: unknown program '" + args[0] + "'; ./jvirtio --help lists the programs");
        return USAGE;
    }

    /**
     * @return a picocli command line for {@code program} that reports usage errors in one line.
     */
    public static CommandLine command(final Program program, final PrintStream out, final PrintStream err)
    {
        final CommandLine cmd = new CommandLine(program.command().get());
        cmd.setCommandName("./jvirtio " + program.name());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        cmd.setParameterExceptionHandler((ex, args) ->
        {
            err.println("jvirtio " + program.name() + ": " + ex.getMessage() + " (see ./jvirtio " + program.name()
                + " --help)");
            return USAGE;
        });
        return cmd;
    }

    private static void printHelp(final PrintStream out)
    {
        out.println("usage: ./jvirtio <program> [options]      (./jvirtio <program> --help for its options)");
        out.println("       ./jvirtio test                      (runs the whole test suite)");
        out.println();
        out.println("programs:");
        for (final Program program : PROGRAMS)
        {
            out.printf("  %-12s %s%n", program.name(), program.summary());
        }
    }
}
