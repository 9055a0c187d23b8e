package io.jvirtio.samples;

import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.blk.backend.BlockBackend;
import io.jvirtio.blk.backend.FileBlockBackend;
import io.jvirtio.blk.backend.MemoryBlockBackend;
import io.jvirtio.samples.bench.BlockJob;
import io.jvirtio.samples.bench.Ratio;
import io.jvirtio.samples.bench.Sample;
import io.jvirtio.samples.cli.Json;
import io.jvirtio.samples.cli.TransportOption;
import io.jvirtio.virtio.machine.TransportKind;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * virtio-blk IOPS: 4 KiB random reads and random writes at queue depth 1 and 32, on a memory disk and on a file image
 * (made in a temporary directory and deleted afterwards), through the guest driver and the real exit path. Every
 * configuration runs once per round and the rounds interleave them, so a noisy neighbour hits all alike; the figure
 * quoted is the median over rounds. When {@code fio} is on the PATH, each round also runs fio with the psync engine
 * and buffered 4 KiB random reads on the same image, and the file disk's depth-1 random-read IOPS are put over fio's
 * (both are one synchronous read at a time from the page cache).
 * <p>
 * Thread safety: a command object; run once on the main thread, which plays the guest.
 */
@Command(name = "iops", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"virtio-blk IOPS: 4 KiB randread and randwrite at iodepth 1 and 32 on a memory disk and a file",
        "image, interleaved over rounds; medians of IOPS and of bytes allocated per request (target 0). With fio",
        "installed, fio (psync, randread, 4k, buffered) runs on the same image and the ratio of our depth-1",
        "random-read IOPS to fio's is printed (target >= 0.8)."})
public final class IopsBench implements Callable<Integer>
{
    private static final int BLOCK_SIZE = 4096;
    private static final int[] DEPTHS = {1, 32};
    private static final BlockJob.Pattern[] PATTERNS = {BlockJob.Pattern.RANDREAD, BlockJob.Pattern.RANDWRITE};
    private static final String[] BACKENDS = {"memory", "file"};
    /** fio's JSON: the {@code iops} figure of the {@code read} object of the first job. */
    private static final Pattern FIO_READ_IOPS =
        Pattern.compile("\"read\"\\s*:\\s*\\{[^{}]*?\"iops\"\\s*:\\s*([0-9.]+(?:[eE][+-]?[0-9]+)?)");
    private static final double FIO_TARGET = 0.8;
    /** Performance anchor R11: at least 1 M IOPS from one worker at depth 32 or more on a disk that does no I/O. */
    private static final double R11_IOPS = 1e6;

    @Option(names = "--size-mib", description = "disk size in MiB, both disks (default: ${DEFAULT-VALUE})")
    int sizeMib = 256;

    @Option(names = "--requests", description = "measured requests per run (default: ${DEFAULT-VALUE})")
    long requests = 100_000;

    @Option(names = "--rounds", description = "rounds; each runs every configuration once (default: ${DEFAULT-VALUE})")
    int rounds = 3;

    @Option(names = "--fio-seconds", description = "length of each fio run (default: ${DEFAULT-VALUE})")
    int fioSeconds = 3;

    @Option(names = "--dir", description = "where the temporary image is made (default: the system temp directory)")
    Path dir;

    @Option(names = "--transport", description = "pci, mmio or mmio-datamatch (default: ${DEFAULT-VALUE})")
    String transport = "mmio";

    @Option(names = "--json", description = "print one JSON object as the last line")
    boolean json;

    @Spec
    CommandSpec spec;

    private PrintWriter out;

    /** One configuration's runs. */
    private static final class Series
    {
        final String backend;
        final BlockJob.Pattern pattern;
        final int depth;
        final Sample iops;
        final List<Double> runs = new ArrayList<>();
        final Sample allocBytesPerRequest;
        long verifyErrors;
        long ioErrors;

        Series(final String backend, final BlockJob.Pattern pattern, final int depth)
        {
            this.backend = backend;
            this.pattern = pattern;
            this.depth = depth;
            this.iops = new Sample(backend + " " + pattern.label() + " qd" + depth, "IOPS");
            this.allocBytesPerRequest = new Sample(iops.name() + " allocation", "bytes per request");
        }

        String key()
        {
            return backend + "_" + pattern.label() + "_qd" + depth;
        }
    }

    @Override
    public Integer call() throws IOException, InterruptedException
    {
        out = spec.commandLine().getOut();
        if (sizeMib < 1 || requests < 1 || rounds < 1 || fioSeconds < 1)
        {
            throw new CommandLine.ParameterException(spec.commandLine(),
                "--size-mib, --requests, --rounds and --fio-seconds must be positive");
        }
        final TransportKind kind = TransportOption.parse(spec.commandLine(), transport);
        final long sectors = (long)sizeMib << 20 >> VirtioBlk.SECTOR_SHIFT;
        final Path tempDir = Files.createTempDirectory(dir == null ? Path.of(System.getProperty("java.io.tmpdir"))
            : dir, "jvirtio-iops");
        final Path image = tempDir.resolve("iops.img");
        final Path fio = findOnPath("fio");
        try (BlockBackend memory = new MemoryBlockBackend(sectors, false, "jvirtio-iops");
            BlockBackend file = FileBlockBackend.create(image, sectors, "jvirtio-iops");
            BlockJob memoryJob = new BlockJob(memory, kind, BLOCK_SIZE, DEPTHS[DEPTHS.length - 1]);
            BlockJob fileJob = new BlockJob(file, kind, BLOCK_SIZE, DEPTHS[DEPTHS.length - 1]))
        {
            out.printf("iops: 4 KiB blocks, %d MiB disks (memory, and file %s), %d requests per run, %d rounds, "
                + "transport %s%n", sizeMib, image, requests, rounds, transport);
            out.println("prefilling both disks so reads have a pattern to verify (and the image is in the page cache)");
            memoryJob.prefill();
            fileJob.prefill();
            final List<Series> series = new ArrayList<>();
            for (final String backend : BACKENDS)
            {
                for (final BlockJob.Pattern pattern : PATTERNS)
                {
                    for (final int depth : DEPTHS)
                    {
                        series.add(new Series(backend, pattern, depth));
                    }
                }
            }
            final Sample fioIops = new Sample("fio psync randread", "IOPS");
            final List<Double> fioRuns = new ArrayList<>();
            if (fio == null)
            {
                out.println("fio not found on the PATH: skipping the fio comparison");
            }
            for (int round = 1; round <= rounds; round++)
            {
                for (final Series s : series)
                {
                    final BlockJob job = "memory".equals(s.backend) ? memoryJob : fileJob;
                    final BlockJob.Result r = job.run(s.pattern, s.depth, requests, 0, null);
                    s.iops.add(r.iops());
                    s.runs.add(r.iops());
                    s.allocBytesPerRequest.add(r.allocBytesPerRequest());
                    s.verifyErrors += r.verifyErrors();
                    s.ioErrors += r.ioErrors();
                    out.printf(Locale.ROOT, "  round %d: %-24s %10.0f IOPS, %.2f bytes allocated per request%n",
                        round, s.iops.name(), r.iops(), r.allocBytesPerRequest());
                }
                if (fio != null)
                {
                    final double figure = runFio(fio, image);
                    if (figure > 0)
                    {
                        fioIops.add(figure);
                        fioRuns.add(figure);
                        out.printf(Locale.ROOT, "  round %d: %-24s %10.0f IOPS%n", round, fioIops.name(), figure);
                    }
                }
            }
            return report(series, fio != null, fioIops, fioRuns);
        }
        finally
        {
            Files.deleteIfExists(image);
            Files.deleteIfExists(tempDir);
        }
    }

    private int report(final List<Series> series, final boolean fioFound, final Sample fioIops,
        final List<Double> fioRuns)
    {
        out.println();
        out.printf("%-26s %12s %12s %12s %14s %8s%n", "configuration", "median IOPS", "min", "max", "alloc B/req",
            "errors");
        long errors = 0;
        final List<Object> rows = new ArrayList<>();
        final Map<String, Object> ratios = new LinkedHashMap<>();
        for (final Series s : series)
        {
            out.printf(Locale.ROOT, "%-26s %12.0f %12.0f %12.0f %14.2f %8d%n", s.iops.name(), s.iops.median(),
                s.iops.min(), s.iops.max(), s.allocBytesPerRequest.median(), s.verifyErrors + s.ioErrors);
            errors += s.verifyErrors + s.ioErrors;
            final Map<String, Object> row = new LinkedHashMap<>();
            row.put("backend", s.backend);
            row.put("rw", s.pattern.label());
            row.put("iodepth", s.depth);
            row.put("iops_median", s.iops.median());
            row.put("iops_min", s.iops.min());
            row.put("iops_max", s.iops.max());
            row.put("iops_runs", s.runs);
            row.put("alloc_bytes_per_request", s.allocBytesPerRequest.median());
            row.put("verify_errors", s.verifyErrors);
            row.put("io_errors", s.ioErrors);
            rows.add(row);
        }
        final Series fileReadQd1 = find(series, "file_randread_qd1");
        final Series memoryReadQd1 = find(series, "memory_randread_qd1");
        out.println();
        out.println("ratios (medians from the same run):");
        final Ratio fileOverMemory = Ratio.reported("file_over_memory_randread_qd1",
            fileReadQd1.iops.median() / memoryReadQd1.iops.median());
        out.println("  " + fileOverMemory);
        ratios.put(fileOverMemory.name(), fileOverMemory.value());
        final Ratio r11 = Ratio.atLeast("memory_randread_qd32_over_r11_1m",
            find(series, "memory_randread_qd32").iops.median() / R11_IOPS, 1.0);
        out.println("  " + r11);
        ratios.put(r11.name(), r11.value());
        final Map<String, Object> fioJson = new LinkedHashMap<>();
        fioJson.put("available", fioFound);
        if (fioIops.count() > 0)
        {
            final Ratio overFio = Ratio.atLeast("file_randread_qd1_over_fio",
                fileReadQd1.iops.median() / fioIops.median(), FIO_TARGET);
            out.println("  " + overFio);
            ratios.put(overFio.name(), overFio.value());
            ratios.put(overFio.name() + "_pass", overFio.pass());
            fioJson.put("iops_median", fioIops.median());
            fioJson.put("iops_runs", fioRuns);
        }
        else
        {
            out.println("  file_randread_qd1_over_fio: skipped, " + (fioFound ? "fio failed" : "fio not installed"));
        }
        if (json)
        {
            final Map<String, Object> top = new LinkedHashMap<>();
            top.put("block_size", BLOCK_SIZE);
            top.put("size_mib", sizeMib);
            top.put("requests_per_run", requests);
            top.put("rounds", rounds);
            top.put("transport", transport);
            top.put("results", rows);
            top.put("fio", fioJson);
            top.put("ratios", ratios);
            top.put("errors", errors);
            out.println(Json.write(top));
        }
        return errors == 0 ? 0 : 1;
    }

    private static Series find(final List<Series> series, final String key)
    {
        for (final Series s : series)
        {
            if (s.key().equals(key))
            {
                return s;
            }
        }
        throw new IllegalStateException("no such configuration: key=" + key);
    }

    /** @return the executable {@code name} in a directory of the PATH, or null. */
    static Path findOnPath(final String name)
    {
        final String path = System.getenv("PATH");
        if (path == null)
        {
            return null;
        }
        for (final String entry : path.split(java.io.File.pathSeparator))
        {
            if (!entry.isEmpty())
            {
                final Path candidate = Path.of(entry, name);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate))
                {
                    return candidate;
                }
            }
        }
        return null;
    }

    /**
     * Runs fio's buffered psync 4 KiB random reads on the image for {@link #fioSeconds}.
     *
     * @return read IOPS, or -1 after printing why fio gave none.
     */
    private double runFio(final Path fio, final Path image) throws IOException, InterruptedException
    {
        return runFio(fio, image, sizeMib, fioSeconds, out);
    }

    /**
     * Runs fio's buffered psync 4 KiB random reads on the first {@code sizeMib} MiB of {@code image}.
     *
     * @param out where a line goes when fio gives no figure.
     * @return read IOPS, or -1 after printing why fio gave none.
     */
    static double runFio(final Path fio, final Path image, final int sizeMib, final int fioSeconds,
        final PrintWriter out) throws IOException, InterruptedException
    {
        final Path report = image.resolveSibling("fio.json");
        final Process process = new ProcessBuilder(fio.toString(), "--name=jvirtio-iops",
            "--filename=" + image, "--ioengine=psync", "--rw=randread", "--bs=4k", "--direct=0",
            // fio drops the file's cached pages before a job unless told not to; the comparison is from the page cache
            "--invalidate=0",
            "--size=" + sizeMib + "M", "--time_based", "--runtime=" + fioSeconds, "--output-format=json")
            .redirectOutput(report.toFile())
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
        try
        {
            if (!process.waitFor(fioSeconds + 60L, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
                out.println("  fio did not finish; no fio figure this round");
                return -1;
            }
            final double iops = parseFioReadIops(Files.readString(report, StandardCharsets.UTF_8));
            if (process.exitValue() != 0 || iops <= 0)
            {
                out.println("  fio failed (exit " + process.exitValue() + "); no fio figure this round");
                return -1;
            }
            return iops;
        }
        finally
        {
            Files.deleteIfExists(report);
        }
    }

    /**
     * @param json fio's {@code --output-format=json} output.
     * @return {@code jobs[0].read.iops}, or -1 if the output holds none.
     */
    static double parseFioReadIops(final String json)
    {
        final Matcher m = FIO_READ_IOPS.matcher(json);
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }
}
