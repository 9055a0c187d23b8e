package io.jvirtio.samples;

import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.blk.driver.BlockDriver;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.vm.Vcpu;
import io.jvirtio.net.NetConfigLayout;
import io.jvirtio.net.NetFeatures;
import io.jvirtio.net.driver.NetQueuePairDriver;
import io.jvirtio.samples.soak.SectorPattern;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.driver.VirtioDriver;
import io.jvirtio.virtio.machine.VirtioMachine;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.queue.SplitQueueDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The guest of the control-plane soak: on vCPU 0 it keeps echo traffic on a virtio-net device and verified reads and
 * writes on a virtio-blk device going, stores to a probe address once a round (the kicks the control thread's
 * ioeventfds must catch), watches the net link, and resets a device when the control thread asks.
 * <p>
 * A reset is checked for late guest-memory accesses: each device alternates between two sets of guest memory (rings,
 * and the buffers it reads and writes), A and B. After a reset returns, the set in use is overwritten with a scribble
 * pattern and the device is brought up on the other set; at the next reset, the scribbled set must still hold the
 * pattern exactly, so any write the device made after the reset returned is counted.
 * <p>
 * Thread safety: {@link #round()} and the constructor on the guest thread; {@link #request}, the store counters and
 * {@link #stop} are the hand-off with the control thread.
 */
final class ControlSoakGuest
{
    static final int NONE = 0;
    static final int RESET_NET = 1;
    static final int RESET_BLK = 2;
    /** The value every probe store writes, which a datamatch ioeventfd matches. */
    static final int PROBE_VALUE = 0x5A;
    private static final int QUEUE_SIZE = 64;
    private static final int RX_BUFFER = 2048;
    private static final int BLOCK = 4096;
    private static final int SECTORS_PER_BLOCK = BLOCK / SectorPattern.SECTOR;
    private static final int BLOCKS = 64;
    private static final int DEPTH = 8;
    private static final long SCRIBBLE = 0xA5A5_A5A5_A5A5_A5A5L;
    private static final int UNKNOWN = -1;

    /** What the control thread asks: {@link #NONE}, {@link #RESET_NET} or {@link #RESET_BLK}; the guest clears it. */
    final AtomicInteger request = new AtomicInteger(NONE);
    /** Probe stores begun (counted before the store). */
    final AtomicLong storesStarted = new AtomicLong();
    /** Probe stores done (counted after the store's exit returned). */
    final AtomicLong storesCompleted = new AtomicLong();
    volatile boolean stop;

    private final GuestMemory memory;
    private final Vcpu vcpu;
    private final VirtioDriver net;
    private final VirtioDriver blk;
    private final long probe;
    private final long seed;
    private final SplittableRandom rnd;
    private final MemorySegment txFrame;
    private final MemorySegment rxFrame;
    /** [set][area]: rx ring, tx ring, buffer area. */
    private final long[][] netSets = new long[2][3];
    private final long[] netLengths = new long[3];
    /** [set][area]: ring, request slots, data buffers. */
    private final long[][] blkSets = new long[2][3];
    private final long[] blkLengths = new long[3];
    private final boolean[] netScribbled = new boolean[2];
    private final boolean[] blkScribbled = new boolean[2];
    private int netSet;
    private int blkSet;
    private NetQueuePairDriver pair;
    private BlockDriver disk;
    private int epoch;
    private long sequence;
    private long inFlightFrames;
    private final int[] generation = new int[BLOCKS];
    private final boolean[] busy = new boolean[BLOCKS];
    private final int[] blockOfTag = new int[QUEUE_SIZE];
    private final int[] genOfTag = new int[QUEUE_SIZE];
    private final boolean[] writeOfTag = new boolean[QUEUE_SIZE];
    private final int[] bufferOfTag = new int[QUEUE_SIZE];
    private final boolean[] tagInFlight = new boolean[QUEUE_SIZE];
    private final int[] freeBuffers = new int[DEPTH];
    private int freeTop;
    private int linkStatus = -1;
    private long rounds;

    long frames;
    long corruptedFrames;
    long staleFrames;
    long blkRequests;
    long blkMismatches;
    long blkErrors;
    long netResets;
    long blkResets;
    long wordsTouchedAfterReset;
    long linkChangesSeen;
    long interrupts;

    ControlSoakGuest(final VirtioMachine machine, final VirtioDriver net, final VirtioDriver blk, final long probe,
        final long seed, final Arena arena)
    {
        this.memory = machine.vm().memory();
        this.vcpu = machine.vcpu();
        this.net = net;
        this.blk = blk;
        this.probe = probe;
        this.seed = seed;
        this.rnd = new SplittableRandom(seed);
        this.txFrame = arena.allocate(2048, 64);
        this.rxFrame = arena.allocate(65_562, 64);
        netLengths[0] = SplitQueueConfig.contiguousLength(QUEUE_SIZE);
        netLengths[1] = netLengths[0];
        netLengths[2] = NetQueuePairDriver.areaLength(QUEUE_SIZE, QUEUE_SIZE, RX_BUFFER, EchoSoak.MAX_FRAME);
        blkLengths[0] = netLengths[0];
        blkLengths[1] = BlockDriver.slotAreaLength(QUEUE_SIZE);
        blkLengths[2] = (long)DEPTH * BLOCK;
        for (int set = 0; set < 2; set++)
        {
            for (int area = 0; area < 3; area++)
            {
                netSets[set][area] = machine.vm().guestAddressSpace().allocate(netLengths[area], 4096);
                blkSets[set][area] = machine.vm().guestAddressSpace().allocate(blkLengths[area], 4096);
            }
        }
        startNet();
        startBlk();
    }

    /** One round of the guest: a reset if asked, net and blk traffic, a probe store, interrupts and the link. */
    void round() throws InterruptedException
    {
        final int asked = request.get();
        if (asked == RESET_NET)
        {
            resetNet();
            request.set(NONE);
        }
        else if (asked == RESET_BLK)
        {
            resetBlk();
            request.set(NONE);
        }
        netTraffic();
        blkTraffic();
        storesStarted.incrementAndGet();
        vcpu.mmioWrite(probe, 4, PROBE_VALUE);
        storesCompleted.incrementAndGet();
        // bound: each interrupt taken is one the devices raised; the APIC holds a bounded number pending
        for (int i = 0; i < 64 && vcpu.takeInterrupt() >= 0; i++)
        {
            vcpu.eoi();
            interrupts++;
        }
        if ((rounds++ & 15) == 0)
        {
            final int status = (int)net.transport().readConfig(NetConfigLayout.STATUS_OFFSET, 2);
            if (linkStatus >= 0 && status != linkStatus)
            {
                linkChangesSeen++;
            }
            linkStatus = status;
        }
        if (asked == NONE)
        {
            Thread.onSpinWait();
        }
    }

    /** Resets both devices once more so the last scribbled sets are compared too. */
    void finish()
    {
        resetNet();
        resetBlk();
    }

    private void startNet()
    {
        net.initialize(VirtioFeatures.bit(NetFeatures.VIRTIO_NET_F_MAC) | VirtioFeatures.bit(
            NetFeatures.VIRTIO_NET_F_STATUS));
        final SplitQueueDriver rx = queue(net, 0, netSets[netSet][0]);
        final SplitQueueDriver tx = queue(net, 1, netSets[netSet][1]);
        net.driverOk();
        pair = new NetQueuePairDriver(memory, rx, tx, netSets[netSet][2], RX_BUFFER, EchoSoak.MAX_FRAME, false);
        rx.disableInterrupts();
        tx.disableInterrupts();
        epoch++;
        sequence = 0;
        inFlightFrames = 0;
        pair.fillRx();
        net.transport().notifyQueue(0);
    }

    private void startBlk()
    {
        blk.initialize(VirtioFeatures.bit(VirtioBlk.VIRTIO_BLK_F_FLUSH));
        final SplitQueueDriver q = queue(blk, 0, blkSets[blkSet][0]);
        blk.driverOk();
        q.disableInterrupts();
        disk = new BlockDriver(memory, q, blkSets[blkSet][1]);
        for (int i = 0; i < DEPTH; i++)
        {
            freeBuffers[i] = i;
        }
        freeTop = DEPTH;
    }

    /** Step 7 of §3.1.1 with the rings where the guest wants them (the driver library allocates fresh ones). */
    private SplitQueueDriver queue(final VirtioDriver driver, final int index, final long base)
    {
        final SplitQueueConfig config = SplitQueueConfig.contiguous(base, QUEUE_SIZE, false, false);
        final SplitQueueDriver q = new SplitQueueDriver(memory, config);
        driver.transport().setupQueue(index, QUEUE_SIZE, config.descTable(), config.availRing(), config.usedRing());
        driver.transport().enableQueue(index);
        if (!driver.transport().queueReady(index))
        {
            throw new IllegalStateException("device did not enable the queue: queue=" + index);
        }
        return q;
    }

    private void resetNet()
    {
        net.reset();
        netResets++;
        wordsTouchedAfterReset += scribbleAndCompare(netSets, netLengths, netScribbled, netSet);
        // a notification to a device in reset must not make it touch the old rings
        net.transport().notifyQueue(0);
        net.transport().notifyQueue(1);
        netSet ^= 1;
        startNet();
    }

    private void resetBlk()
    {
        blk.reset();
        blkResets++;
        wordsTouchedAfterReset += scribbleAndCompare(blkSets, blkLengths, blkScribbled, blkSet);
        blk.transport().notifyQueue(0);
        for (int tag = 0; tag < QUEUE_SIZE; tag++)
        {
            if (tagInFlight[tag])
            {
                tagInFlight[tag] = false;
                busy[blockOfTag[tag]] = false;
                if (writeOfTag[tag])
                {
                    // a write in flight at the reset may or may not have reached the disk
                    generation[blockOfTag[tag]] = UNKNOWN;
                }
            }
        }
        blkSet ^= 1;
        startBlk();
    }

    /**
     * Compares the set scribbled at the previous reset (the device has not used it since) with the pattern, then
     * scribbles the set the device used until this reset.
     *
     * @return words of the earlier set that no longer hold the pattern.
     */
    private long scribbleAndCompare(final long[][] sets, final long[] lengths, final boolean[] scribbled,
        final int current)
    {
        long touched = 0;
        final int other = current ^ 1;
        if (scribbled[other])
        {
            for (int area = 0; area < lengths.length; area++)
            {
                final MemorySegment bytes = memory.slice(sets[other][area], lengths[area]);
                for (long off = 0; off + Long.BYTES <= lengths[area]; off += Long.BYTES)
                {
                    touched += bytes.get(ValueLayout.JAVA_LONG_UNALIGNED, off) == SCRIBBLE ? 0 : 1;
                }
            }
            scribbled[other] = false;
        }
        for (int area = 0; area < lengths.length; area++)
        {
            memory.slice(sets[current][area], lengths[area]).fill((byte)SCRIBBLE);
        }
        scribbled[current] = true;
        return touched;
    }

    private void netTraffic()
    {
        pair.reapTx();
        int burst = 0;
        // bound: four frames a round, and half the receive ring in flight
        while (burst < 4 && inFlightFrames < QUEUE_SIZE / 2 && pair.txSlotsFree() > 0)
        {
            final int length = EchoSoak.buildFrame(txFrame, seed, epoch, sequence);
            if (!pair.send(txFrame, 0, length))
            {
                break;
            }
            sequence++;
            inFlightFrames++;
            burst++;
        }
        if (burst > 0 && pair.txNeedsKick())
        {
            net.transport().notifyQueue(1);
        }
        int length;
        // bound: the receive ring holds at most QUEUE_SIZE used buffers
        while ((length = pair.receive(rxFrame, 0)) != NetQueuePairDriver.NO_FRAME)
        {
            inFlightFrames--;
            if (!EchoSoak.intact(rxFrame, length))
            {
                corruptedFrames++;
            }
            else if (EchoSoak.pairOf(rxFrame) != epoch)
            {
                staleFrames++;
            }
            else
            {
                frames++;
            }
        }
        if (pair.fillRx() > 0 && pair.rxNeedsKick())
        {
            net.transport().notifyQueue(0);
        }
    }

    private void blkTraffic()
    {
        // bound: at most DEPTH requests are in flight
        for (int tag = disk.reap(); tag != BlockDriver.NOTHING_COMPLETED; tag = disk.reap())
        {
            completeBlk(tag);
        }
        if (freeTop == 0)
        {
            return;
        }
        final int block = rnd.nextInt(BLOCKS);
        if (busy[block])
        {
            return;
        }
        final int buffer = freeBuffers[--freeTop];
        final long gpa = blkSets[blkSet][2] + (long)buffer * BLOCK;
        final boolean write = rnd.nextInt(4) == 0 || generation[block] == UNKNOWN;
        final int gen = write ? Math.max(generation[block], 0) + 1 : generation[block];
        final int tag;
        if (write)
        {
            SectorPattern.fill(memory.slice(gpa, BLOCK), 0, (long)block * SECTORS_PER_BLOCK, SECTORS_PER_BLOCK,
                gen);
            tag = disk.write((long)block * SECTORS_PER_BLOCK, gpa, BLOCK);
        }
        else
        {
            tag = disk.read((long)block * SECTORS_PER_BLOCK, gpa, BLOCK);
        }
        if (tag == BlockDriver.NO_SPACE)
        {
            freeTop++;
            return;
        }
        busy[block] = true;
        tagInFlight[tag] = true;
        blockOfTag[tag] = block;
        genOfTag[tag] = gen;
        writeOfTag[tag] = write;
        bufferOfTag[tag] = buffer;
        if (disk.publish())
        {
            blk.transport().notifyQueue(0);
        }
    }

    private void completeBlk(final int tag)
    {
        final int block = blockOfTag[tag];
        tagInFlight[tag] = false;
        busy[block] = false;
        freeBuffers[freeTop++] = bufferOfTag[tag];
        blkRequests++;
        if (disk.status() != VirtioBlk.VIRTIO_BLK_S_OK)
        {
            blkErrors++;
            return;
        }
        if (writeOfTag[tag])
        {
            generation[block] = genOfTag[tag];
            return;
        }
        final long gpa = blkSets[blkSet][2] + (long)bufferOfTag[tag] * BLOCK;
        final MemorySegment data = memory.slice(gpa, BLOCK);
        for (int s = 0; s < SECTORS_PER_BLOCK; s++)
        {
            if (SectorPattern.idOf(data, (long)s * SectorPattern.SECTOR, (long)block * SECTORS_PER_BLOCK + s)
                != genOfTag[tag])
            {
                blkMismatches++;
                return;
            }
        }
    }
}
