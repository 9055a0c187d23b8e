package io.jvirtio.samples;

import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.blk.backend.BlockBackend;
import io.jvirtio.blk.backend.FileBlockBackend;
import io.jvirtio.blk.backend.MemoryBlockBackend;
import io.jvirtio.bus.event.BackoffIdleStrategy;
import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.event.ParkingIdleStrategy;
import io.jvirtio.bus.linux.Libc;
import io.jvirtio.bus.vm.ExitStyle;
import io.jvirtio.samples.bench.BlockJob;
import io.jvirtio.samples.bench.CopyFloor;
import io.jvirtio.samples.bench.EventFdHandOff;
import io.jvirtio.samples.bench.HandOffFloors;
import io.jvirtio.samples.bench.Ratio;
import io.jvirtio.samples.bench.Sample;
import io.jvirtio.samples.bench.SpscFloor;
import io.jvirtio.samples.bench.SvgChart;
import io.jvirtio.samples.cli.Json;
import io.jvirtio.virtio.machine.TransportKind;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The one-run measurement set (performance anchors, section 7) in one JVM: the floors, the vmexit matrix's VMX rows,
 * the ring benchmark with sleeping notifications, the echo at 64, 256 and 1500 bytes (virtio-pci, EVENT_IDX) and
 * virtio-blk random-read IOPS on a memory disk at depth 1 and 32. Every part runs once per run and the runs interleave
 * them, so noise hits all alike; each figure is the median over the runs, with its spread. The ratios of section 6.2
 * are stated beside their targets. Writes report.md, report.csv and report.svg into the output folder.
 * <p>
 * The measuring is done by the programs that own each figure ({@link VmExitMatrix}, {@link RingBench},
 * {@link EchoSample}, {@link BlockJob}, the floors in the bench package); this command only schedules and reports.
 * <p>
 * Thread safety: a command object; run once on the main thread, which plays the guest.
 */
@Command(name = "report", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"The whole measurement set in one JVM, interleaved run after run:",
        "  floors: busy-spin, in-JVM eventfd with parking, park/unpark,",
        "          Linux eventfd write+read, SPSC ring, MemorySegment.copy of 64 KiB",
        "  vmexit matrix (vmx rows), ring (sleeping notifications),",
        "  echo at 64, 256 and 1500 bytes (virtio-pci, EVENT_IDX),",
        "  block IOPS (memory disk, 4 KiB randread at depth 1 and 32).",
        "Medians and spreads go into report.md, report.csv and report.svg in --out,",
        "and every ratio is printed beside its target with pass or MISS.",
        "--quick (the default): 5 runs of 300 000 echo frames, within two minutes.",
        "--full: 9 runs of 1 000 000 echo frames, the rest scaled alike, within fifteen.",
        "--runs and --frames override either mode's figure."})
public final class Report implements Callable<Integer>
{
    private static final int[] ECHO_SIZES = {64, 256, 1500};
    private static final int[] BLK_DEPTHS = {1, 32};
    private static final int RING_SIZE = 256;
    private static final int COPY_BYTES = 64 << 10;
    private static final int BLOCK_SIZE = 4096;
    private static final long BLK_DISK_BYTES = 64L << 20;
    private static final int MIN_FRAMES = 2_000;
    private static final int QUICK_RUNS = 5;
    private static final long QUICK_FRAMES = 300_000;
    private static final int FULL_RUNS = 9;
    private static final long FULL_FRAMES = 1_000_000;
    private static final int BLK_DISK_MIB = (int)(BLK_DISK_BYTES >> 20);

    @Option(names = "--quick", description = "5 runs of 300 000 echo frames, under two minutes (the default)")
    boolean quick;

    @Option(names = "--full", description = "9 runs of 1 000 000 echo frames (and more of everything), under fifteen "
        + "minutes")
    boolean full;

    @Option(names = "--runs", description = "measured runs, overriding the mode's (each part once per run, after one "
        + "warm-up run)")
    Integer runs;

    @Option(names = "--frames", description = "echo frames per measurement, at least " + MIN_FRAMES + ", overriding the"
        + " mode's; every other part's work is scaled from it")
    Long frames;

    @Option(names = "--out", description = "the output folder (default: ${DEFAULT-VALUE})")
    Path out = Path.of("jvirtio-out");

    @Option(names = "--json", description = "print one JSON object as the last line")
    boolean json;

    @Spec
    CommandSpec spec;

    private PrintWriter console;

    /** Every figure of the report, in table order, and the counts the ratios need. */
    private static final class Figures implements AutoCloseable
    {
        final List<Sample> floors = new ArrayList<>();
        final Sample spin = new Sample("floor: busy-spin hand-off", "ns/round trip");
        final Sample eventFdPark = new Sample("floor: in-JVM eventfd hand-off, parking", "ns/round trip");
        final Sample park = new Sample("floor: park/unpark", "ns/round trip");
        final Sample linuxEventFd = new Sample("floor: Linux eventfd write+read", "ns/op");
        final Sample spsc = new Sample("floor: SPSC ring " + RING_SIZE, "elements/s");
        final Sample copy = new Sample("floor: MemorySegment.copy 64 KiB", "GB/s");
        final List<VmExitMatrix.Row> rows = new ArrayList<>();
        final Sample ring = new Sample("ring " + RING_SIZE + ", sleeping", "buffers/s");
        long ringBuffers;
        long ringKicks;
        long ringInterrupts;
        final Sample[] echo = new Sample[ECHO_SIZES.length];
        final long[] echoFrames = new long[ECHO_SIZES.length];
        final long[] echoKicks = new long[ECHO_SIZES.length];
        final long[] echoInterrupts = new long[ECHO_SIZES.length];
        final long[] echoAllocated = new long[ECHO_SIZES.length];
        boolean echoClean = true;
        final Sample[] blk = new Sample[BLK_DEPTHS.length];
        long blkErrors;
        final Sample blkFile = new Sample("blk file randread qd1 (beside fio)", "IOPS");
        final Sample fio = new Sample("fio psync randread, page cache", "IOPS");
        String fioNote = "skipped: fio not installed";

        Figures()
        {
            floors.addAll(List.of(spin, eventFdPark, park, linuxEventFd, spsc, copy));
            for (final String eventfd : List.of("none", "wildcard", "datamatch"))
            {
                rows.add(new VmExitMatrix.Row("mmio", eventfd, true, ExitStyle.VMX));
                rows.add(new VmExitMatrix.Row("mmio", eventfd, false, ExitStyle.VMX));
            }
            for (final String eventfd : List.of("none", "wildcard", "datamatch"))
            {
                rows.add(new VmExitMatrix.Row("pio", eventfd, true, ExitStyle.VMX));
            }
            for (int i = 0; i < ECHO_SIZES.length; i++)
            {
                echo[i] = new Sample("echo " + ECHO_SIZES[i] + " B, pci, event_idx", "packets/s");
            }
            for (int i = 0; i < BLK_DEPTHS.length; i++)
            {
                blk[i] = new Sample("blk memory randread qd" + BLK_DEPTHS[i], "IOPS");
            }
        }

        VmExitMatrix.Row row(final String access, final String eventfd, final boolean fastBus)
        {
            for (final VmExitMatrix.Row row : rows)
            {
                if (row.access.equals(access) && row.eventfd.equals(eventfd) && row.fastBus == fastBus)
                {
                    return row;
                }
            }
            throw new IllegalStateException("no such vmexit row: access=" + access + ", eventfd=" + eventfd);
        }

        boolean rowsVerified()
        {
            boolean verified = true;
            for (final VmExitMatrix.Row row : rows)
            {
                verified &= row.verified();
            }
            return verified;
        }

        /** @return every sample in table order, the vmexit rows after the floors. */
        List<Sample> all()
        {
            final List<Sample> all = new ArrayList<>(floors);
            for (final VmExitMatrix.Row row : rows)
            {
                all.add(row.nanos);
            }
            all.add(ring);
            all.addAll(List.of(echo));
            all.addAll(List.of(blk));
            if (blkFile.count() > 0 && fio.count() > 0)
            {
                all.add(blkFile);
                all.add(fio);
            }
            return all;
        }

        @Override
        public void close()
        {
            for (final VmExitMatrix.Row row : rows)
            {
                row.close();
            }
        }
    }

    /** How much work each part does per run, all scaled from the echo's frames. */
    private record Work(int runs, long frames, int fioSeconds)
    {
        int spinRoundTrips()
        {
            return (int)Math.max(1_000, frames / 2);
        }

        int blockingRoundTrips()
        {
            return (int)Math.max(100, frames / 50);
        }

        long spscElements()
        {
            return Math.max(10_000, frames * 4);
        }

        int copies()
        {
            return (int)Math.max(100, frames / 20);
        }

        int accesses()
        {
            return (int)Math.max(1_000, frames / 2);
        }

        long ringBuffers()
        {
            return Math.max(10_000, frames * 4);
        }

        long blkRequests(final int depth)
        {
            return Math.max(1_000, depth == 1 ? frames / 4 : frames);
        }
    }

    @Override
    public Integer call() throws IOException, InterruptedException
    {
        console = spec.commandLine().getOut();
        if (quick && full)
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "--quick and --full exclude each other");
        }
        final Work work = new Work(runs != null ? runs : full ? FULL_RUNS : QUICK_RUNS,
            frames != null ? frames : full ? FULL_FRAMES : QUICK_FRAMES, full ? 3 : 1);
        if (work.runs() < 1 || work.frames() < MIN_FRAMES)
        {
            throw new CommandLine.ParameterException(spec.commandLine(),
                "--runs must be at least 1 and --frames at least " + MIN_FRAMES);
        }
        Files.createDirectories(out);
        final RingBench ring = new RingBench();
        ring.buffers = work.ringBuffers();
        final PrintWriter quiet = new PrintWriter(new StringWriter());
        try (Figures figures = new Figures();
            BlockBackend disk = new MemoryBlockBackend(BLK_DISK_BYTES >> VirtioBlk.SECTOR_SHIFT, false,
                "jvirtio-report");
            BlockJob blk = new BlockJob(disk, TransportKind.MMIO_WILDCARD, BLOCK_SIZE,
                BLK_DEPTHS[BLK_DEPTHS.length - 1]);
            FioComparison fio = FioComparison.open(IopsBench.findOnPath("fio"), out))
        {
            console.printf("report: %s, %d runs after one warm-up run, %d echo frames per measurement, output %s%n",
                full ? "full" : "quick", work.runs(), work.frames(), out.toAbsolutePath());
            console.println("report: prefilling the memory disk so every read has a pattern to verify");
            blk.prefill();
            if (fio == null)
            {
                console.println("report: fio not found on the PATH: blk_over_fio is skipped");
            }
            else
            {
                console.printf("report: fio found; prefilling a %d MiB file image to compare with it: %s%n",
                    BLK_DISK_MIB, fio.image);
                fio.job.prefill();
                figures.fioNote = "skipped: fio gave no figure";
            }
            for (int run = 0; run <= work.runs(); run++)
            {
                final String label = run == 0 ? "warm-up" : "run " + run + "/" + work.runs();
                runOnce(figures, work, ring, blk, quiet, run > 0, label);
                if (fio != null && run > 0)
                {
                    console.printf("  %s: file disk randread qd1 and fio beside it%n", label);
                    fio.measure(figures, work, console);
                }
            }
            return report(figures, work);
        }
    }

    /** The file disk and fio on the same image, when fio is on the PATH: the two figures of blk_over_fio. */
    private static final class FioComparison implements AutoCloseable
    {
        final Path fio;
        final Path dir;
        final Path image;
        final BlockBackend backend;
        final BlockJob job;

        private FioComparison(final Path fio, final Path dir, final Path image, final BlockBackend backend,
            final BlockJob job)
        {
            this.fio = fio;
            this.dir = dir;
            this.image = image;
            this.backend = backend;
            this.job = job;
        }

        /** @return the comparison with its image in a fresh directory under {@code parent}, or null without fio. */
        static FioComparison open(final Path fio, final Path parent) throws IOException
        {
            if (fio == null)
            {
                return null;
            }
            final Path dir = Files.createTempDirectory(parent, "blk-image");
            final Path image = dir.resolve("report.img");
            final BlockBackend backend = FileBlockBackend.create(image, BLK_DISK_BYTES >> VirtioBlk.SECTOR_SHIFT,
                "jvirtio-report");
            try
            {
                return new FioComparison(fio, dir, image, backend, new BlockJob(backend, TransportKind.MMIO_WILDCARD,
                    BLOCK_SIZE, 1));
            }
            catch (final RuntimeException ex)
            {
                backend.close();
                Files.deleteIfExists(image);
                Files.deleteIfExists(dir);
                throw ex;
            }
        }

        /** One run of the file disk at depth 1, then fio's psync random reads on the same image. */
        void measure(final Figures f, final Work work, final PrintWriter progress)
            throws IOException, InterruptedException
        {
            final BlockJob.Result r = job.run(BlockJob.Pattern.RANDREAD, 1, work.blkRequests(1), 0, null);
            final double fioIops = IopsBench.runFio(fio, image, BLK_DISK_MIB, work.fioSeconds(),
                progress);
            f.blkFile.add(r.iops());
            f.blkErrors += r.verifyErrors() + r.ioErrors();
            if (fioIops > 0)
            {
                f.fio.add(fioIops);
            }
        }

        @Override
        public void close() throws IOException
        {
            try
            {
                job.close();
                backend.close();
            }
            finally
            {
                Files.deleteIfExists(image);
                Files.deleteIfExists(dir);
            }
        }
    }

    /** Runs every part once; records the figures when {@code record}. */
    private void runOnce(final Figures f, final Work work, final RingBench ring, final BlockJob blk,
        final PrintWriter quiet, final boolean record, final String label) throws InterruptedException
    {
        console.printf("  %s: floors%n", label);
        final double spin = HandOffFloors.busySpinRoundTripNanos(work.spinRoundTrips());
        final double eventFdPark = EventFdHandOff.roundTripNanos(EventFds::jvm, ParkingIdleStrategy.INSTANCE,
            work.blockingRoundTrips());
        final double park = HandOffFloors.parkUnparkRoundTripNanos(work.blockingRoundTrips());
        final double linux = linuxEventFdNanos(work.spinRoundTrips());
        final double spsc = SpscFloor.elementsPerSecond(RING_SIZE, work.spscElements());
        final double copy = CopyFloor.bytesPerSecond(COPY_BYTES, work.copies()) / 1e9;
        console.printf("  %s: vmexit matrix, %d vmx rows%n", label, f.rows.size());
        for (final VmExitMatrix.Row row : f.rows)
        {
            final double ns = row.measure(work.accesses());
            if (record)
            {
                row.nanos.add(ns);
            }
        }
        console.printf("  %s: ring, sleeping notifications%n", label);
        final RingBench.Result r = ring.runRing(true);
        console.printf("  %s: echo at 64, 256 and 1500 bytes%n", label);
        final EchoSample.Result[] echoes = new EchoSample.Result[ECHO_SIZES.length];
        for (int i = 0; i < ECHO_SIZES.length; i++)
        {
            echoes[i] = EchoSample.measure(work.frames(), ECHO_SIZES[i], 1, TransportKind.PCI,
                new BackoffIdleStrategy(), true, true, quiet);
        }
        console.printf("  %s: block randread, depth 1 and 32%n", label);
        final BlockJob.Result[] blks = new BlockJob.Result[BLK_DEPTHS.length];
        for (int i = 0; i < BLK_DEPTHS.length; i++)
        {
            blks[i] = blk.run(BlockJob.Pattern.RANDREAD, BLK_DEPTHS[i], work.blkRequests(BLK_DEPTHS[i]), 0, null);
        }
        if (!record)
        {
            return;
        }
        f.spin.add(spin);
        f.eventFdPark.add(eventFdPark);
        f.park.add(park);
        f.linuxEventFd.add(linux);
        f.spsc.add(spsc);
        f.copy.add(copy);
        f.ring.add(r.buffersPerSecond);
        f.ringBuffers += work.ringBuffers();
        f.ringKicks += r.kicks;
        f.ringInterrupts += r.interrupts;
        for (int i = 0; i < ECHO_SIZES.length; i++)
        {
            f.echo[i].add(echoes[i].pps());
            f.echoFrames[i] += echoes[i].frames();
            f.echoKicks[i] += echoes[i].kicks();
            f.echoInterrupts[i] += echoes[i].interrupts();
            f.echoAllocated[i] += echoes[i].allocated();
            f.echoClean &= echoes[i].clean();
        }
        for (int i = 0; i < BLK_DEPTHS.length; i++)
        {
            f.blk[i].add(blks[i].iops());
            f.blkErrors += blks[i].verifyErrors() + blks[i].ioErrors();
        }
    }

    /** @return ns per write+read of a Linux eventfd, or NaN when the libc binding is unavailable. */
    private static double linuxEventFdNanos(final int iterations)
    {
        if (!Libc.isAvailable())
        {
            return Double.NaN;
        }
        try (EventFd fd = EventFds.linux())
        {
            return EventFdHandOff.signalAndReadNanos(fd, iterations);
        }
    }

    private static List<Ratio> ratios(final Figures f)
    {
        final double fastMmio = f.row("mmio", "wildcard", true).nanos.median();
        double kicks = 0;
        double interrupts = 0;
        double allocated = 0;
        double overFloor = Double.MAX_VALUE;
        for (int i = 0; i < ECHO_SIZES.length; i++)
        {
            kicks = Math.max(kicks, (double)f.echoKicks[i] / f.echoFrames[i]);
            interrupts = Math.max(interrupts, (double)f.echoInterrupts[i] / f.echoFrames[i]);
            allocated = Math.max(allocated, (double)f.echoAllocated[i] / f.echoFrames[i]);
            overFloor = Math.min(overFloor, f.echo[i].median() / f.spsc.median());
        }
        return List.of(
            Ratio.atMost("fast_mmio_over_pio", fastMmio / f.row("pio", "wildcard", true).nanos.median(), 1.05),
            Ratio.atMost("fast_bus_present_over_absent",
                f.row("mmio", "none", true).nanos.median() / f.row("mmio", "none", false).nanos.median(), 1.01),
            Ratio.atMost("fast_over_emulated", fastMmio / f.row("mmio", "wildcard", false).nanos.median(), 0.5),
            Ratio.atMost("kicks_per_packet", kicks, 0.05),
            Ratio.atMost("interrupts_per_packet", interrupts, 0.05),
            Ratio.atMost("alloc_bytes_per_packet", allocated, 0.0),
            Ratio.atLeast("echo_over_ring_floor", overFloor, 0.3),
            Ratio.reported("ring_sleep_over_spsc_floor", f.ring.median() / f.spsc.median()),
            f.fio.count() > 0
                ? Ratio.atLeast("blk_over_fio", f.blkFile.median() / f.fio.median(), 0.8)
                : new Ratio("blk_over_fio", Double.NaN, ">= 0.8", true));
    }

    private static boolean skipped(final Ratio ratio)
    {
        return Double.isNaN(ratio.value());
    }

    private static String verdict(final Ratio ratio, final Figures f)
    {
        if (skipped(ratio))
        {
            return f.fioNote;
        }
        if (ratio.target().isEmpty())
        {
            return "reported";
        }
        return ratio.pass() ? "pass" : "MISS";
    }

    private int report(final Figures f, final Work work) throws IOException
    {
        final List<Ratio> ratios = ratios(f);
        final String table = markdown(f, ratios, work);
        final Path tablePath = out.resolve("report.md");
        final Path csvPath = out.resolve("report.csv");
        final Path chartPath = out.resolve("report.svg");
        Files.writeString(tablePath, table, StandardCharsets.UTF_8);
        Files.writeString(csvPath, csv(f, ratios), StandardCharsets.UTF_8);
        Files.writeString(chartPath, chart(f), StandardCharsets.UTF_8);
        console.println();
        console.print(table);
        console.printf("wrote %s, %s and %s%n", tablePath, csvPath, chartPath);
        final boolean verified = f.rowsVerified() && f.echoClean && f.blkErrors == 0;
        if (!verified)
        {
            console.printf("VERIFICATION FAILED: vmexit rows verified %s, every echo frame intact %s, block "
                + "errors %d%n", f.rowsVerified(), f.echoClean, f.blkErrors);
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
                if (skipped(ratio))
                {
                    r.put("note", f.fioNote);
                }
                rat.put(ratio.name(), r);
            }
            final Map<String, Object> top = new LinkedHashMap<>();
            top.put("ratios", rat);
            top.put("table", tablePath.toAbsolutePath().toString());
            top.put("csv", csvPath.toAbsolutePath().toString());
            top.put("chart", chartPath.toAbsolutePath().toString());
            console.println(Json.write(top));
        }
        console.flush();
        return verified ? 0 : 1;
    }

    private static String markdown(final Figures f, final List<Ratio> ratios, final Work work)
    {
        final StringBuilder sb = new StringBuilder(4096);
        sb.append("# jvirtio report\n\n");
        sb.append(String.format(Locale.ROOT, "%d interleaved runs after one warm-up run; %d echo frames per "
            + "measurement; Java %s, %d processors. Medians over the runs; spread is (max - min) / median.%n%n",
            work.runs(), work.frames(), Runtime.version(), Runtime.getRuntime().availableProcessors()));
        sb.append("| figure | unit | median | min | max | spread |\n");
        sb.append("|---|---|---:|---:|---:|---:|\n");
        for (final Sample s : f.all())
        {
            if (Double.isNaN(s.median()))
            {
                sb.append("| ").append(s.name()).append(" | ").append(s.unit()).append(" | n/a | | | |\n");
                continue;
            }
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %.0f%% |%n", s.name(), s.unit(),
                figure(s.median()), figure(s.min()), figure(s.max()), 100 * s.spread()));
        }
        sb.append(String.format(Locale.ROOT, "%nring: %.4f kicks and %.4f interrupts per buffer.%n",
            (double)f.ringKicks / f.ringBuffers, (double)f.ringInterrupts / f.ringBuffers));
        for (int i = 0; i < ECHO_SIZES.length; i++)
        {
            sb.append(String.format(Locale.ROOT, "echo %d B: %.4f kicks, %.4f interrupts and %.4g bytes allocated "
                + "per packet.%n", ECHO_SIZES[i], (double)f.echoKicks[i] / f.echoFrames[i],
                (double)f.echoInterrupts[i] / f.echoFrames[i], (double)f.echoAllocated[i] / f.echoFrames[i]));
        }
        sb.append("\n| ratio | value | target | verdict |\n");
        sb.append("|---|---:|---|---|\n");
        for (final Ratio ratio : ratios)
        {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s |%n", ratio.name(),
                skipped(ratio) ? "n/a" : String.format(Locale.ROOT, "%.4g", ratio.value()), ratio.target(),
                verdict(ratio, f)));
        }
        return sb.toString();
    }

    /** @return {@code v} with the decimals its size needs: whole numbers from 1000, three places below 10. */
    private static String figure(final double v)
    {
        if (Math.abs(v) >= 1000)
        {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        return String.format(Locale.ROOT, Math.abs(v) >= 10 ? "%.1f" : "%.3f", v);
    }

    private static String csv(final Figures f, final List<Ratio> ratios)
    {
        final StringBuilder sb = new StringBuilder(2048);
        sb.append("kind,name,unit,median,min,max,spread,runs,target,verdict\n");
        for (final Sample s : f.all())
        {
            final boolean none = Double.isNaN(s.median());
            sb.append("figure,").append(csvField(s.name())).append(',').append(csvField(s.unit())).append(',');
            sb.append(none ? "" : s.median()).append(',').append(none ? "" : s.min()).append(',');
            sb.append(none ? "" : s.max()).append(',').append(none ? "" : s.spread()).append(',');
            sb.append(s.count()).append(",,\n");
        }
        for (final Ratio ratio : ratios)
        {
            sb.append("ratio,").append(csvField(ratio.name())).append(",,");
            sb.append(skipped(ratio) ? "" : ratio.value()).append(",,,,,");
            sb.append(csvField(ratio.target())).append(',').append(csvField(verdict(ratio, f))).append('\n');
        }
        return sb.toString();
    }

    /** @return {@code s} quoted as RFC 4180 asks when it holds a comma, a quote or a line break. */
    static String csvField(final String s)
    {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0)
        {
            return s;
        }
        return '"' + s.replace("\"", "\"\"") + '"';
    }

    private static String chart(final Figures f)
    {
        final double[] echo = new double[ECHO_SIZES.length];
        final String[] echoLabels = new String[ECHO_SIZES.length];
        for (int i = 0; i < ECHO_SIZES.length; i++)
        {
            echo[i] = f.echo[i].median();
            echoLabels[i] = ECHO_SIZES[i] + " B";
        }
        final double[] blk = new double[BLK_DEPTHS.length];
        final String[] blkLabels = new String[BLK_DEPTHS.length];
        for (int i = 0; i < BLK_DEPTHS.length; i++)
        {
            blk[i] = f.blk[i].median();
            blkLabels[i] = "qd" + BLK_DEPTHS[i];
        }
        return new SvgChart("jvirtio report: medians of " + f.spsc.count() + " interleaved runs")
            .group("cost per kick by path (vmx)", "kick path", "ns per kick",
                new String[]{"fast MMIO", "PIO", "emulated MMIO", "userspace"},
                new double[]{f.row("mmio", "wildcard", true).nanos.median(),
                    f.row("pio", "wildcard", true).nanos.median(), f.row("mmio", "wildcard", false).nanos.median(),
                    f.row("mmio", "none", true).nanos.median()})
            .group("echo packets/s by frame size", "frame size", "packets/s", echoLabels, echo)
            .group("block IOPS by queue depth (randread)", "queue depth", "IOPS", blkLabels, blk)
            .toSvg();
    }
}
