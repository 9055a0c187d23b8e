package io.jvirtio.samples;

import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.blk.backend.BlockBackend;
import io.jvirtio.blk.backend.FileBlockBackend;
import io.jvirtio.blk.backend.MemoryBlockBackend;
import io.jvirtio.samples.bench.BlockJob;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The block sample: a VM with a virtio-blk device on a file image or in memory, and a fio-like job run by the guest
 * driver through the real exit path ({@link BlockJob}). Writes carry a per-block pattern (block number and write
 * generation) and every read is verified against the latest write of its block.
 * <p>
 * Thread safety: a command object; run once on the main thread, which plays the guest.
 */
@Command(name = "blk", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"A virtio-blk device on a file image or in memory, driven by the guest driver with a fio-like",
        "job: read, write, randread, randwrite or randrw at a block size and queue depth. Writes carry a",
        "per-block pattern and reads verify it. Prints IOPS, MiB/s, latency percentiles, kicks and interrupts",
        "per request, and bytes allocated per request."})
public final class BlockSample implements Callable<Integer>
{
    private static final long SECTOR = VirtioBlk.SECTOR_SIZE;

    @Option(names = "--file", description = "image file (created if missing); default: an in-memory disk")
    Path file;

    @Option(names = "--size-mib", description = "disk size in MiB when created (default: ${DEFAULT-VALUE})")
    int sizeMib = 64;

    @Option(names = "--rw", description = "read, write, randread, randwrite or randrw (default: ${DEFAULT-VALUE})")
    String rw = "randrw";

    @Option(names = "--bs", description = "block size in bytes, a multiple of 512 (default: ${DEFAULT-VALUE})")
    int blockSize = 4096;

    @Option(names = "--iodepth", description = "requests in flight, 1 to 128 (default: ${DEFAULT-VALUE})")
    int ioDepth = 32;

    @Option(names = "--requests", description = "requests to complete (default: ${DEFAULT-VALUE})")
    long requests = 200_000;

    @Option(names = "--seconds", description = "run for this long instead of a request count")
    double seconds;

    @Option(names = "--transport", description = "pci, mmio or mmio-datamatch (default: ${DEFAULT-VALUE})")
    String transport = "mmio";

    @Option(names = "--json", description = "print one JSON object as the last line")
    boolean json;

    @Spec
    CommandSpec spec;

    private CommandLine.ParameterException bad(final String message)
    {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    @Override
    public Integer call() throws IOException, InterruptedException
    {
        final PrintWriter out = spec.commandLine().getOut();
        final BlockJob.Pattern pattern = BlockJob.Pattern.parse(rw);
        if (pattern == null)
        {
            throw bad("--rw must be read, write, randread, randwrite or randrw, not '" + rw + "'");
        }
        if (blockSize < SECTOR || blockSize % SECTOR != 0 || blockSize > (1 << 20))
        {
            throw bad("--bs must be a multiple of 512 up to 1 MiB: " + blockSize);
        }
        if (ioDepth < 1 || ioDepth > 128 || sizeMib < 1 || requests < 1 || seconds < 0)
        {
            throw bad("--iodepth must be 1 to 128, --size-mib and --requests positive, --seconds not negative");
        }
        final TransportKind kind = TransportOption.parse(spec.commandLine(), transport);
        final long sectors = (long)sizeMib << 20 >> 9;
        try (BlockBackend backend = openBackend(sectors))
        {
            final long blocks = backend.capacity() * SECTOR / blockSize;
            if (blocks < ioDepth)
            {
                throw bad("the disk holds fewer blocks than --iodepth: blocks=" + blocks);
            }
            try (BlockJob job = new BlockJob(backend, kind, blockSize, ioDepth))
            {
                out.printf("blk: %s disk of %d MiB, %s, bs %d, iodepth %d, transport %s, features 0x%x%n",
                    file == null ? "memory" : "file " + file, backend.capacity() * SECTOR >> 20, rw, blockSize,
                    ioDepth, transport, job.features());
                if (pattern.reads())
                {
                    out.println("prefilling every block so reads have a pattern to verify ...");
                    job.prefill();
                }
                return report(out, job.run(pattern, ioDepth, requests, seconds, out));
            }
        }
    }

    private BlockBackend openBackend(final long sectors) throws IOException
    {
        if (file == null)
        {
            return new MemoryBlockBackend(sectors, false, "jvirtio-blk-sample");
        }
        return Files.exists(file)
            ? FileBlockBackend.open(file, false, "jvirtio-blk-sample")
            : FileBlockBackend.create(file, sectors, "jvirtio-blk-sample");
    }

    private int report(final PrintWriter out, final BlockJob.Result r)
    {
        final double iops = r.iops();
        final double mibs = iops * blockSize / (1 << 20);
        final double kicksPerRequest = (double)r.kicks() / r.requests();
        final double interruptsPerRequest = (double)r.interrupts() / r.requests();
        out.println();
        out.printf(Locale.ROOT, "requests %d in %.2f s: %.0f IOPS, %.1f MiB/s%n", r.requests(), r.elapsedSeconds(),
            iops, mibs);
        out.printf(Locale.ROOT, "latency p50 %.1f us, p99 %.1f us, max %.1f us%n", r.p50Us(), r.p99Us(), r.maxUs());
        out.printf(Locale.ROOT, "kicks per request %.4f, interrupts per request %.4f%n", kicksPerRequest,
            interruptsPerRequest);
        out.printf(Locale.ROOT, "bytes allocated per request %.2f (guest thread and workers)%n",
            r.allocBytesPerRequest());
        out.printf("verify errors %d, i/o errors %d%n", r.verifyErrors(), r.ioErrors());
        if (json)
        {
            final Map<String, Object> top = new LinkedHashMap<>();
            top.put("requests", r.requests());
            top.put("iops", iops);
            top.put("mib_per_second", mibs);
            top.put("p50_us", r.p50Us());
            top.put("p99_us", r.p99Us());
            top.put("verify_errors", r.verifyErrors());
            top.put("kicks_per_request", kicksPerRequest);
            top.put("interrupts_per_request", interruptsPerRequest);
            top.put("alloc_bytes_per_request", r.allocBytesPerRequest());
            out.println(Json.write(top));
        }
        return r.verifyErrors() == 0 && r.ioErrors() == 0 ? 0 : 1;
    }
}
