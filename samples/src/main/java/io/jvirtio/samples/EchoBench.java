package io.jvirtio.samples;

import io.jvirtio.bus.event.BackoffIdleStrategy;
import io.jvirtio.samples.bench.Ratio;
import io.jvirtio.samples.bench.Sample;
import io.jvirtio.samples.bench.SpscFloor;
import io.jvirtio.samples.cli.Json;
import io.jvirtio.samples.cli.TransportOption;
import io.jvirtio.virtio.machine.TransportKind;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The echo's throughput set: 64, 256 and 1500-byte frames, EVENT_IDX on and off, one and two queue pairs; for each,
 * packets/s, kicks and interrupts per packet, bytes allocated per packet, and packets/s over a plain SPSC ring of the
 * same size between two threads, measured in the same run (the ring hand-off floor). Configurations are interleaved
 * run after run; each figure is the median of the runs.
 * <p>
 * Thread safety: a command object; run once on the main thread.
 */
@Command(name = "echo-bench", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"The echo at 64, 256 and 1500 bytes, EVENT_IDX on and off, one and two queue pairs: packets/s,",
        "kicks and interrupts per packet, bytes allocated per packet, and packets/s over the SPSC ring floor",
        "measured in the same run."})
public final class EchoBench implements Callable<Integer>
{
    private static final int[] SIZES = {64, 256, 1500};
    private static final int FLOOR_RING = 256;

    @Option(names = "--frames", description = "frames per measurement (default: ${DEFAULT-VALUE})")
    long frames = 300_000;

    @Option(names = "--runs", description = "measurements per configuration (default: ${DEFAULT-VALUE})")
    int runs = 3;

    @Option(names = "--transport", description = TransportOption.NAMES + " (default: ${DEFAULT-VALUE})")
    String transport = "pci";

    @Option(names = "--json", description = "print one JSON object as the last line")
    boolean json;

    @Spec
    CommandSpec spec;

    /** One configuration and what its runs measured. */
    private static final class Config
    {
        final int size;
        final boolean eventIdx;
        final int pairs;
        final Sample pps;
        long frames;
        long kicks;
        long interrupts;
        long allocated;
        boolean clean = true;

        Config(final int size, final boolean eventIdx, final int pairs)
        {
            this.size = size;
            this.eventIdx = eventIdx;
            this.pairs = pairs;
            this.pps = new Sample(name(), "packets/s");
        }

        String name()
        {
            return size + "B " + (eventIdx ? "event_idx" : "flags") + " " + pairs + "qp";
        }
    }

    @Override
    public Integer call() throws InterruptedException
    {
        final PrintWriter out = spec.commandLine().getOut();
        if (frames < 10_000 || runs < 1)
        {
            throw new CommandLine.ParameterException(spec.commandLine(),
                "--frames must be at least 10000 and --runs at least 1");
        }
        final TransportKind kind = TransportOption.parse(spec.commandLine(), transport);
        final List<Config> configs = new ArrayList<>();
        for (final int size : SIZES)
        {
            for (final boolean eventIdx : new boolean[]{true, false})
            {
                for (final int pairs : new int[]{1, 2})
                {
                    configs.add(new Config(size, eventIdx, pairs));
                }
            }
        }
        final Sample floor = new Sample("spsc_floor", "elements/s");
        final PrintWriter quiet = new PrintWriter(new StringWriter());
        out.printf("echo-bench: %d configurations x %d runs of %d frames, transport %s, interleaved%n",
            configs.size(), runs, frames, transport);
        for (int run = 0; run < runs; run++)
        {
            floor.add(SpscFloor.elementsPerSecond(FLOOR_RING, frames * 4));
            for (final Config c : configs)
            {
                final EchoSample.Result r = EchoSample.measure(frames, c.size, c.pairs, kind,
                    new BackoffIdleStrategy(), c.eventIdx, true, quiet);
                c.pps.add(r.pps());
                c.frames += r.frames();
                c.kicks += r.kicks();
                c.interrupts += r.interrupts();
                c.allocated += r.allocated();
                c.clean &= r.clean();
            }
            out.printf("  run %d/%d done%n", run + 1, runs);
        }
        out.println();
        out.printf("%-26s %12s %8s %11s %10s %12s %9s %6s%n", "configuration", "packets/s", "spread",
            "kicks/pkt", "irqs/pkt", "alloc B/pkt", "vs floor", "clean");
        final Map<String, Object> rows = new LinkedHashMap<>();
        boolean allClean = true;
        double worstKicks = 0;
        double worstIrqs = 0;
        double worstAlloc = 0;
        double worstFloor = Double.MAX_VALUE;
        for (final Config c : configs)
        {
            final double kicks = (double)c.kicks / c.frames;
            final double irqs = (double)c.interrupts / c.frames;
            final double alloc = (double)c.allocated / c.frames;
            final double overFloor = c.pps.median() / floor.median();
            out.printf(Locale.ROOT, "%-26s %12.0f %7.0f%% %11.4f %10.4f %12.3f %9.3f %6s%n", c.name(), c.pps.median(),
                100 * c.pps.spread(), kicks, irqs, alloc, overFloor, c.clean ? "yes" : "NO");
            allClean &= c.clean;
            worstAlloc = Math.max(worstAlloc, alloc);
            if (c.eventIdx)
            {
                worstKicks = Math.max(worstKicks, kicks);
                worstIrqs = Math.max(worstIrqs, irqs);
                worstFloor = Math.min(worstFloor, overFloor);
            }
            final Map<String, Object> row = new LinkedHashMap<>();
            row.put("pps", c.pps.median());
            row.put("kicks_per_packet", kicks);
            row.put("interrupts_per_packet", irqs);
            row.put("alloc_bytes_per_packet", alloc);
            row.put("over_floor", overFloor);
            row.put("clean", c.clean);
            rows.put(c.size + "_" + (c.eventIdx ? "event_idx" : "flags") + "_" + c.pairs + "qp", row);
        }
        out.printf(Locale.ROOT, "spsc floor (ring %d, same two cores): %.0f elements/s (spread %.0f%%)%n",
            FLOOR_RING, floor.median(), 100 * floor.spread());
        final List<Ratio> ratios = List.of(
            Ratio.atMost("kicks_per_packet_event_idx_worst", worstKicks, 0.05),
            Ratio.atMost("interrupts_per_packet_event_idx_worst", worstIrqs, 0.05),
            Ratio.atMost("alloc_bytes_per_packet_worst", worstAlloc, 0.0),
            Ratio.atLeast("echo_over_ring_floor_event_idx_worst", worstFloor, 0.3));
        out.println();
        out.println("ratios (medians from the same run):");
        for (final Ratio ratio : ratios)
        {
            out.println("  " + ratio);
        }
        if (json)
        {
            final Map<String, Object> rat = new LinkedHashMap<>();
            for (final Ratio ratio : ratios)
            {
                final Map<String, Object> r = new LinkedHashMap<>();
                r.put("value", ratio.value());
                r.put("target", ratio.target());
                r.put("pass", ratio.pass());
                rat.put(ratio.name(), r);
            }
            final Map<String, Object> top = new LinkedHashMap<>();
            top.put("floor_per_second", floor.median());
            top.put("configurations", rows);
            top.put("ratios", rat);
            out.println(Json.write(top));
        }
        return allClean ? 0 : 1;
    }
}
