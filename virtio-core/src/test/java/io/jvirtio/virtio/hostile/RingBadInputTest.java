package io.jvirtio.virtio.hostile;

import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.queue.QueueCounter;
import io.jvirtio.virtio.queue.QueueError;
import io.jvirtio.virtio.transport.LoopbackDevice;
import io.jvirtio.virtio.transport.TransportCounter;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import static io.jvirtio.virtio.hostile.HostileRig.N;
import static io.jvirtio.virtio.hostile.HostileRig.RAM;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_INDIRECT;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_NEXT;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The "Ring-level" group of the bad-input list (virtio-checklist §6), one test per item, each driven by a hostile
 * driver writing the ring in guest RAM and kicking through the notify address (an exit on vCPU 0, an ioeventfd, the
 * device's worker): the outcome the checklist prescribes (DEVICE_NEEDS_RESET with a configuration change interrupt
 * and the queue's error counted, or the chain served exactly as written), and a healthy host ({@link
 * io.jvirtio.virtio.testkit.HostHealth}). Packed-ring items: jvirtio does not offer VIRTIO_F_RING_PACKED, which
 * {@link #packedRingIsNeverOffered} checks.
 */
class RingBadInputTest
{
    private static final long INDIRECT = VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_INDIRECT_DESC);
    private static final long EVENT_IDX = VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_EVENT_IDX);
    private static final long BEYOND_RAM = 0x1_0000_0000L;

    /** One descriptor on queue 0, offered and kicked; the device must break the queue with {@code error}. */
    private static void breaksWith(final HostileRig r, final QueueError error) throws InterruptedException
    {
        r.offer(0);
        r.kick(0);
        r.expectNeedsReset(error);
        assertEquals(0, r.ring.usedIdx(), "nothing published by a broken queue");
        r.expectHealthyAfterReset();
    }

    /** "avail.idx jumped by > N". */
    @BothTransports
    void availIdxJumpedByMoreThanQueueSize(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.pair(0, 0, 8).watch();
            r.availIdx(N + 1);
            r.kick(0);
            r.expectNeedsReset(QueueError.AVAIL_INDEX_JUMP);
            assertEquals(0, r.deviceQueue(0).counters().get(QueueCounter.CHAINS_POPPED));
            r.expectHealthyAfterReset();
        }
    }

    /** "avail.idx jumped ... by exactly 65535 (wrap)". */
    @BothTransports
    void availIdxJumpedBy65535(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.pair(0, 0, 8).watch();
            r.availIdx(0xFFFF);
            r.kick(0);
            r.expectNeedsReset(QueueError.AVAIL_INDEX_JUMP);
            r.expectHealthyAfterReset();
        }
    }

    /** "avail.idx ... moved backwards". */
    @BothTransports
    void availIdxMovedBackwards(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.pair(0, 0, 8).pair(2, 2, 8).watch();
            r.offer(0).offer(2);
            r.kick(0);
            r.awaitUsedIdx(2);
            r.availIdx(1);
            r.kick(0);
            r.expectNeedsReset(QueueError.AVAIL_INDEX_JUMP);
            assertEquals(2, r.ring.usedIdx());
            r.expectHealthyAfterReset();
        }
    }

    /** "Avail ring entries ≥ N". */
    @BothTransports
    void availRingEntryAtOrAboveQueueSize(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.watch();
            r.offer(N);
            r.kick(0);
            r.expectNeedsReset(QueueError.HEAD_OUT_OF_RANGE);
            r.expectHealthyAfterReset();
        }
    }

    /** "The same head made available twice while in flight" (a device that holds chains, as async I/O does). */
    @BothTransports
    void sameHeadMadeAvailableTwiceWhileInFlight(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind, LoopbackDevice.batching()).start(0))
        {
            r.pair(0, 0, 8).watch();
            r.offer(0).offer(0);
            r.kick(0);
            r.expectNeedsReset(QueueError.DUPLICATE_HEAD);
            r.expectHealthyAfterReset();
        }
    }

    /** "Descriptor loops: self-loop". */
    @BothTransports
    void descriptorSelfLoop(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.ring.descriptor(0, r.buffer(0), 8, VIRTQ_DESC_F_NEXT, 0);
            r.watch();
            breaksWith(r, QueueError.LOOPED_DESCRIPTOR);
        }
    }

    /** "Descriptor loops: ... 2-cycle". */
    @BothTransports
    void descriptorTwoCycle(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.ring.descriptor(0, r.buffer(0), 8, VIRTQ_DESC_F_NEXT, 1);
            r.ring.descriptor(1, r.buffer(1), 8, VIRTQ_DESC_F_NEXT, 0);
            r.watch();
            breaksWith(r, QueueError.LOOPED_DESCRIPTOR);
        }
    }

    /** "Descriptor loops: ... long cycle". */
    @BothTransports
    void descriptorLongCycle(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            // bound: N descriptors; 0 -> 1 -> ... -> N - 1 -> 3
            for (int i = 0; i < N; i++)
            {
                r.ring.descriptor(i, r.buffer(i), 8, VIRTQ_DESC_F_NEXT, i < N - 1 ? i + 1 : 3);
            }
            r.watch();
            breaksWith(r, QueueError.LOOPED_DESCRIPTOR);
        }
    }

    /** "Descriptor loops: ... loop inside an indirect table". */
    @BothTransports
    void loopInsideIndirectTable(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(INDIRECT))
        {
            final long table = r.buffer(100);
            r.ring.descriptorAt(table, r.buffer(0), 8, VIRTQ_DESC_F_NEXT, 1);
            r.ring.descriptorAt(table + 16, r.buffer(1), 8, VIRTQ_DESC_F_NEXT, 0);
            r.ring.descriptor(0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
            r.watch();
            breaksWith(r, QueueError.LOOPED_DESCRIPTOR);
        }
    }

    /** "Chains of exactly N ... descriptors": served, every readable byte copied into the writable half. */
    @BothTransports
    void chainOfExactlyQueueSizeDescriptors(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            final byte[] expected = new byte[8 * N / 2];
            // bound: N descriptors, the first half readable and the second half writable
            for (int i = 0; i < N; i++)
            {
                final boolean writable = i >= N / 2;
                if (!writable)
                {
                    final byte[] part = new byte[8];
                    Arrays.fill(part, (byte)(i + 1));
                    r.memory.copyIn(r.buffer(i), part, 0, 8);
                    System.arraycopy(part, 0, expected, 8 * i, 8);
                }
                final int flags = (writable ? VIRTQ_DESC_F_WRITE : 0) | (i < N - 1 ? VIRTQ_DESC_F_NEXT : 0);
                r.ring.descriptor(i, r.buffer(i), 8, flags, i + 1);
            }
            r.watch();
            r.offer(0);
            r.kick(0);
            r.awaitUsedIdx(1);
            assertEquals(0, r.ring.usedId(0));
            assertEquals(expected.length, r.ring.usedLen(0));
            final byte[] written = new byte[expected.length];
            // bound: N / 2 writable descriptors
            for (int i = N / 2; i < N; i++)
            {
                r.memory.copyOut(r.buffer(i), written, 8 * (i - N / 2), 8);
            }
            assertArrayEquals(expected, written);
            assertFalse(r.deviceQueue(0).isBroken());
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /** "Chains of ... N+1 descriptors": the (N+1)th hop of a direct chain revisits a descriptor, a loop. */
    @BothTransports
    void chainOfQueueSizePlusOneDescriptors(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            // bound: N descriptors chained, the last back to the first: N + 1 hops
            for (int i = 0; i < N; i++)
            {
                r.ring.descriptor(i, r.buffer(i), 8, VIRTQ_DESC_F_NEXT, (i + 1) % N);
            }
            r.watch();
            breaksWith(r, QueueError.LOOPED_DESCRIPTOR);
        }
    }

    /** "`next` ≥ N". */
    @BothTransports
    void nextAtOrAboveQueueSize(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.ring.descriptor(0, r.buffer(0), 8, VIRTQ_DESC_F_NEXT, N);
            r.watch();
            breaksWith(r, QueueError.NEXT_OUT_OF_RANGE);
        }
    }

    /**
     * "Zero-length descriptors (CVE-2016-6490)": carried and counted, never accessed, even when they point at the
     * device's own notify register; the chain is served.
     */
    @BothTransports
    void zeroLengthDescriptors(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.ring.descriptor(0, r.notifyGpa(), 0, VIRTQ_DESC_F_NEXT, 1);
            r.ring.descriptor(1, r.buffer(0), 4, VIRTQ_DESC_F_NEXT, 2);
            r.ring.descriptor(2, r.notifyGpa(), 0, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
            r.ring.descriptor(3, r.buffer(1), 8, VIRTQ_DESC_F_WRITE, 0);
            r.memory.copyIn(r.buffer(0), new byte[] {9, 8, 7, 6}, 0, 4);
            r.watch();
            final long notifies = r.count(TransportCounter.NOTIFY_INVALID_QUEUE);
            r.offer(0);
            r.kick(0);
            r.awaitUsedIdx(1);
            assertEquals(4, r.ring.usedLen(0));
            assertEquals(2, r.deviceQueue(0).counters().get(QueueCounter.ZERO_LENGTH_DESCRIPTORS));
            assertEquals(notifies, r.count(TransportCounter.NOTIFY_INVALID_QUEUE));
            final byte[] back = new byte[4];
            r.memory.copyOut(r.buffer(1), back, 0, 4);
            assertArrayEquals(new byte[] {9, 8, 7, 6}, back);
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /** "len = 0xFFFFFFFF". */
    @BothTransports
    void lengthAllOnes(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.ring.descriptor(0, r.buffer(0), 0xFFFF_FFFFL, VIRTQ_DESC_F_WRITE, 0);
            r.watch();
            breaksWith(r, QueueError.ADDRESS_OUT_OF_RANGE);
        }
    }

    /** "Sum of lengths > 2^32": 256 descriptors each covering all 16 MiB of RAM add up to 2^32. */
    @BothTransports
    void sumOfLengthsAbove2To32(final TransportKind kind) throws Exception
    {
        final int size = LoopbackDevice.MAX_QUEUE_SIZE;
        try (HostileRig r = new HostileRig(kind).start(0, size))
        {
            // bound: size descriptors
            for (int i = 0; i < size; i++)
            {
                r.ring.descriptor(i, 0, RAM, i < size - 1 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
            }
            r.watch();
            breaksWith(r, QueueError.LENGTH_OVERFLOW);
        }
    }

    /** "`addr + len` overflowing 2^64". */
    @BothTransports
    void addrPlusLenOverflows2To64(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.ring.descriptor(0, 0xFFFF_FFFF_FFFF_F000L, 0x2000, VIRTQ_DESC_F_WRITE, 0);
            r.watch();
            breaksWith(r, QueueError.ADDRESS_OUT_OF_RANGE);
        }
    }

    /**
     * "A buffer straddling two RAM regions or the end of RAM": the machine has one RAM region, so the buffer runs
     * off its end (two regions are covered below the exit path by BadRingInputTest).
     */
    @BothTransports
    void bufferStraddlingTheEndOfRam(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.ring.descriptor(0, RAM - 8, 16, VIRTQ_DESC_F_WRITE, 0);
            r.watch();
            breaksWith(r, QueueError.ADDRESS_OUT_OF_RANGE);
        }
    }

    /**
     * "addr pointing into device MMIO/ISR/notify (DMA reentrancy)", CVE-2024-3446's pattern: refused; the device
     * never writes its own notify register.
     */
    @BothTransports
    void addrPointingIntoDeviceMmio(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.ring.descriptor(0, r.buffer(0), 8, VIRTQ_DESC_F_NEXT, 1);
            r.ring.descriptor(1, r.notifyGpa(), 4, VIRTQ_DESC_F_WRITE, 0);
            r.watch();
            final long notifies = r.count(TransportCounter.NOTIFY_INVALID_QUEUE);
            breaksWith(r, QueueError.ADDRESS_OUT_OF_RANGE);
            assertEquals(notifies, r.count(TransportCounter.NOTIFY_INVALID_QUEUE));
        }
    }

    /** "Indirect: len 0". */
    @BothTransports
    void indirectLengthZero(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(INDIRECT))
        {
            r.ring.descriptor(0, r.buffer(100), 0, VIRTQ_DESC_F_INDIRECT, 0);
            r.watch();
            breaksWith(r, QueueError.BAD_INDIRECT);
        }
    }

    /** "Indirect: ... len not a multiple of 16". */
    @BothTransports
    void indirectLengthNotMultipleOf16(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(INDIRECT))
        {
            r.ring.descriptorAt(r.buffer(100), r.buffer(0), 8, 0, 0);
            r.ring.descriptor(0, r.buffer(100), 24, VIRTQ_DESC_F_INDIRECT, 0);
            r.watch();
            breaksWith(r, QueueError.BAD_INDIRECT);
        }
    }

    /** "Indirect: ... len > 16·65535". */
    @BothTransports
    void indirectLengthAbove16Times65535(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(INDIRECT))
        {
            r.ring.descriptor(0, r.buffer(0), 16L * 65536, VIRTQ_DESC_F_INDIRECT, 0);
            r.watch();
            breaksWith(r, QueueError.BAD_INDIRECT);
        }
    }

    /** "Indirect: ... nested INDIRECT". */
    @BothTransports
    void nestedIndirect(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(INDIRECT))
        {
            r.ring.descriptorAt(r.buffer(100), r.buffer(101), 16, VIRTQ_DESC_F_INDIRECT, 0);
            r.ring.descriptorAt(r.buffer(101), r.buffer(0), 8, 0, 0);
            r.ring.descriptor(0, r.buffer(100), 16, VIRTQ_DESC_F_INDIRECT, 0);
            r.watch();
            breaksWith(r, QueueError.NESTED_INDIRECT);
        }
    }

    /** "Indirect: ... INDIRECT|NEXT". */
    @BothTransports
    void indirectWithNext(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(INDIRECT))
        {
            r.ring.descriptorAt(r.buffer(100), r.buffer(0), 8, 0, 0);
            r.ring.descriptor(0, r.buffer(100), 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
            r.ring.descriptor(1, r.buffer(1), 8, VIRTQ_DESC_F_WRITE, 0);
            r.watch();
            breaksWith(r, QueueError.INDIRECT_WITH_NEXT);
        }
    }

    /** "Indirect: ... INDIRECT when not negotiated". */
    @BothTransports
    void indirectWhenNotNegotiated(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.ring.descriptorAt(r.buffer(100), r.buffer(0), 8, 0, 0);
            r.ring.descriptor(0, r.buffer(100), 16, VIRTQ_DESC_F_INDIRECT, 0);
            r.watch();
            breaksWith(r, QueueError.INDIRECT_NOT_NEGOTIATED);
        }
    }

    /** "Indirect: ... table outside RAM". */
    @BothTransports
    void indirectTableOutsideRam(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(INDIRECT))
        {
            r.ring.descriptor(0, BEYOND_RAM, 32, VIRTQ_DESC_F_INDIRECT, 0);
            r.watch();
            breaksWith(r, QueueError.BAD_INDIRECT);
        }
    }

    /**
     * "Indirect: ... table overlapping the ring itself": a table placed over used element 0 is read once at pop,
     * so the device's own used-element write does not change the chain it serves.
     */
    @BothTransports
    void indirectTableOverlappingTheRing(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(INDIRECT))
        {
            final long table = r.usedRingGpa() + 4;
            r.memory.copyIn(r.buffer(0), new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, 0, 8);
            r.ring.descriptorAt(table, r.buffer(0), 8, VIRTQ_DESC_F_NEXT, 1);
            r.ring.descriptorAt(table + 16, r.buffer(1), 8, VIRTQ_DESC_F_WRITE, 0);
            r.ring.descriptor(0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
            r.watch();
            r.offer(0);
            r.kick(0);
            r.awaitUsedIdx(1);
            assertEquals(8, r.ring.usedLen(0));
            final byte[] back = new byte[8];
            r.memory.copyOut(r.buffer(1), back, 0, 8);
            assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, back);
            assertFalse(r.deviceQueue(0).isBroken());
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /** "A readable descriptor after a writable one". */
    @BothTransports
    void readableAfterWritable(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.ring.descriptor(0, r.buffer(0), 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
            r.ring.descriptor(1, r.buffer(1), 8, 0, 0);
            r.watch();
            breaksWith(r, QueueError.ORDER_VIOLATION);
        }
    }

    /**
     * "Chains with no readable or no writable part where the device needs both": the ring delivers them, the
     * loopback device copies nothing and completes each with length 0, and keeps serving.
     */
    @BothTransports
    void chainsWithNoReadableOrNoWritablePart(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.memory.copyIn(r.buffer(0), new byte[] {5, 5, 5, 5}, 0, 4);
            r.ring.descriptor(0, r.buffer(0), 4, 0, 0);
            r.ring.descriptor(1, r.buffer(1), 4, VIRTQ_DESC_F_WRITE, 0);
            r.watch();
            r.offer(0).offer(1);
            r.kick(0);
            r.awaitUsedIdx(2);
            assertEquals(0, r.ring.usedLen(0));
            assertEquals(0, r.ring.usedLen(1));
            assertEquals(0, r.memory.getIntLE(r.buffer(1)), "nothing written into an empty writable part");
            r.pair(2, 2, 8).offer(2);
            r.kick(0);
            r.awaitUsedIdx(3);
            assertEquals(8, r.ring.usedLen(2));
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /**
     * "Descriptor contents changed by the guest between the device's reads (TOCTOU/double fetch); the device must
     * copy once": a second guest thread flips the writable descriptor between a RAM buffer and an address beyond
     * RAM while the device pops the chain again and again. Every chain the device serves wrote the RAM buffer; a pop
     * that read the bad value breaks the queue; a device that re-read after checking would write outside RAM (a
     * worker exception) or into the canary.
     */
    @BothTransports
    void descriptorChangedBetweenReads(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.pair(0, 0, 8).watch();
            final AtomicBoolean stop = new AtomicBoolean();
            final Thread flipper = Thread.ofPlatform().name("guest-vcpu1").start(() ->
            {
                boolean bad = false;
                // bound: runs until the test stops it, after at most ROUNDS rounds
                while (!stop.get())
                {
                    r.ring.descriptor(1, bad ? BEYOND_RAM : r.buffer(1), 8, VIRTQ_DESC_F_WRITE, 0);
                    bad = !bad;
                }
                r.ring.descriptor(1, r.buffer(1), 8, VIRTQ_DESC_F_WRITE, 0);
            });
            final int rounds = 200;
            int served = 0;
            try
            {
                // bound: rounds requests, each waited for with a bounded poll
                for (int i = 0; i < rounds && !r.deviceQueue(0).isBroken(); i++)
                {
                    r.offer(0);
                    r.kick(0);
                    served = awaitServedOrBroken(r, served + 1);
                }
            }
            finally
            {
                stop.set(true);
                flipper.join();
            }
            if (r.deviceQueue(0).isBroken())
            {
                assertEquals(QueueError.ADDRESS_OUT_OF_RANGE, r.deviceQueue(0).brokenReason());
                r.awaitConfigInterrupt();
                r.expectHealthyAfterReset();
            }
            else
            {
                r.expectHealthyAndOtherQueueWorks();
            }
            assertTrue(served > 0 || r.count(TransportCounter.QUEUE_BROKEN) == 1);
        }
    }

    private static int awaitServedOrBroken(final HostileRig r, final int wanted)
    {
        // bound: polls with a failure timeout of about 30 s
        for (int i = 0; i < 300_000; i++)
        {
            if (r.ring.usedIdx() == wanted)
            {
                assertEquals(8, r.ring.usedLen((wanted - 1) % N));
                return wanted;
            }
            if (r.deviceQueue(0).isBroken())
            {
                return wanted - 1;
            }
            LockSupport.parkNanos(100_000);
        }
        throw new AssertionError("neither served nor broken: wanted=" + wanted);
    }

    /** "Used ring placed over the avail ring": the enable is refused, the queue stays off, the device still works. */
    @BothTransports
    void usedRingPlacedOverTheAvailRing(final TransportKind kind) throws Exception
    {
        usedRingOverlaps(kind, false);
    }

    /** "Used ring placed over ... the descriptor table". */
    @BothTransports
    void usedRingPlacedOverTheDescriptorTable(final TransportKind kind) throws Exception
    {
        usedRingOverlaps(kind, true);
    }

    private static void usedRingOverlaps(final TransportKind kind, final boolean overTable) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            final long desc = r.buffer(0);
            final long avail = r.buffer(2);
            r.watch();
            r.driver().initialize(0);
            r.queueSelect(0);
            r.queueSize(N);
            r.queueAddresses(desc, avail, overTable ? desc + 64 : avail + 4);
            r.queueReady(1);
            assertEquals(0, r.queueReady(), "the queue must not be enabled");
            assertEquals(1, r.count(TransportCounter.QUEUE_ENABLE_INVALID));
            assertEquals(0, r.status() & DeviceStatus.DRIVER_OK);
            r.health.checkHealthy();
            r.health.loopbackRoundTripAfterReset(r.dut, N);
        }
    }

    /**
     * "used_event / avail_event at boundary values (0, N−1, 0xFFFF)": with EVENT_IDX the device interrupts exactly
     * when it publishes the element used_event names, and never for 0xFFFF within the first N elements. avail_event
     * is written by the device, never read from the guest (its boundaries are covered by BadRingInputTest).
     */
    @BothTransports
    void usedEventAtBoundaryValues(final TransportKind kind) throws Exception
    {
        final int[] events = {0, N - 1, 0xFFFF};
        for (final int event : events)
        {
            try (HostileRig r = new HostileRig(kind).start(EVENT_IDX))
            {
                r.pair(0, 0, 8).watch();
                r.ring.usedEvent(event);
                // bound: N requests, one at a time
                for (int k = 0; k < N; k++)
                {
                    r.offer(0);
                    r.kick(0);
                    r.awaitUsedIdx(k + 1);
                }
                final long decisions = awaitDecisions(r, N);
                assertEquals(N, decisions, "one decision per published element: usedEvent=" + event);
                assertEquals(event == 0xFFFF ? 0 : 1,
                    r.deviceQueue(0).counters().get(QueueCounter.INTERRUPTS_NEEDED), "usedEvent=" + event);
                r.expectHealthyAndOtherQueueWorks();
            }
        }
    }

    private static long awaitDecisions(final HostileRig r, final int wanted)
    {
        long decisions = 0;
        // bound: polls with a failure timeout of about 30 s
        for (int i = 0; i < 300_000 && decisions < wanted; i++)
        {
            decisions = r.deviceQueue(0).counters().get(QueueCounter.INTERRUPTS_NEEDED)
                + r.deviceQueue(0).counters().get(QueueCounter.INTERRUPTS_SUPPRESSED);
            if (decisions < wanted)
            {
                LockSupport.parkNanos(100_000);
            }
        }
        return decisions;
    }

    /**
     * "Packed: AVAIL == USED on first read, wrong wrap bits, lists crossing the ring end, lists longer than N, Buffer
     * ID reuse, flags 0x3 (reserved) in event suppression": none applies, because the offer never contains
     * VIRTIO_F_RING_PACKED, and a driver that accepts it anyway does not get FEATURES_OK.
     */
    @BothTransports
    void packedRingIsNeverOffered(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            r.watch();
            final long offer = r.driver().transport().readDeviceFeatures();
            assertFalse(VirtioFeatures.has(offer, VirtioFeatures.VIRTIO_F_RING_PACKED), "offer=0x"
                + Long.toHexString(offer));
            r.driver().reset();
            r.status(DeviceStatus.ACKNOWLEDGE);
            r.status(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
            r.driver().transport().writeDriverFeatures(
                VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1) | VirtioFeatures.bit(
                    VirtioFeatures.VIRTIO_F_RING_PACKED));
            r.status(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK);
            assertEquals(0, r.status() & DeviceStatus.FEATURES_OK, "FEATURES_OK must not stick");
            assertEquals(1, r.count(TransportCounter.FEATURES_NOT_OFFERED));
            r.health.checkHealthy();
            r.health.loopbackRoundTripAfterReset(r.dut, N);
        }
    }
}
