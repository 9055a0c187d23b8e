package io.jvirtio.samples.bench;

import io.jvirtio.blk.BlockDevice;
import io.jvirtio.blk.BlockDeviceConfig;
import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.blk.backend.BlockBackend;
import io.jvirtio.blk.driver.BlockDriver;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.driver.VirtioDriver;
import io.jvirtio.virtio.machine.AttachedDevice;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.machine.VirtioMachine;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import org.HdrHistogram.Histogram;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * A fio-like job on a virtio-blk device: a VM with the device on a backend, and the guest driver keeping a number of
 * requests in flight through the real exit path. Writes carry a per-block pattern (block number and write generation)
 * and every read is verified against the latest write of its block. One job can be run many times, with any pattern
 * and any depth up to the one it was made for, so that programs can interleave runs on one device.
 * <p>
 * Thread safety: make, run and close it on one thread, which plays the guest.
 */
public final class BlockJob implements AutoCloseable
{
    private static final int QUEUE_SIZE = 256;
    private static final long SECTOR = VirtioBlk.SECTOR_SIZE;
    private static final int SPINS_BEFORE_HALT = 4096;
    private static final long GOLDEN = 0x9E37_79B9_7F4A_7C15L;

    /** The access patterns, named as fio names them. */
    public enum Pattern
    {
        READ, WRITE, RANDREAD, RANDWRITE, RANDRW;

        /** @return the pattern named {@code name} as fio spells it, or null. */
        public static Pattern parse(final String name)
        {
            for (final Pattern p : values())
            {
                if (p.label().equals(name))
                {
                    return p;
                }
            }
            return null;
        }

        /** @return the name as fio spells it. */
        public String label()
        {
            return name().toLowerCase(Locale.ROOT);
        }

        boolean random()
        {
            return this == RANDREAD || this == RANDWRITE || this == RANDRW;
        }

        /** @return true if the pattern reads (so the disk is worth prefilling with a pattern to verify). */
        public boolean reads()
        {
            return this == READ || this == RANDREAD || this == RANDRW;
        }
    }

    /**
     * What one run measured.
     *
     * @param requests         requests completed in the measured part.
     * @param elapsedSeconds   its length.
     * @param p50Us            median latency, microseconds.
     * @param p99Us            99th percentile latency, microseconds.
     * @param maxUs            largest latency, microseconds.
     * @param kicks            notifications the guest sent.
     * @param interrupts       interrupts the guest took.
     * @param allocatedBytes   bytes allocated by the guest thread and the device's workers.
     * @param verifyErrors     reads that did not return the latest write of their block.
     * @param ioErrors         requests completed with a status other than OK.
     */
    public record Result(long requests, double elapsedSeconds, double p50Us, double p99Us, double maxUs, long kicks,
        long interrupts, long allocatedBytes, long verifyErrors, long ioErrors)
    {
        /** @return requests per second. */
        public double iops()
        {
            return requests / elapsedSeconds;
        }

        /** @return bytes allocated per request. */
        public double allocBytesPerRequest()
        {
            return (double)allocatedBytes / requests;
        }
    }

    private final BlockBackend backend;
    private final VirtioMachine machine;
    private final VirtioDriver driver;
    private final SplitQueueDriver queue;
    private final BlockDriver blk;
    private final GuestMemory memory;
    private final long buffers;
    private final long blocks;
    private final int blockSize;
    private final int maxDepth;
    private final long features;
    private final SplittableRandom rnd = new SplittableRandom(42);
    private final Histogram latency = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);

    /** What the guest keeps per request in flight, indexed by tag (the chain's head). */
    private final long[] blockOfTag = new long[QUEUE_SIZE];
    private final int[] bufferOfTag = new int[QUEUE_SIZE];
    private final boolean[] writeOfTag = new boolean[QUEUE_SIZE];
    private final long[] startOfTag = new long[QUEUE_SIZE];
    private final int[] generation;
    /** Blocks with a request in flight: never two at once on one block, so every read has one right answer. */
    private final boolean[] busy;
    private final int[] freeBuffers;
    private int freeTop;
    private int depth;
    private Pattern pattern = Pattern.RANDREAD;
    private long sequential;
    private long kicks;
    private long verifyErrors;
    private long ioErrors;

    /**
     * Makes a VM with a virtio-blk device on {@code backend} and brings the driver up.
     *
     * @param backend   the disk; the job does not close it.
     * @param transport how the device is presented.
     * @param blockSize bytes per request, a multiple of 512.
     * @param maxDepth  the largest depth a run may use, 1 to 128; the disk must hold at least that many blocks.
     */
    public BlockJob(final BlockBackend backend, final TransportKind transport, final int blockSize, final int maxDepth)
    {
        this.backend = backend;
        this.blockSize = blockSize;
        this.maxDepth = maxDepth;
        this.blocks = backend.capacity() * SECTOR / blockSize;
        if (blocks < maxDepth)
        {
            throw new IllegalArgumentException("the disk holds fewer blocks than the depth: blocks=" + blocks
                + ", depth=" + maxDepth);
        }
        final BlockDevice device = new BlockDevice(backend, BlockDeviceConfig.defaults());
        final VmConfig vmConfig = VmConfig.defaults().withMemoryBytes(Math.max(64L << 20,
            ((long)maxDepth * blockSize + (32L << 20)) & -(2L << 20)));
        machine = VirtioMachine.create(vmConfig);
        try
        {
            final AttachedDevice attached = machine.attach(device, transport);
            driver = attached.driver();
            features = driver.initialize(VirtioFeatures.bit(VirtioBlk.VIRTIO_BLK_F_FLUSH)
                | VirtioFeatures.bit(VirtioBlk.VIRTIO_BLK_F_BLK_SIZE)
                | VirtioFeatures.bit(VirtioBlk.VIRTIO_BLK_F_SEG_MAX)
                | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_EVENT_IDX));
            queue = driver.setupQueue(0, QUEUE_SIZE);
            driver.driverOk();
            memory = machine.vm().memory();
            blk = new BlockDriver(memory, queue,
                machine.vm().guestAddressSpace().allocate(BlockDriver.slotAreaLength(QUEUE_SIZE), 64));
            buffers = machine.vm().guestAddressSpace().allocate((long)maxDepth * blockSize, 4096);
        }
        catch (final RuntimeException ex)
        {
            machine.close();
            throw ex;
        }
        generation = new int[(int)Math.min(blocks, Integer.MAX_VALUE)];
        busy = new boolean[generation.length];
        freeBuffers = new int[maxDepth];
        queue.disableInterrupts();
    }

    /** @return the features the driver negotiated. */
    public long features()
    {
        return features;
    }

    /** @return the disk. */
    public BlockBackend backend()
    {
        return backend;
    }

    /** @return blocks of the job's size on the disk. */
    public long blocks()
    {
        return blocks;
    }

    /** The word at {@code index} of block {@code block} after its {@code gen}-th write. */
    private static long pattern(final long block, final int gen, final int index)
    {
        return (block * GOLDEN) ^ ((long)gen << 40) ^ index;
    }

    /**
     * Writes every block once, sequentially at the full depth, so reads have a pattern to verify.
     *
     * @throws InterruptedException if interrupted while waiting for the device.
     */
    public void prefill() throws InterruptedException
    {
        start(Pattern.WRITE, maxDepth);
        sequential = 0;
        long done = 0;
        while (done < blocks)
        {
            done += pump(blocks - done, false);
        }
        drain();
        sequential = 0;
    }

    /**
     * Runs {@code pattern} at {@code depth}: a warm-up of a tenth of the requests (at most 20 000), then
     * {@code requests} measured requests, or as many as fit in {@code seconds} when that is positive.
     *
     * @param pattern  what to do.
     * @param depth    requests in flight, 1 to the job's largest depth.
     * @param requests requests to measure.
     * @param seconds  measure for this long instead, when positive.
     * @param progress prints a progress line every second, or null for none.
     * @return what the run measured.
     * @throws InterruptedException if interrupted while waiting for the device.
     */
    public Result run(final Pattern pattern, final int depth, final long requests, final double seconds,
        final PrintWriter progress) throws InterruptedException
    {
        if (depth < 1 || depth > maxDepth)
        {
            throw new IllegalArgumentException("depth out of range: depth=" + depth + ", maxDepth=" + maxDepth);
        }
        start(pattern, depth);
        verifyErrors = 0;
        ioErrors = 0;
        final long warm = Math.min(requests / 10, 20_000);
        long done = 0;
        while (done < warm)
        {
            done += pump(warm - done, false);
        }
        latency.reset();
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
            completed += pump(target - completed, true);
            if (progress != null && System.nanoTime() > nextProgress)
            {
                // the progress line is the program's, not the data path's: its allocation is not counted
                final long printing = allocations.bytes();
                progress.printf("  %d requests, %.0f IOPS so far%n", completed,
                    completed * 1e9 / (System.nanoTime() - start));
                progressBytes += allocations.bytes() - printing;
                nextProgress += TimeUnit.SECONDS.toNanos(1);
            }
        }
        final double elapsed = (System.nanoTime() - start) / 1e9;
        // drain what is still in flight so the counts are whole
        drain();
        final long allocated = allocations.bytes() - allocatedBefore - progressBytes;
        return new Result(completed, elapsed, latency.getValueAtPercentile(50) / 1e3,
            latency.getValueAtPercentile(99) / 1e3, latency.getMaxValue() / 1e3, kicks - kicksBefore,
            driver.interrupts() - interruptsBefore, allocated, verifyErrors, ioErrors);
    }

    private void start(final Pattern next, final int depth)
    {
        pattern = next;
        for (int i = 0; i < depth; i++)
        {
            freeBuffers[i] = i;
        }
        freeTop = depth;
        this.depth = depth;
    }

    private void drain() throws InterruptedException
    {
        // bound: every round reaps or halts until the device uses something; at most depth requests are in flight
        while (freeTop < depth)
        {
            pump(0, false);
        }
    }

    /** Issues up to the depth, kicks, reaps; returns requests completed in this round. */
    private int pump(final long remaining, final boolean record) throws InterruptedException
    {
        int issued = 0;
        while (freeTop > 0 && issued < remaining)
        {
            final boolean random = pattern.random();
            long block = random ? rnd.nextLong(blocks) : sequential++ % blocks;
            // bound: the disk holds at least the depth in blocks, so a free one is found within a few tries
            while (busy[(int)block])
            {
                block = random ? rnd.nextLong(blocks) : sequential++ % blocks;
            }
            final boolean write = pattern == Pattern.WRITE || pattern == Pattern.RANDWRITE
                || (pattern == Pattern.RANDRW && rnd.nextBoolean());
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

    /** Stops the VM and the device; the backend stays open. */
    @Override
    public void close()
    {
        machine.close();
    }
}
