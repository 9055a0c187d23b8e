package io.jvirtio.samples;

import io.jvirtio.blk.BlockDevice;
import io.jvirtio.blk.BlockDeviceConfig;
import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.blk.backend.BlockBackend;
import io.jvirtio.blk.backend.FileBlockBackend;
import io.jvirtio.blk.backend.MemoryBlockBackend;
import io.jvirtio.blk.driver.BlockDriver;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.samples.bench.ThreadAllocations;
import io.jvirtio.samples.cli.Json;
import io.jvirtio.samples.cli.TransportOption;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.driver.VirtioDriver;
import io.jvirtio.virtio.machine.AttachedDevice;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.machine.VirtioMachine;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import org.HdrHistogram.Histogram;
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
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * The block sample: a VM with a virtio-blk device on a file image or in memory, and a fio-like job run by the guest
 * driver through the real exit path. Writes carry a per-block pattern (block number and write generation) and every
 * read is verified against the latest write of its block.
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
    private static final int QUEUE_SIZE = 256;
    private static final long SECTOR = VirtioBlk.SECTOR_SIZE;
    private static final int SPINS_BEFORE_HALT = 4096;
    private static final long GOLDEN = 0x9E37_79B9_7F4A_7C15L;

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

    private PrintWriter out;

    /** What the guest keeps per request in flight, indexed by tag (the chain's head). */
    private long[] blockOfTag;
    private int[] bufferOfTag;
    private boolean[] writeOfTag;
    private long[] startOfTag;
    private int[] generation;
    /** Blocks with a request in flight: never two at once on one block, so every read has one right answer. */
    private boolean[] busy;
    private int[] freeBuffers;
    private int freeTop;

    private CommandLine.ParameterException bad(final String message)
    {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    @Override
    public Integer call() throws IOException, InterruptedException
    {
        out = spec.commandLine().getOut();
        final boolean random = rw.startsWith("rand");
        final boolean reads = !"write".equals(rw) && !"randwrite".equals(rw);
        if (!Map.of("read", 1, "write", 1, "randread", 1, "randwrite", 1, "randrw", 1).containsKey(rw))
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
        final BlockBackend backend = openBackend(sectors);
        final long blocks = backend.capacity() * SECTOR / blockSize;
        if (blocks < ioDepth)
        {
            throw bad("the disk holds fewer blocks than --iodepth: blocks=" + blocks);
        }
        final BlockDevice device = new BlockDevice(backend, BlockDeviceConfig.defaults());
        final VmConfig vmConfig = VmConfig.defaults().withMemoryBytes(Math.max(64L << 20,
            ((long)ioDepth * blockSize + (32L << 20)) & -(2L << 20)));
        try (VirtioMachine machine = VirtioMachine.create(vmConfig))
        {
            final AttachedDevice attached = machine.attach(device, kind);
            final VirtioDriver driver = attached.driver();
            final long features = driver.initialize(VirtioFeatures.bit(VirtioBlk.VIRTIO_BLK_F_FLUSH)
                | VirtioFeatures.bit(VirtioBlk.VIRTIO_BLK_F_BLK_SIZE)
                | VirtioFeatures.bit(VirtioBlk.VIRTIO_BLK_F_SEG_MAX)
                | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_EVENT_IDX));
            final SplitQueueDriver queue = driver.setupQueue(0, QUEUE_SIZE);
            driver.driverOk();
            final GuestMemory memory = machine.vm().memory();
            final BlockDriver blk = new BlockDriver(memory, queue,
                machine.vm().guestAddressSpace().allocate(BlockDriver.slotAreaLength(QUEUE_SIZE), 64));
            final long buffers = machine.vm().guestAddressSpace().allocate((long)ioDepth * blockSize, 4096);
            blockOfTag = new long[QUEUE_SIZE];
            bufferOfTag = new int[QUEUE_SIZE];
            writeOfTag = new boolean[QUEUE_SIZE];
            startOfTag = new long[QUEUE_SIZE];
            generation = new int[(int)Math.min(blocks, Integer.MAX_VALUE)];
            busy = new boolean[generation.length];
            freeBuffers = new int[ioDepth];
            for (int i = 0; i < ioDepth; i++)
            {
                freeBuffers[i] = i;
            }
            freeTop = ioDepth;

            out.printf("blk: %s disk of %d MiB, %s, bs %d, iodepth %d, transport %s, features 0x%x%n",
                file == null ? "memory" : "file " + file, backend.capacity() * SECTOR >> 20, rw, blockSize,
                ioDepth, transport, features);
            final Job job = new Job(driver, queue, blk, memory, buffers, blocks, random, reads, "randrw".equals(rw),
                "write".equals(rw) || "randwrite".equals(rw));
            if (reads)
            {
                out.println("prefilling every block so reads have a pattern to verify ...");
                job.prefill();
            }
            return job.run();
        }
        finally
        {
            backend.close();
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

    /** The word at {@code index} of block {@code block} after its {@code gen}-th write. */
    private static long pattern(final long block, final int gen, final int index)
    {
        return (block * GOLDEN) ^ ((long)gen << 40) ^ index;
    }

    /** One run of the job. */
    private final class Job
    {
        private final VirtioDriver driver;
        private final SplitQueueDriver queue;
        private final BlockDriver blk;
        private final GuestMemory memory;
        private final long buffers;
        private final long blocks;
        private final boolean random;
        private final boolean mixed;
        private final boolean writesOnly;
        private final SplittableRandom rnd = new SplittableRandom(42);
        private final Histogram latency = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        private long sequential;
        private long kicks;
        private long verifyErrors;
        private long ioErrors;

        Job(final VirtioDriver driver, final SplitQueueDriver queue, final BlockDriver blk, final GuestMemory memory,
            final long buffers, final long blocks, final boolean random, final boolean reads, final boolean mixed,
            final boolean writesOnly)
        {
            this.driver = driver;
            this.queue = queue;
            this.blk = blk;
            this.memory = memory;
            this.buffers = buffers;
            this.blocks = blocks;
            this.random = random;
            this.mixed = mixed;
            this.writesOnly = writesOnly;
        }

        void prefill() throws InterruptedException
        {
            sequential = 0;
            final long saved = sequential;
            long done = 0;
            while (done < blocks)
            {
                done += pump(blocks - done, true, false);
            }
            sequential = saved;
            latency.reset();
        }

        /** Issues up to the depth, kicks, reaps; returns requests completed in this round. */
        private int pump(final long remaining, final boolean forceWrite, final boolean record)
            throws InterruptedException
        {
            int issued = 0;
            while (freeTop > 0 && issued < remaining)
            {
                long block = random ? rnd.nextLong(blocks) : sequential++ % blocks;
                // bound: the disk holds at least iodepth blocks, so a free one is found within a few tries
                while (busy[(int)block])
                {
                    block = random ? rnd.nextLong(blocks) : sequential++ % blocks;
                }
                final boolean write = forceWrite || writesOnly || (mixed && rnd.nextBoolean());
                final int buffer = freeBuffers[--freeTop];
                final long gpa = buffers + (long)buffer * blockSize;
                final int tag;
                if (write)
                {
                    final int gen = generation[(int)block] + 1;
                    for (int w = 0; w < blockSize / Long.BYTES; w++)
                    {
                        memory.putLongLE(gpa + (long)w * Long.BYTES, pattern(block, gen, w));
                    }
                    tag = blk.write(block * (blockSize / SECTOR), gpa, blockSize);
                }
                else
                {
                    tag = blk.read(block * (blockSize / SECTOR), gpa, blockSize);
                }
                if (tag == BlockDriver.NO_SPACE)
                {
                    freeTop++;
                    break;
                }
                busy[(int)block] = true;
                blockOfTag[tag] = block;
                bufferOfTag[tag] = buffer;
                writeOfTag[tag] = write;
                startOfTag[tag] = System.nanoTime();
                issued++;
            }
            if (issued > 0 && blk.publish())
            {
                kicks++;
                driver.transport().notifyQueue(0);
            }
            int completed = 0;
            // bound: at most the queue size completions are outstanding
            for (int tag = blk.reap(); tag != BlockDriver.NOTHING_COMPLETED; tag = blk.reap())
            {
                complete(tag, record);
                completed++;
            }
            if (completed == 0 && issued == 0)
            {
                idle();
            }
            return completed;
        }

        private void complete(final int tag, final boolean record)
        {
            final long now = System.nanoTime();
            final long block = blockOfTag[tag];
            final long gpa = buffers + (long)bufferOfTag[tag] * blockSize;
            if (blk.status() != VirtioBlk.VIRTIO_BLK_S_OK)
            {
                ioErrors++;
            }
            else if (writeOfTag[tag])
            {
                generation[(int)block]++;
            }
            else
            {
                final int gen = generation[(int)block];
                for (int w = 0; w < blockSize / Long.BYTES; w++)
                {
                    if (memory.getLongLE(gpa + (long)w * Long.BYTES) != (gen == 0 ? 0 : pattern(block, gen, w)))
                    {
                        verifyErrors++;
                        break;
                    }
                }
            }
            if (record)
            {
                latency.recordValue(Math.min(now - startOfTag[tag], latency.getHighestTrackableValue()));
            }
            busy[(int)block] = false;
            freeBuffers[freeTop++] = bufferOfTag[tag];
        }

        /** Spins a little, then halts with interrupts enabled until the device uses something. */
        private void idle() throws InterruptedException
        {
            for (int i = 0; i < SPINS_BEFORE_HALT; i++)
            {
                if (queue.lastUsed() != queue.raw().usedIdx())
                {
                    return;
                }
                Thread.onSpinWait();
            }
            if (!queue.enableInterruptsAndCheck())
            {
                driver.awaitInterrupt(1, TimeUnit.SECONDS);
            }
            queue.disableInterrupts();
        }

        int run() throws InterruptedException
        {
            queue.disableInterrupts();
            final long warm = Math.min(requests / 10, 20_000);
            long done = 0;
            while (done < warm)
            {
                done += pump(warm - done, false, false);
            }
            final long interruptsBefore = driver.interrupts();
            final long kicksBefore = kicks;
            final ThreadAllocations allocations = ThreadAllocations.of("virtio-blk-q");
            final long allocatedBefore = allocations.bytes();
            final long deadline = seconds > 0 ? System.nanoTime() + (long)(seconds * 1e9) : Long.MAX_VALUE;
            final long target = seconds > 0 ? Long.MAX_VALUE : requests;
            long completed = 0;
            long progressBytes = 0;
            long nextProgress = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            final long start = System.nanoTime();
            while (completed < target && System.nanoTime() < deadline)
            {
                completed += pump(target - completed, false, true);
                if (System.nanoTime() > nextProgress)
                {
                    // the progress line is the program's, not the data path's: its allocation is not counted
                    final long printing = allocations.bytes();
                    out.printf("  %d requests, %.0f IOPS so far%n", completed,
                        completed * 1e9 / (System.nanoTime() - start));
                    progressBytes += allocations.bytes() - printing;
                    nextProgress += TimeUnit.SECONDS.toNanos(1);
                }
            }
            final double elapsed = (System.nanoTime() - start) / 1e9;
            // drain what is still in flight so the counts are whole
            while (freeTop < ioDepth)
            {
                pump(0, false, false);
            }
            final long allocated = allocations.bytes() - allocatedBefore - progressBytes;
            return report(completed, elapsed, kicks - kicksBefore, driver.interrupts() - interruptsBefore, allocated);
        }

        private int report(final long completed, final double elapsed, final long kickCount, final long irqs,
            final long allocated)
        {
            final double iops = completed / elapsed;
            final double mibs = iops * blockSize / (1 << 20);
            final double p50 = latency.getValueAtPercentile(50) / 1e3;
            final double p99 = latency.getValueAtPercentile(99) / 1e3;
            out.println();
            out.printf(Locale.ROOT, "requests %d in %.2f s: %.0f IOPS, %.1f MiB/s%n", completed, elapsed, iops, mibs);
            out.printf(Locale.ROOT, "latency p50 %.1f us, p99 %.1f us, max %.1f us%n", p50, p99,
                latency.getMaxValue() / 1e3);
            out.printf(Locale.ROOT, "kicks per request %.4f, interrupts per request %.4f%n",
                (double)kickCount / completed, (double)irqs / completed);
            out.printf(Locale.ROOT, "bytes allocated per request %.2f (guest thread and workers)%n",
                (double)allocated / completed);
            out.printf("verify errors %d, i/o errors %d%n", verifyErrors, ioErrors);
            if (json)
            {
                final Map<String, Object> top = new LinkedHashMap<>();
                top.put("requests", completed);
                top.put("iops", iops);
                top.put("mib_per_second", mibs);
                top.put("p50_us", p50);
                top.put("p99_us", p99);
                top.put("verify_errors", verifyErrors);
                top.put("kicks_per_request", (double)kickCount / completed);
                top.put("interrupts_per_request", (double)irqs / completed);
                top.put("alloc_bytes_per_request", (double)allocated / completed);
                out.println(Json.write(top));
            }
            return verifyErrors == 0 && ioErrors == 0 ? 0 : 1;
        }
    }
}
