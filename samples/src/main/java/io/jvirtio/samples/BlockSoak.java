package io.jvirtio.samples;

import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.blk.backend.FileBlockBackend;
import io.jvirtio.samples.cli.Json;
import io.jvirtio.samples.soak.BlockSoakChild;
import io.jvirtio.samples.soak.BlockSoakGuest;
import io.jvirtio.samples.soak.ChildJvm;
import io.jvirtio.samples.soak.KillCheck;
import io.jvirtio.samples.soak.RequestMix;
import io.jvirtio.samples.soak.SectorPattern;
import io.jvirtio.samples.soak.SectorShadow;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * The block soak: random writes and verified reads over a file image through a virtio-blk device and the real exit
 * path, with a seeded mix of request sizes (512 B to 128 KiB) and queue depths (1 to 32), the host keeping a
 * per-sector shadow of the last acknowledged write (not a copy of the disk); every read and, at the end, every sector
 * of the image is compared with it. Then the kill test ({@link KillCheck}): a child JVM serving the device writes,
 * gets FLUSH acknowledged, keeps writing and is killed with SIGKILL; the image must hold every acknowledged write.
 * <p>
 * Thread safety: a command object; run once on the main thread, which plays the guest.
 */
@Command(name = "soak-blk", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Soak of virtio-blk on a file image: random writes and verified reads of 512 B to 128 KiB at",
        "depths 1 to 32 (fixed seed) against a per-sector shadow, a final sweep of the whole image, then the kill",
        "test: a child JVM writes, gets FLUSH acknowledged, is killed with SIGKILL, and every acknowledged write",
        "must be in the image. Prints MB/s and requests; exits 1 on any mismatch."})
public final class BlockSoak implements Callable<Integer>
{
    private static final long PROGRESS_NANOS = TimeUnit.SECONDS.toNanos(5);

    @Option(names = "--image", paramLabel = "PATH",
        description = "image file (created at --size if missing); default: one in a temporary directory")
    Path image;

    @Option(names = "--size", description = "image size, bytes or with K, M or G (default: ${DEFAULT-VALUE})")
    String size = "1G";

    @Option(names = "--requests", description = "random requests, about half writes (default: ${DEFAULT-VALUE})")
    long requests = 200_000;

    @Option(names = "--kill-writes", description = "writes made durable before the kill, 0 for no kill test "
        + "(default: ${DEFAULT-VALUE})")
    long killWrites = 20_000;

    @Option(names = "--seed", description = "seed of the request mix (default: ${DEFAULT-VALUE})")
    long seed = 11;

    @Option(names = "--json", description = "print one JSON object as the last line")
    boolean json;

    @Spec
    CommandSpec spec;

    /**
     * What the random phase saw.
     *
     * @param requests   requests completed.
     * @param writes     of which writes.
     * @param bytes      data bytes moved.
     * @param seconds    how long it took.
     * @param mismatches sectors read (during the run or in the final sweep) without their last acknowledged write.
     * @param ioErrors   requests completed with a status other than OK.
     */
    public record Result(long requests, long writes, long bytes, double seconds, long mismatches, long ioErrors)
    {
        /** @return megabytes (10^6) moved per second. */
        public double mbPerSecond()
        {
            return bytes / seconds / 1e6;
        }
    }

    /**
     * What the kill test saw.
     *
     * @param exitStatus the child's exit status ({@link ChildJvm#KILLED} if SIGKILL ended it).
     * @param flushed    writes acknowledged before the acknowledged FLUSH.
     * @param acked      writes after it known to be acknowledged when the child was killed.
     * @param outcome    the image, sector by sector.
     */
    public record KillResult(int exitStatus, long flushed, long acked, KillCheck.Outcome outcome)
    {
        /** @return true if SIGKILL ended the child and every acknowledged write is in the image. */
        public boolean clean()
        {
            return exitStatus == ChildJvm.KILLED && outcome.clean();
        }
    }

    @Override
    public Integer call() throws IOException, InterruptedException
    {
        final PrintWriter out = spec.commandLine().getOut();
        final long bytes = parseSize(size);
        if (bytes < 1 << 20 || bytes % SectorPattern.SECTOR != 0 || bytes / SectorPattern.SECTOR > Integer.MAX_VALUE)
        {
            throw bad("--size must be a multiple of 512 from 1M to 1023G: " + size);
        }
        if (requests < 1 || killWrites < 0 || killWrites > Integer.MAX_VALUE / 2)
        {
            throw bad("--requests must be positive and --kill-writes 0 to " + Integer.MAX_VALUE / 2);
        }
        final Path dir = image == null ? Files.createTempDirectory("jvirtio-soak-blk") : null;
        try
        {
            final Path disk = image == null ? dir.resolve("soak.img") : image;
            final Result r = soak(disk, bytes / SectorPattern.SECTOR, requests, seed, out);
            out.printf(Locale.ROOT, "requests %d (%d writes) in %.1f s: %.0f requests/s, %.1f MB/s%n", r.requests(),
                r.writes(), r.seconds(), r.requests() / r.seconds(), r.mbPerSecond());
            out.printf("mismatches %d, i/o errors %d%n", r.mismatches(), r.ioErrors());
            KillResult k = null;
            if (killWrites > 0)
            {
                final Path killImage = image == null ? dir.resolve("kill.img")
                    : image.resolveSibling(image.getFileName() + ".kill");
                k = kill(killImage, bytes / SectorPattern.SECTOR, killWrites, seed, out);
                out.printf("kill: child exit %d (SIGKILL is %d), %d writes flushed, %d acknowledged after the flush%n",
                    k.exitStatus(), ChildJvm.KILLED, k.flushed(), k.acked());
                out.printf("kill: flushed writes missing %d sectors, acknowledged writes missing %d sectors, "
                    + "%d sectors hold a later write%n", k.outcome().flushedMissing(), k.outcome().ackedMissing(),
                    k.outcome().later());
                if (image != null)
                {
                    Files.deleteIfExists(killImage);
                }
            }
            final boolean clean = r.mismatches() == 0 && r.ioErrors() == 0 && (k == null || k.clean());
            if (json)
            {
                out.println(Json.write(json(r, k, clean)));
            }
            out.flush();
            return clean ? 0 : 1;
        }
        finally
        {
            if (dir != null)
            {
                Files.deleteIfExists(dir.resolve("soak.img"));
                Files.deleteIfExists(dir.resolve("kill.img"));
                Files.deleteIfExists(dir);
            }
        }
    }

    private static Map<String, Object> json(final Result r, final KillResult k, final boolean clean)
    {
        final Map<String, Object> top = new LinkedHashMap<>();
        top.put("requests", r.requests());
        top.put("writes", r.writes());
        top.put("bytes", r.bytes());
        top.put("seconds", r.seconds());
        top.put("mb_per_second", r.mbPerSecond());
        top.put("mismatches", r.mismatches());
        top.put("io_errors", r.ioErrors());
        if (k != null)
        {
            final Map<String, Object> kill = new LinkedHashMap<>();
            kill.put("exit_status", k.exitStatus());
            kill.put("flushed_writes", k.flushed());
            kill.put("acked_writes", k.acked());
            kill.put("flushed_missing", k.outcome().flushedMissing());
            kill.put("acked_missing", k.outcome().ackedMissing());
            kill.put("later", k.outcome().later());
            top.put("kill", kill);
        }
        top.put("clean", clean);
        return top;
    }

    private CommandLine.ParameterException bad(final String message)
    {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    /** @return {@code text} (digits, then optionally K, M or G for powers of 1024) in bytes, or -1 if malformed. */
    static long parseSize(final String text)
    {
        if (text == null || !text.matches("[0-9]{1,12}[KMGkmg]?"))
        {
            return -1;
        }
        final char last = Character.toUpperCase(text.charAt(text.length() - 1));
        final int shift = switch (last)
        {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            default -> 0;
        };
        return Long.parseLong(shift == 0 ? text : text.substring(0, text.length() - 1)) << shift;
    }

    /**
     * The random phase: {@code requests} requests of the seeded mix over the whole image, every read compared with
     * the shadow, then every sector of the image.
     *
     * @param disk    the image; created at {@code sectors} if missing, else opened as it is (sectors this run does
     *                not write are then not checked).
     * @param sectors the size of an image to create.
     */
    public static Result soak(final Path disk, final long sectors, final long requests, final long seed,
        final PrintWriter progress) throws IOException, InterruptedException
    {
        final boolean existed = Files.exists(disk);
        try (FileBlockBackend backend = existed ? FileBlockBackend.open(disk, false, "soak")
            : FileBlockBackend.create(disk, sectors, "soak"))
        {
            final SectorShadow shadow = new SectorShadow(backend.capacity());
            final RequestMix mix = new RequestMix(seed, 0, backend.capacity());
            final long[] counts = new long[3];
            final BlockSoakGuest.Completion check = (write, sector, count, id, status, data) ->
            {
                if (status != VirtioBlk.VIRTIO_BLK_S_OK)
                {
                    counts[1]++;
                }
                else if (write)
                {
                    shadow.acknowledged(sector, count, id);
                    counts[2]++;
                }
                else
                {
                    counts[0] += shadow.mismatches(data, sector, count, existed);
                }
            };
            progress.printf("soak-blk: %d requests of 512 B to 128 KiB at depths 1 to %d (seed %d) on %s, %d MiB%n",
                requests, RequestMix.MAX_DEPTH, seed, disk, backend.capacity() * SectorPattern.SECTOR >> 20);
            progress.flush();
            final long start = System.nanoTime();
            final double seconds;
            try (BlockSoakGuest guest = new BlockSoakGuest(backend))
            {
                long nextProgress = start + PROGRESS_NANOS;
                long id = 0;
                for (long i = 0; i < requests; i++)
                {
                    final long sector = mix.sector(i);
                    final int count = mix.count(i);
                    // bound: each round completes something or halts until the device does; at most 32 in flight
                    while (guest.inFlight() >= mix.depth(i) || guest.overlapsInFlight(sector, count))
                    {
                        guest.publish();
                        guest.complete(check);
                    }
                    final boolean write = mix.write(i);
                    guest.submit(write, sector, count, write ? ++id : 0);
                    if (System.nanoTime() - nextProgress > 0)
                    {
                        progress.printf(Locale.ROOT, "  %d of %d requests, %.1f MB/s so far, mismatches %d%n",
                            guest.requests(), requests, guest.bytes() / ((System.nanoTime() - start) / 1e9) / 1e6,
                            counts[0]);
                        progress.flush();
                        nextProgress += PROGRESS_NANOS;
                    }
                }
                guest.publish();
                final int flush = guest.flush(check);
                seconds = (System.nanoTime() - start) / 1e9;
                counts[1] += flush == VirtioBlk.VIRTIO_BLK_S_OK ? 0 : 1;
                final long mismatches = counts[0] + sweep(disk, shadow, existed);
                return new Result(guest.requests(), counts[2], guest.bytes(), seconds, mismatches, counts[1]);
            }
        }
    }

    /** @return sectors of the image that do not hold their last acknowledged write. */
    private static long sweep(final Path disk, final SectorShadow shadow, final boolean existed) throws IOException
    {
        long wrong = 0;
        final long chunk = RequestMix.MAX_SECTORS;
        try (FileChannel channel = FileChannel.open(disk, StandardOpenOption.READ);
            Arena arena = Arena.ofConfined())
        {
            final MemorySegment bytes = channel.map(FileChannel.MapMode.READ_ONLY, 0,
                shadow.sectors() * SectorPattern.SECTOR, arena);
            for (long s = 0; s < shadow.sectors(); s += chunk)
            {
                final int count = (int)Math.min(chunk, shadow.sectors() - s);
                wrong += shadow.mismatches(bytes.asSlice(s * SectorPattern.SECTOR, (long)count * SectorPattern.SECTOR),
                    s, count, existed);
            }
        }
        return wrong;
    }

    /**
     * The kill test on a fresh image of {@code sectors}: see {@link KillCheck}.
     *
     * @param flushed the writes the child makes durable before it is killed.
     */
    public static KillResult kill(final Path killImage, final long sectors, final long flushed, final long seed,
        final PrintWriter progress) throws IOException, InterruptedException
    {
        Files.deleteIfExists(killImage);
        try (FileBlockBackend created = FileBlockBackend.create(killImage, sectors, "soak-kill"))
        {
            progress.printf("kill test: a child JVM writes %d requests, FLUSH, keeps writing, is killed; image %s%n",
                flushed, killImage);
            progress.flush();
        }
        final int status;
        final long acked;
        try (ChildJvm child = ChildJvm.start(BlockSoakChild.class, killImage.toString(), Long.toString(seed),
            Long.toString(flushed)))
        {
            child.awaitLine(KillCheck.FLUSHED);
            // the child's first acknowledged batch after the FLUSH: the kill then lands while it writes the next
            acked = Long.parseLong(child.awaitLine(KillCheck.ACKED).substring(KillCheck.ACKED.length()).strip());
            status = child.kill();
        }
        final KillCheck.Outcome outcome = new KillCheck(seed, sectors, flushed).check(killImage, acked);
        Files.deleteIfExists(killImage);
        return new KillResult(status, flushed, acked, outcome);
    }
}
