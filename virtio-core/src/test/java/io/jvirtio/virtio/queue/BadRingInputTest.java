package io.jvirtio.virtio.queue;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicBoolean;

import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_INDIRECT;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_NEXT;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_WRITE;
import static io.jvirtio.virtio.queue.RingFixture.HOLE;
import static io.jvirtio.virtio.queue.RingFixture.INDIRECT_BASE;
import static io.jvirtio.virtio.queue.RingFixture.MIB;
import static io.jvirtio.virtio.queue.RingFixture.REGION_B;
import static io.jvirtio.virtio.queue.RingFixture.REGION_C;
import static io.jvirtio.virtio.queue.RingFixture.buffer;
import static io.jvirtio.virtio.queue.RingFixture.tableEntry;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * One test per ring-level item of the conformance checklist's bad-input list (section 6), each driven through the raw
 * ring writer as a hostile driver would, each asserting the prescribed outcome: the queue broken with the right
 * reason and counter and nothing written to guest memory, or the chain accepted exactly as described.
 */
class BadRingInputTest
{
    private static final int N = 16;

    @Test
    void shouldBreakWithAvailIndexJumpWhenIdxJumpsByMoreThanQueueSize()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.availIdx(N + 5);
            f.assertPopBreaks(QueueError.AVAIL_INDEX_JUMP);
        }
    }

    @Test
    void shouldBreakWithAvailIndexJumpWhenIdxJumpsBy65535()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.availIdx(0xFFFF);
            f.assertPopBreaks(QueueError.AVAIL_INDEX_JUMP);
        }
    }

    @Test
    void shouldBreakWithAvailIndexJumpWhenIdxMovesBackwards()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.postPair(buffer(0), 8, buffer(1), 8);
            f.postPair(buffer(2), 8, buffer(3), 8);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            f.queue.complete(f.chain, 0);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            f.queue.complete(f.chain, 0);
            f.raw.availIdx(1);
            f.assertPopBreaks(QueueError.AVAIL_INDEX_JUMP);
        }
    }

    @Test
    void shouldBreakWithHeadOutOfRangeWhenAvailEntryIs0xFFFF()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.offer(0xFFFF);
            f.assertPopBreaks(QueueError.HEAD_OUT_OF_RANGE);
        }
    }

    @Test
    void shouldBreakWithDuplicateHeadWhenSameHeadIsAvailableTwiceWhileInFlight()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(4, buffer(0), 8, 0, 0);
            f.offer(4);
            f.offer(4);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            final DescriptorChain first = f.chain;
            final DescriptorChain second = new DescriptorChain(N);
            final byte[][] before = f.snapshot();
            final PopStatus status = f.queue.pop(second);
            f.assertUnchanged(before);
            assertEquals(PopStatus.BROKEN, status);
            assertEquals(QueueError.DUPLICATE_HEAD, f.queue.brokenReason());
            assertEquals(1, f.queue.counters().errors(QueueError.DUPLICATE_HEAD));
            assertEquals(4, first.head(), "the chain already in flight is untouched");
        }
    }

    @Test
    void shouldBreakWithLoopedDescriptorOnSelfLoop()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(3, buffer(0), 8, VIRTQ_DESC_F_NEXT, 3);
            f.offer(3);
            f.assertPopBreaks(QueueError.LOOPED_DESCRIPTOR);
        }
    }

    @Test
    void shouldBreakWithLoopedDescriptorOnTwoCycle()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(1, buffer(0), 8, VIRTQ_DESC_F_NEXT, 2);
            f.raw.descriptor(2, buffer(1), 8, VIRTQ_DESC_F_NEXT, 1);
            f.offer(1);
            f.assertPopBreaks(QueueError.LOOPED_DESCRIPTOR);
        }
    }

    @Test
    void shouldBreakWithLoopedDescriptorOnLongCycle()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            for (int i = 0; i < N; i++)
            {
                f.raw.descriptor(i, buffer(i), 8, VIRTQ_DESC_F_NEXT, i == N - 1 ? 5 : i + 1);
            }
            f.offer(0);
            f.assertPopBreaks(QueueError.LOOPED_DESCRIPTOR);
        }
    }

    @Test
    void shouldBreakWithLoopedDescriptorOnLoopInsideIndirectTable()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 0), buffer(0), 8, VIRTQ_DESC_F_NEXT, 1);
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 1), buffer(1), 8, VIRTQ_DESC_F_NEXT, 0);
            f.raw.descriptor(0, INDIRECT_BASE, 32, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.LOOPED_DESCRIPTOR);
        }
    }

    @Test
    void shouldAcceptChainOfExactlyQueueSizeDescriptorsMixingReadableAndWritable()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            for (int i = 0; i < N; i++)
            {
                final int flags = (i >= N / 2 ? VIRTQ_DESC_F_WRITE : 0) | (i < N - 1 ? VIRTQ_DESC_F_NEXT : 0);
                f.raw.descriptor(N - 1 - i, buffer(i), 16, flags, N - 2 - i);
            }
            f.offer(N - 1);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(N / 2, f.chain.readableSegments());
            assertEquals(N / 2, f.chain.writableSegments());
        }
    }

    @Test
    void shouldBreakWithLoopedDescriptorOnDirectChainOfQueueSizePlusOne()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            for (int i = 0; i < N; i++)
            {
                f.raw.descriptor(i, buffer(i), 8, VIRTQ_DESC_F_NEXT, i + 1);
            }
            f.raw.descriptor(N - 1, buffer(N - 1), 8, VIRTQ_DESC_F_NEXT, 0);
            f.offer(1);
            f.assertPopBreaks(QueueError.LOOPED_DESCRIPTOR);
        }
    }

    @Test
    void shouldBreakWithBadIndirectWhenTableHoldsQueueSizePlusOneDescriptors()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            for (int i = 0; i <= N; i++)
            {
                final int flags = i < N ? VIRTQ_DESC_F_NEXT : 0;
                f.raw.descriptorAt(tableEntry(INDIRECT_BASE, i), buffer(i), 8, flags, i + 1);
            }
            f.raw.descriptor(0, INDIRECT_BASE, 16L * (N + 1), VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.BAD_INDIRECT);
        }
    }

    @Test
    void shouldBreakWithChainTooLongWhenDirectAndIndirectDescriptorsExceedQueueSize()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            for (int i = 0; i < N; i++)
            {
                final int flags = i < N - 1 ? VIRTQ_DESC_F_NEXT : 0;
                f.raw.descriptorAt(tableEntry(INDIRECT_BASE, i), buffer(i), 8, flags, i + 1);
            }
            f.raw.descriptor(0, buffer(20), 8, VIRTQ_DESC_F_NEXT, 1);
            f.raw.descriptor(1, INDIRECT_BASE, 16L * N, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.CHAIN_TOO_LONG);
        }
    }

    @Test
    void shouldBreakWithNextOutOfRangeWhenNextIs0xFFFF()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(0, buffer(0), 8, VIRTQ_DESC_F_NEXT, 0xFFFF);
            f.offer(0);
            f.assertPopBreaks(QueueError.NEXT_OUT_OF_RANGE);
        }
    }

    /** Zero-length descriptors are carried and counted, never accessed (so even an MMIO address is harmless). */
    @Test
    void shouldCarryAndCountZeroLengthDescriptors()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(0, HOLE, 0, VIRTQ_DESC_F_NEXT, 1);
            f.raw.descriptor(1, buffer(0), 4, VIRTQ_DESC_F_NEXT, 2);
            f.raw.descriptor(2, HOLE, 0, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
            f.raw.descriptor(3, buffer(1), 8, VIRTQ_DESC_F_WRITE, 0);
            f.memory.copyIn(buffer(0), new byte[] {9, 8, 7, 6}, 0, 4);
            f.offer(0);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(2, f.queue.counters().get(QueueCounter.ZERO_LENGTH_DESCRIPTORS));
            assertEquals(2, f.chain.readableSegments());
            assertEquals(0, f.chain.readableLength(0));
            assertEquals(4, f.chain.readableBytes());

            final byte[] header = new byte[4];
            assertEquals(4, f.chain.read(0, header, 0, 4));
            assertArrayEquals(new byte[] {9, 8, 7, 6}, header);
            final byte[][] before = f.snapshot();
            assertEquals(8, f.chain.write(0, new byte[8], 0, 8));
            f.assertChangedOnlyIn(before, buffer(1), 8);
        }
    }

    @Test
    void shouldBreakWithAddressOutOfRangeWhenLengthIs0xFFFFFFFF()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(0, buffer(0), 0xFFFF_FFFFL, 0, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.ADDRESS_OUT_OF_RANGE);
        }
    }

    /** 4097 overlapping 1 MiB buffers in one region: every one in RAM, the sum past 2^32. */
    @Test
    void shouldBreakWithLengthOverflowWhenLengthsSumPast2To32()
    {
        final int n = 8192;
        try (RingFixture f = new RingFixture(n, false, false))
        {
            final int count = 4097;
            for (int i = 0; i < count; i++)
            {
                f.raw.descriptor(i, REGION_B, MIB, i < count - 1 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
            }
            f.offer(0);
            f.assertPopBreaks(QueueError.LENGTH_OVERFLOW);
        }
    }

    @Test
    void shouldBreakWithAddressOutOfRangeWhenAddrPlusLenWraps2To64()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(0, 0xFFFF_FFFF_FFFF_F000L, 0x2000, 0, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.ADDRESS_OUT_OF_RANGE);
        }
    }

    /** Region A ends where region B starts: every byte is RAM, but no single region holds the buffer. */
    @Test
    void shouldBreakWithAddressOutOfRangeWhenBufferStraddlesTwoRegions()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(0, REGION_B - 8, 16, 0, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.ADDRESS_OUT_OF_RANGE);
        }
    }

    @Test
    void shouldBreakWithAddressOutOfRangeWhenBufferRunsPastEndOfRam()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(0, REGION_C + MIB - 8, 16, VIRTQ_DESC_F_WRITE, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.ADDRESS_OUT_OF_RANGE);
        }
    }

    @Test
    void shouldBreakWithAddressOutOfRangeWhenBufferPointsIntoMmioHole()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(0, HOLE + 0x100, 4, VIRTQ_DESC_F_WRITE, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.ADDRESS_OUT_OF_RANGE);
        }
    }

    @Test
    void shouldBreakWithBadIndirectWhenIndirectLengthIsZero()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptor(2, buffer(0), 0, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(2);
            f.assertPopBreaks(QueueError.BAD_INDIRECT);
        }
    }

    @Test
    void shouldBreakWithBadIndirectWhenIndirectLengthIsNotMultipleOf16()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptor(2, INDIRECT_BASE, 17, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(2);
            f.assertPopBreaks(QueueError.BAD_INDIRECT);
        }
    }

    @Test
    void shouldBreakWithBadIndirectWhenIndirectLengthExceeds16Times65535()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptor(2, REGION_B, 16L * 65536, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(2);
            f.assertPopBreaks(QueueError.BAD_INDIRECT);
        }
    }

    @Test
    void shouldBreakWithNestedIndirectWhenTableHoldsIndirectDescriptor()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 0), buffer(0), 8, VIRTQ_DESC_F_NEXT, 1);
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 1), INDIRECT_BASE, 32, VIRTQ_DESC_F_INDIRECT, 0);
            f.raw.descriptor(0, INDIRECT_BASE, 32, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.NESTED_INDIRECT);
        }
    }

    @Test
    void shouldBreakWithIndirectWithNextWhenIndirectAlsoChains()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 0), buffer(0), 8, 0, 0);
            f.raw.descriptor(0, INDIRECT_BASE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.INDIRECT_WITH_NEXT);
        }
    }

    @Test
    void shouldBreakWithIndirectNotNegotiatedWhenIndirectIsUsedWithoutFeature()
    {
        try (RingFixture f = new RingFixture(N, true, false))
        {
            f.raw.descriptor(0, buffer(0), 8, VIRTQ_DESC_F_NEXT, 1);
            f.raw.descriptor(1, INDIRECT_BASE, 16, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.INDIRECT_NOT_NEGOTIATED);
        }
    }

    @Test
    void shouldBreakWithBadIndirectWhenTableIsOutsideRam()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptor(0, HOLE, 64, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.BAD_INDIRECT);
        }
    }

    /**
     * A table placed over the used ring is read once at pop, so the device's own used-ring write afterwards does not
     * change the chain it is processing.
     */
    @Test
    void shouldReadIndirectTableOverlappingUsedRingOnce()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            final long table = f.usedElement(0);
            f.raw.descriptorAt(table, buffer(0), 8, VIRTQ_DESC_F_NEXT, 1);
            f.raw.descriptorAt(table + 16, buffer(1), 16, VIRTQ_DESC_F_WRITE, 0);
            f.raw.descriptor(0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(0);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(buffer(1), f.chain.writableAddr(0));
            final byte[][] before = f.snapshot();
            assertEquals(16, f.chain.write(0, new byte[16], 0, 16));
            f.queue.complete(f.chain);
            f.queue.publish();
            f.assertChangedOnlyIn(before, buffer(1), 16, table, UsedRingLayout.ELEMENT_LENGTH, f.usedIdxAddr(), 2);
            assertFalse(f.queue.isBroken());
        }
    }

    @Test
    void shouldBreakWithOrderViolationWhenReadableDescriptorFollowsWritableOne()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(0, buffer(0), 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
            f.raw.descriptor(1, buffer(1), 8, 0, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.ORDER_VIOLATION);
        }
    }

    /** The ring accepts both; a device that needs both parts sees empty totals and reads or writes nothing. */
    @Test
    void shouldDeliverChainsWithNoReadableOrNoWritablePart()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(0, buffer(0), 8, 0, 0);
            f.raw.descriptor(1, buffer(1), 8, VIRTQ_DESC_F_WRITE, 0);
            f.offer(0);
            f.offer(1);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(0, f.chain.writableBytes());
            final byte[][] before = f.snapshot();
            assertEquals(0, f.chain.write(0, new byte[8], 0, 8), "no write into the readable buffer");
            f.assertUnchanged(before);
            f.queue.complete(f.chain, 0);

            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(0, f.chain.readableBytes());
            assertEquals(0, f.chain.read(0, new byte[8], 0, 8));
            assertEquals(8, f.chain.writableBytes());
        }
    }

    /**
     * A guest thread flips a descriptor between a RAM buffer and an MMIO address while the device pops it again and
     * again: every chain that pops holds the RAM buffer and writes land only there; every other pop breaks with
     * ADDRESS_OUT_OF_RANGE. A device that re-read the descriptor after checking it would write into the hole.
     */
    @Test
    void shouldNeverUseADescriptorValueItDidNotValidateWhenGuestRewritesItConcurrently() throws Exception
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(0, buffer(1), 16, VIRTQ_DESC_F_WRITE, 0);
            f.offer(0);
            final AtomicBoolean stop = new AtomicBoolean();
            final Thread guest = new Thread(() ->
            {
                boolean inRam = false;
                while (!stop.get())
                {
                    f.raw.descriptor(0, inRam ? buffer(1) : HOLE, 16, VIRTQ_DESC_F_WRITE, 0);
                    inRam = !inRam;
                }
            });
            guest.start();
            int chains = 0;
            int broken = 0;
            try
            {
                final byte[] data = new byte[16];
                for (int i = 0; i < 20_000; i++)
                {
                    final PopStatus status = f.queue.pop(f.chain);
                    if (status == PopStatus.CHAIN)
                    {
                        chains++;
                        assertEquals(buffer(1), f.chain.writableAddr(0));
                        assertEquals(16, f.chain.write(0, data, 0, 16));
                        f.queue.unpop(f.chain);
                    }
                    else
                    {
                        broken++;
                        assertEquals(PopStatus.BROKEN, status);
                        assertEquals(QueueError.ADDRESS_OUT_OF_RANGE, f.queue.brokenReason());
                        f.queue.reset();
                        assertEquals(QueueConfigStatus.VALID, f.queue.activate(f.config, 0, 0));
                    }
                }
            }
            finally
            {
                stop.set(true);
                guest.join();
            }
            assertEquals(20_000, chains + broken);
            assertEquals(broken, f.queue.counters().errors(QueueError.ADDRESS_OUT_OF_RANGE));
        }
    }

    @Test
    void shouldRefuseUsedRingPlacedOverAvailRing()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            final SplitQueueConfig bad = new SplitQueueConfig(N, f.config.descTable(), f.config.availRing(),
                f.config.availRing() + 4, false, false);
            final SplitQueue queue = new SplitQueue(f.memory, N, QueueBrokenListener.NONE);
            assertEquals(QueueConfigStatus.USED_RING_OVERLAPS, queue.activate(bad));
            assertFalse(queue.isActive());
            assertEquals(1, queue.counters().get(QueueCounter.CONFIGS_REJECTED));
        }
    }

    @Test
    void shouldRefuseUsedRingPlacedOverDescriptorTable()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            final SplitQueueConfig bad = new SplitQueueConfig(N, f.config.descTable(), f.config.availRing(),
                f.config.descTable() + 64, false, false);
            final SplitQueue queue = new SplitQueue(f.memory, N, QueueBrokenListener.NONE);
            assertEquals(QueueConfigStatus.USED_RING_OVERLAPS, queue.activate(bad));
            assertFalse(queue.isActive());
        }
    }

    /** used_event at 0, N - 1 and 0xFFFF: the interrupt comes exactly when the element at that index is published. */
    @Test
    void shouldInterruptExactlyAtUsedEventBoundaryValues()
    {
        final int[] events = {0, N - 1, 0xFFFF};
        final int[] starts = {0, 0, 0xFFF8};
        for (int e = 0; e < events.length; e++)
        {
            try (RingFixture f = new RingFixture(N, true, false, starts[e]))
            {
                f.driver.disableInterrupts();
                f.raw.usedEvent(events[e]);
                for (int k = 0; k < N; k++)
                {
                    final int index = (starts[e] + k) & 0xFFFF;
                    f.postPair(buffer(0), 8, buffer(1), 8);
                    assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
                    f.queue.complete(f.chain, 0);
                    f.queue.publish();
                    assertEquals(index == events[e], f.queue.needsInterrupt(),
                        "used_event=" + events[e] + ", element index=" + index);
                    f.driver.reap();
                }
            }
        }
    }

    /**
     * avail_event at 0, N - 1 and 0xFFFF: the device writes the next index to pop there when it re-enables
     * notifications, and the driver kicks exactly when it publishes the entry at that index.
     */
    @Test
    void shouldKickExactlyAtAvailEventBoundaryValues()
    {
        final int[] events = {0, N - 1, 0xFFFF};
        for (final int event : events)
        {
            final int start = (event - 3) & 0xFFFF;
            try (RingFixture f = new RingFixture(N, true, false, start))
            {
                for (int k = 0; k < 3; k++)
                {
                    f.driver.post(new long[] {buffer(k)}, new long[] {8}, 1, 0);
                }
                f.driver.publish();
                f.driver.needsKick();
                for (int k = 0; k < 3; k++)
                {
                    assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
                    f.queue.complete(f.chain, 0);
                }
                f.queue.publish();
                assertFalse(f.queue.enableNotificationAndRecheck());
                assertEquals(event, f.raw.availEvent());

                final boolean[] kicks = new boolean[4];
                for (int k = 0; k < kicks.length; k++)
                {
                    f.driver.post(new long[] {buffer(k)}, new long[] {8}, 1, 0);
                    f.driver.publish();
                    kicks[k] = f.driver.needsKick();
                }
                assertArrayEquals(new boolean[] {true, false, false, false}, kicks, "avail_event=" + event);
            }
        }
    }
}
