package io.jvirtio.samples.soak;

import io.jvirtio.blk.BlockDevice;
import io.jvirtio.blk.BlockDeviceConfig;
import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.blk.backend.BlockBackend;
import io.jvirtio.blk.driver.BlockDriver;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.driver.VirtioDriver;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.machine.VirtioMachine;
import io.jvirtio.virtio.queue.SplitQueueDriver;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * The guest of the block soak and of its kill test: a VM with a virtio-blk device (writeback cache, FLUSH offered)
 * on a backend, and a driver that keeps up to {@link RequestMix#MAX_DEPTH} requests of up to 128 KiB in flight
 * through the real exit path. Writes carry {@link SectorPattern}s; each completion is handed to a
 * {@link Completion} with what the request was, so the caller keeps the shadow and checks reads.
 * <p>
 * Thread safety: make, use and close it on one thread, which plays the guest.
 */
public final class BlockSoakGuest implements AutoCloseable
{
    private static final int QUEUE_SIZE = 256;
    private static final int BUFFER = RequestMix.MAX_SECTORS * SectorPattern.SECTOR;
    private static final int SPINS_BEFORE_HALT = 4096;

    /** What the caller learns of each completed request. */
    public interface Completion
    {
        /**
         * @param write   true for a write.
         * @param sector  its first sector.
         * @param sectors its length in sectors.
         * @param id      the write's id (0 for a read).
         * @param status  the status byte the device wrote.
         * @param data    the request's data (for a read, what the device put there).
         */
        void completed(boolean write, long sector, int sectors, long id, int status, MemorySegment data);
    }

    private final VirtioMachine machine;
    private final VirtioDriver driver;
    private final SplitQueueDriver queue;
    private final BlockDriver blk;
    private final GuestMemory memory;
    private final long buffers;
    private final long[] sectorOfTag = new long[QUEUE_SIZE];
    private final int[] countOfTag = new int[QUEUE_SIZE];
    private final long[] idOfTag = new long[QUEUE_SIZE];
    private final int[] bufferOfTag = new int[QUEUE_SIZE];
    private final int[] freeBuffers = new int[RequestMix.MAX_DEPTH];
    private int freeTop;
    private long requests;
    private long bytes;

    /** Makes the VM and the device on {@code backend} (which the guest does not close) and brings the driver up. */
    public BlockSoakGuest(final BlockBackend backend)
    {
        machine = VirtioMachine.create(VmConfig.defaults().withMemoryBytes(64L << 20));
        try
        {
            driver = machine.attach(new BlockDevice(backend, BlockDeviceConfig.defaults()), TransportKind.PCI)
                .driver();
            driver.initialize(VirtioFeatures.bit(VirtioBlk.VIRTIO_BLK_F_FLUSH)
                | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_EVENT_IDX));
            queue = driver.setupQueue(0, QUEUE_SIZE);
            driver.driverOk();
            memory = machine.vm().memory();
            blk = new BlockDriver(memory, queue,
                machine.vm().guestAddressSpace().allocate(BlockDriver.slotAreaLength(QUEUE_SIZE), 64));
            buffers = machine.vm().guestAddressSpace().allocate((long)RequestMix.MAX_DEPTH * BUFFER, 4096);
        }
        catch (final RuntimeException ex)
        {
            machine.close();
            throw ex;
        }
        for (int i = 0; i < freeBuffers.length; i++)
        {
            freeBuffers[i] = i;
        }
        freeTop = freeBuffers.length;
        queue.disableInterrupts();
    }

    /** @return requests in flight. */
    public int inFlight()
    {
        return RequestMix.MAX_DEPTH - freeTop;
    }

    /** @return true if a request in flight touches any of {@code sectors} sectors from {@code sector}. */
    public boolean overlapsInFlight(final long sector, final int sectors)
    {
        // bound: at most MAX_DEPTH requests are in flight, each with its buffer taken
        for (int tag = 0; tag < QUEUE_SIZE; tag++)
        {
            if (countOfTag[tag] > 0 && sector < sectorOfTag[tag] + countOfTag[tag]
                && sectorOfTag[tag] < sector + sectors)
            {
                return true;
            }
        }
        return false;
    }

    /**
     * Posts a read, or a write of write {@code id}'s pattern, without publishing it; needs a free slot
     * ({@link #inFlight()} below {@link RequestMix#MAX_DEPTH}).
     */
    public void submit(final boolean write, final long sector, final int sectors, final long id)
    {
        final int buffer = freeBuffers[--freeTop];
        final long gpa = buffers + (long)buffer * BUFFER;
        final long length = (long)sectors * SectorPattern.SECTOR;
        final int tag;
        if (write)
        {
            SectorPattern.fill(memory.slice(gpa, length), 0, sector, sectors, id);
            tag = blk.write(sector, gpa, length);
        }
        else
        {
            tag = blk.read(sector, gpa, length);
        }
        if (tag == BlockDriver.NO_SPACE)
        {
            // 32 requests of 3 descriptors always fit a ring of 256; this is the driver's own bookkeeping failing
            throw new IllegalStateException("no descriptors free: inFlight=" + inFlight());
        }
        sectorOfTag[tag] = sector;
        countOfTag[tag] = sectors;
        idOfTag[tag] = write ? id : 0;
        bufferOfTag[tag] = buffer;
    }

    /** Publishes what was submitted and kicks if the device asks for it. */
    public void publish()
    {
        if (blk.publish())
        {
            driver.transport().notifyQueue(0);
        }
    }

    /**
     * Hands every completed request to {@code completion}; halts (spinning first) when none has completed.
     *
     * @return requests completed.
     */
    public int complete(final Completion completion) throws InterruptedException
    {
        int completed = 0;
        // bound: at most MAX_DEPTH requests are in flight
        for (int tag = blk.reap(); tag != BlockDriver.NOTHING_COMPLETED; tag = blk.reap())
        {
            final int sectors = countOfTag[tag];
            final long length = (long)sectors * SectorPattern.SECTOR;
            final long gpa = buffers + (long)bufferOfTag[tag] * BUFFER;
            countOfTag[tag] = 0;
            freeBuffers[freeTop++] = bufferOfTag[tag];
            requests++;
            bytes += length;
            completion.completed(idOfTag[tag] != 0, sectorOfTag[tag], sectors, idOfTag[tag], blk.status(),
                memory.slice(gpa, length));
            completed++;
        }
        if (completed == 0 && inFlight() > 0)
        {
            idle();
        }
        return completed;
    }

    /** Completes everything in flight. */
    public void drain(final Completion completion) throws InterruptedException
    {
        // bound: each round completes something or halts until the device uses something
        while (inFlight() > 0)
        {
            complete(completion);
        }
    }

    /**
     * Completes everything in flight, then sends FLUSH and waits for it (virtio-v1.2 §5.2.6.1: a FLUSH completed
     * with OK means the writes completed before it are on stable storage).
     *
     * @return FLUSH's status.
     */
    public int flush(final Completion completion) throws InterruptedException
    {
        drain(completion);
        final int tag = blk.flush();
        if (tag == BlockDriver.NO_SPACE)
        {
            throw new IllegalStateException("no descriptors free for flush: inFlight=" + inFlight());
        }
        publish();
        // bound: the device answers, or the caller's process is ended from outside
        while (true)
        {
            final int done = blk.reap();
            if (done == tag)
            {
                return blk.status();
            }
            if (done == BlockDriver.NOTHING_COMPLETED)
            {
                idle();
            }
        }
    }

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
            driver.awaitInterrupt(100, TimeUnit.MILLISECONDS);
        }
        queue.disableInterrupts();
    }

    /** @return requests completed so far (FLUSH not counted). */
    public long requests()
    {
        return requests;
    }

    /** @return data bytes moved by completed requests. */
    public long bytes()
    {
        return bytes;
    }

    /** Stops the VM and the device; the backend stays open. */
    @Override
    public void close()
    {
        machine.close();
    }
}
