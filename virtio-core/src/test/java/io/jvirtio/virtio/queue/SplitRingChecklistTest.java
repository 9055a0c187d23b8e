package io.jvirtio.virtio.queue;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_INDIRECT;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_NEXT;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_WRITE;
import static io.jvirtio.virtio.queue.RingFixture.HOLE;
import static io.jvirtio.virtio.queue.RingFixture.INDIRECT_BASE;
import static io.jvirtio.virtio.queue.RingFixture.MIB;
import static io.jvirtio.virtio.queue.RingFixture.REGION_B;
import static io.jvirtio.virtio.queue.RingFixture.buffer;
import static io.jvirtio.virtio.queue.RingFixture.tableEntry;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One test per item of the conformance checklist's split-virtqueue section (items 9 to 17: descriptors, chain budget,
 * indirect tables, order, length, available index, used ring, notification suppression, what the device writes).
 * Each test name says the rule; the comment above it names the item.
 */
class SplitRingChecklistTest
{
    private static final int N = 16;

    // item 9: copy each 16-byte descriptor once; never re-read it
    @Test
    void shouldKeepValidatedCopyWhenGuestRewritesDescriptorAfterPop()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            final int head = f.postPair(buffer(0), 16, buffer(1), 16);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            f.raw.descriptor(head, HOLE, 0xFFFF_FFFFL, VIRTQ_DESC_F_WRITE, 0);
            f.raw.descriptor(head + 1, buffer(0), 4096, VIRTQ_DESC_F_WRITE, 0);

            assertEquals(buffer(0), f.chain.readableAddr(0));
            assertEquals(16, f.chain.readableLength(0));
            assertEquals(buffer(1), f.chain.writableAddr(0));
            final byte[][] before = f.snapshot();
            assertEquals(16, f.chain.write(0, new byte[64], 0, 64), "only the validated 16 writable bytes");
            f.assertChangedOnlyIn(before, buffer(1), 16);
        }
    }

    // item 9: head < N
    @Test
    void shouldBreakWithHeadOutOfRangeWhenAvailEntryIsQueueSize()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.offer(N);
            f.assertPopBreaks(QueueError.HEAD_OUT_OF_RANGE);
        }
    }

    // item 9: next < N
    @Test
    void shouldBreakWithNextOutOfRangeWhenNextIsQueueSize()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(0, buffer(0), 8, VIRTQ_DESC_F_NEXT, N);
            f.offer(0);
            f.assertPopBreaks(QueueError.NEXT_OUT_OF_RANGE);
        }
    }

    // item 9: next < table length inside an indirect table (2 < N, so only the table bound catches it)
    @Test
    void shouldBreakWithNextOutOfRangeWhenIndirectNextReachesTableLength()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 0), buffer(0), 8, VIRTQ_DESC_F_NEXT, 2);
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 1), buffer(1), 8, 0, 0);
            f.raw.descriptor(0, INDIRECT_BASE, 32, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.NEXT_OUT_OF_RANGE);
        }
    }

    // item 10: at most N descriptors per chain; exactly N is accepted
    @Test
    void shouldAcceptChainOfExactlyQueueSizeDescriptors()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            for (int i = 0; i < N; i++)
            {
                f.raw.descriptor(i, buffer(i), 8, i < N - 1 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
            }
            f.offer(0);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(N, f.chain.readableSegments());
            assertEquals(8L * N, f.chain.readableBytes());
        }
    }

    // item 10: running out of the budget of N hops is "looped descriptor"
    @Test
    void shouldBreakWithLoopedDescriptorWhenChainNeedsMoreThanQueueSizeHops()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            for (int i = 0; i < N; i++)
            {
                f.raw.descriptor(i, buffer(i), 8, VIRTQ_DESC_F_NEXT, (i + 1) % N);
            }
            f.offer(0);
            f.assertPopBreaks(QueueError.LOOPED_DESCRIPTOR);
        }
    }

    // item 10: inside a table the budget is its length, plus the one hop of the descriptor pointing to it
    @Test
    void shouldAcceptIndirectWalkOfTableLengthPlusPointerHop()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            for (int i = 0; i < N; i++)
            {
                final int flags = i < N - 1 ? VIRTQ_DESC_F_NEXT : 0;
                f.raw.descriptorAt(tableEntry(INDIRECT_BASE, i), buffer(i), 4, flags, i + 1);
            }
            f.raw.descriptor(3, INDIRECT_BASE, 16L * N, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(3);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(3, f.chain.head());
            assertEquals(N, f.chain.readableSegments());
        }
    }

    // item 10: a loop inside a table runs out of the table-length budget
    @Test
    void shouldBreakWithLoopedDescriptorWhenIndirectWalkExceedsTableLength()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            for (int i = 0; i < 4; i++)
            {
                f.raw.descriptorAt(tableEntry(INDIRECT_BASE, i), buffer(i), 4, VIRTQ_DESC_F_NEXT, (i + 1) % 4);
            }
            f.raw.descriptor(0, INDIRECT_BASE, 64, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.LOOPED_DESCRIPTOR);
        }
    }

    // item 11: accepted only if negotiated
    @Test
    void shouldBreakWithIndirectNotNegotiatedWhenFeatureIsOff()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 0), buffer(0), 8, 0, 0);
            f.raw.descriptor(0, INDIRECT_BASE, 16, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.INDIRECT_NOT_NEGOTIATED);
        }
    }

    // item 11: len != 0
    @Test
    void shouldBreakWithBadIndirectWhenTableLengthIsZero()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptor(0, INDIRECT_BASE, 0, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.BAD_INDIRECT);
        }
    }

    // item 11: len a multiple of 16
    @Test
    void shouldBreakWithBadIndirectWhenTableLengthIsNotMultipleOf16()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 0), buffer(0), 8, 0, 0);
            f.raw.descriptor(0, INDIRECT_BASE, 24, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.BAD_INDIRECT);
        }
    }

    // item 11: table entirely in RAM (here it starts in RAM and runs into the hole)
    @Test
    void shouldBreakWithBadIndirectWhenTableRunsOutOfRam()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptor(0, HOLE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.BAD_INDIRECT);
        }
    }

    // item 11: no nested INDIRECT
    @Test
    void shouldBreakWithNestedIndirectWhenTableEntryIsIndirect()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 0), INDIRECT_BASE + 256, 16, VIRTQ_DESC_F_INDIRECT, 0);
            f.raw.descriptorAt(INDIRECT_BASE + 256, buffer(0), 8, 0, 0);
            f.raw.descriptor(0, INDIRECT_BASE, 16, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.NESTED_INDIRECT);
        }
    }

    // item 11: no INDIRECT|NEXT
    @Test
    void shouldBreakWithIndirectWithNextWhenBothFlagsAreSet()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 0), buffer(0), 8, 0, 0);
            f.raw.descriptor(0, INDIRECT_BASE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
            f.raw.descriptor(1, buffer(1), 8, VIRTQ_DESC_F_WRITE, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.INDIRECT_WITH_NEXT);
        }
    }

    // item 11: ignore WRITE on the table descriptor (the table's own flags decide each buffer's direction)
    @Test
    void shouldIgnoreWriteFlagOnDescriptorPointingToTable()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 0), buffer(0), 8, VIRTQ_DESC_F_NEXT, 1);
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 1), buffer(1), 4, VIRTQ_DESC_F_WRITE, 0);
            f.raw.descriptor(0, INDIRECT_BASE, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
            f.offer(0);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(1, f.chain.readableSegments());
            assertEquals(buffer(0), f.chain.readableAddr(0));
            assertEquals(1, f.chain.writableSegments());
            assertEquals(1, f.queue.counters().get(QueueCounter.INDIRECT_WRITE_FLAG_IGNORED));
        }
    }

    // item 11: accept "direct descriptors followed by one indirect"
    @Test
    void shouldAcceptDirectDescriptorsFollowedByOneIndirect()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 0), buffer(1), 8, VIRTQ_DESC_F_NEXT, 1);
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 1), buffer(2), 32, VIRTQ_DESC_F_WRITE, 0);
            f.raw.descriptor(5, buffer(0), 12, VIRTQ_DESC_F_NEXT, 9);
            f.raw.descriptor(9, INDIRECT_BASE, 32, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(5);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(5, f.chain.head());
            assertEquals(2, f.chain.readableSegments());
            assertEquals(buffer(0), f.chain.readableAddr(0));
            assertEquals(buffer(1), f.chain.readableAddr(1));
            assertEquals(20, f.chain.readableBytes());
            assertEquals(buffer(2), f.chain.writableAddr(0));
            assertEquals(32, f.chain.writableBytes());
        }
    }

    // item 12: device-writable descriptors must all follow the readable ones
    @Test
    void shouldBreakWithOrderViolationWhenReadableFollowsWritable()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(0, buffer(0), 8, VIRTQ_DESC_F_NEXT, 1);
            f.raw.descriptor(1, buffer(1), 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
            f.raw.descriptor(2, buffer(2), 8, 0, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.ORDER_VIOLATION);
        }
    }

    // item 12: the order holds across the switch into an indirect table
    @Test
    void shouldBreakWithOrderViolationWhenTableReadableFollowsDirectWritable()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            f.raw.descriptorAt(tableEntry(INDIRECT_BASE, 0), buffer(1), 8, 0, 0);
            f.raw.descriptor(0, buffer(0), 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
            f.raw.descriptor(1, INDIRECT_BASE, 16, VIRTQ_DESC_F_INDIRECT, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.ORDER_VIOLATION);
        }
    }

    // item 13: total chain length <= 2^32 - 1 (4096 overlapping descriptors over one 1 MiB region)
    @Test
    void shouldAcceptChainOfExactly2To32Minus1Bytes()
    {
        final int n = 4096;
        try (RingFixture f = new RingFixture(n, false, false))
        {
            for (int i = 0; i < n; i++)
            {
                final long len = i < n - 1 ? MIB : MIB - 1;
                f.raw.descriptor(i, REGION_B, len, i < n - 1 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
            }
            f.offer(0);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(0xFFFF_FFFFL, f.chain.readableBytes());
        }
    }

    // item 13: 2^32 bytes is one too many; the sum is kept in a long, so it cannot wrap to a small value
    @Test
    void shouldBreakWithLengthOverflowWhenChainTotals2To32Bytes()
    {
        final int n = 4096;
        try (RingFixture f = new RingFixture(n, false, false))
        {
            for (int i = 0; i < n; i++)
            {
                f.raw.descriptor(i, REGION_B, MIB, i < n - 1 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
            }
            f.offer(0);
            f.assertPopBreaks(QueueError.LENGTH_OVERFLOW);
        }
    }

    // item 14: (u16)(avail.idx - last_avail) <= N: exactly N available chains are fine
    @Test
    void shouldAcceptAvailIndexAheadByExactlyQueueSize()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            for (int i = 0; i < N; i++)
            {
                f.raw.descriptor(i, buffer(i), 8, 0, 0);
                f.raw.availEntry(i, i);
            }
            f.raw.availIdx(N);
            for (int i = 0; i < N; i++)
            {
                final DescriptorChain chain = new DescriptorChain(N);
                assertEquals(PopStatus.CHAIN, f.queue.pop(chain));
                assertEquals(i, chain.head());
            }
            assertEquals(PopStatus.EMPTY, f.queue.pop(f.chain));
            assertEquals(N, f.queue.inFlight());
        }
    }

    // item 14: N + 1 is an error
    @Test
    void shouldBreakWithAvailIndexJumpWhenAheadByQueueSizePlusOne()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.availIdx(N + 1);
            f.assertPopBreaks(QueueError.AVAIL_INDEX_JUMP);
        }
    }

    // item 14: at most N chains in flight; with N in flight every further head is a duplicate
    @Test
    void shouldNeverHoldMoreThanQueueSizeChainsInFlight()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            for (int i = 0; i < N; i++)
            {
                f.raw.descriptor(i, buffer(i), 8, 0, 0);
                f.offer(i);
                assertEquals(PopStatus.CHAIN, f.queue.pop(new DescriptorChain(N)));
            }
            f.offer(7);
            f.assertPopBreaks(QueueError.DUPLICATE_HEAD);
            assertEquals(N, f.queue.inFlight());
        }
    }

    // item 15: used element id = head, len = bytes actually written
    @Test
    void shouldWriteUsedElementWithHeadAndBytesWritten()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            final int head = f.postPair(buffer(0), 16, buffer(1), 64);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            f.chain.write(0, new byte[] {1, 2, 3, 4, 5}, 0, 5);
            f.queue.complete(f.chain);
            f.queue.publish();
            assertEquals(head, f.raw.usedId(0));
            assertEquals(5, f.raw.usedLen(0));
            assertEquals(head, f.driver.reap());
            assertEquals(5, f.driver.reapedLength());
        }
    }

    // item 15: the element is written before used.idx, which only publish() moves
    @Test
    void shouldNotMoveUsedIdxBeforePublish()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            final int head = f.postPair(buffer(0), 16, buffer(1), 64);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            final byte[][] before = f.snapshot();
            f.queue.complete(f.chain, 0);
            f.assertChangedOnlyIn(before, f.usedElement(0), UsedRingLayout.ELEMENT_LENGTH);
            assertEquals(head, f.raw.usedId(0));
            assertEquals(0, f.raw.usedIdx());
            assertEquals(SplitQueueDriver.NOTHING_USED, f.driver.reap());
            f.queue.publish();
            assertEquals(1, f.raw.usedIdx());
            assertEquals(1, f.queue.counters().get(QueueCounter.USED_PUBLISHED));
        }
    }

    // item 15: len is never more than the bytes the writable buffers hold
    @Test
    void shouldRejectUsedLengthAboveWritableBytes()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.postPair(buffer(0), 16, buffer(1), 64);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertThrows(IllegalArgumentException.class, () -> f.queue.complete(f.chain, 65));
            assertThrows(IllegalArgumentException.class, () -> f.queue.complete(f.chain, -1));
            f.queue.complete(f.chain, 64);
            assertEquals(0, f.queue.inFlight());
        }
    }

    // item 15: id < N and in flight on this queue, completed once
    @Test
    void shouldRejectCompletionOfChainNotInFlightOnThisQueue()
    {
        try (RingFixture f = new RingFixture(N, false, false);
            RingFixture big = new RingFixture(256, false, false))
        {
            big.raw.descriptor(200, buffer(0), 8, 0, 0);
            big.offer(200);
            assertEquals(PopStatus.CHAIN, big.queue.pop(big.chain));
            final DescriptorChain foreign = big.chain;
            assertThrows(IllegalStateException.class, () -> f.queue.complete(foreign, 0), "head 200 >= N");

            f.postPair(buffer(0), 16, buffer(1), 64);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            f.queue.complete(f.chain, 0);
            assertThrows(IllegalStateException.class, () -> f.queue.complete(f.chain, 0), "completed twice");
        }
    }

    // item 16: honour NO_INTERRUPT without EVENT_IDX
    @Test
    void shouldSuppressInterruptWhenDriverSetsNoInterrupt()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.availFlags(AvailRingLayout.VIRTQ_AVAIL_F_NO_INTERRUPT);
            completeOne(f);
            assertFalse(f.queue.needsInterrupt());
            f.raw.availFlags(0);
            completeOne(f);
            assertTrue(f.queue.needsInterrupt());
            assertFalse(f.queue.needsInterrupt(), "nothing new published since the last decision");
            assertEquals(1, f.queue.counters().get(QueueCounter.INTERRUPTS_SUPPRESSED));
            assertEquals(1, f.queue.counters().get(QueueCounter.INTERRUPTS_NEEDED));
        }
    }

    // item 16: with EVENT_IDX notify exactly when the element at index used_event is published
    @Test
    void shouldInterruptOnlyWhenPublishedEntryReachesUsedEvent()
    {
        try (RingFixture f = new RingFixture(N, true, false))
        {
            f.raw.usedEvent(2);
            final boolean[] interrupts = new boolean[5];
            for (int i = 0; i < interrupts.length; i++)
            {
                completeOne(f);
                interrupts[i] = f.queue.needsInterrupt();
            }
            assertArrayEquals(new boolean[] {false, false, true, false, false}, interrupts);
        }
    }

    // item 16: with EVENT_IDX the low bit of avail.flags is ignored
    @Test
    void shouldIgnoreNoInterruptFlagWithEventIdx()
    {
        try (RingFixture f = new RingFixture(N, true, false))
        {
            f.raw.availFlags(AvailRingLayout.VIRTQ_AVAIL_F_NO_INTERRUPT).usedEvent(0);
            completeOne(f);
            assertTrue(f.queue.needsInterrupt());
        }
    }

    // item 16: with EVENT_IDX keep used.flags = 0 and steer kicks with avail_event
    @Test
    void shouldKeepUsedFlagsZeroAndMoveAvailEventWithEventIdx()
    {
        try (RingFixture f = new RingFixture(N, true, false))
        {
            completeOne(f);
            f.queue.disableNotification();
            assertEquals(0, f.raw.usedFlags());
            assertFalse(f.queue.enableNotificationAndRecheck());
            assertEquals(0, f.raw.usedFlags());
            assertEquals(1, f.raw.availEvent(), "avail_event = index of the next chain to pop");
        }
    }

    // item 16: without EVENT_IDX, NO_NOTIFY in used.flags while disabled
    @Test
    void shouldSetNoNotifyWhileNotificationsAreDisabled()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.queue.disableNotification();
            assertEquals(UsedRingLayout.VIRTQ_USED_F_NO_NOTIFY, f.raw.usedFlags());
            f.postPair(buffer(0), 16, buffer(1), 16);
            assertFalse(f.driver.needsKick(), "the driver honours NO_NOTIFY");
            assertTrue(f.queue.enableNotificationAndRecheck(), "the chain posted while disabled is found");
            assertEquals(0, f.raw.usedFlags());
            assertEquals(1, f.queue.counters().get(QueueCounter.NOTIFICATIONS_SUPPRESSED));
            assertEquals(1, f.queue.counters().get(QueueCounter.RECHECK_FOUND_WORK));
        }
    }

    // item 16: after re-enabling, re-check avail.idx (EVENT_IDX: the kick was suppressed by a stale avail_event)
    @Test
    void shouldFindChainMadeAvailableBeforeReenableWithEventIdx()
    {
        try (RingFixture f = new RingFixture(N, true, false))
        {
            f.postPair(buffer(0), 16, buffer(1), 16);
            assertTrue(f.driver.needsKick(), "avail_event 0 is the entry just published");
            f.queue.disableNotification();
            f.postPair(buffer(2), 16, buffer(3), 16);
            assertFalse(f.driver.needsKick(), "avail_event 0 was already passed, so no kick");
            assertTrue(f.queue.enableNotificationAndRecheck());
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
        }
    }

    // item 17: the device writes only device-writable buffers and its used ring
    @Test
    void shouldWriteOnlyWritableBuffersAndUsedRing()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.driver.post(new long[] {buffer(0), buffer(1), buffer(2), buffer(3)}, new long[] {32, 32, 24, 24}, 2, 2);
            f.driver.publish();
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            final byte[][] before = f.snapshot();
            final byte[] data = new byte[100];
            Arrays.fill(data, (byte)0x5A);
            assertEquals(48, f.chain.write(0, data, 0, data.length));
            assertEquals(0, f.chain.write(48, data, 0, 1), "nothing past the writable part");
            f.queue.complete(f.chain);
            f.queue.publish();
            f.assertChangedOnlyIn(before, buffer(2), 24, buffer(3), 24, f.usedElement(0),
                UsedRingLayout.ELEMENT_LENGTH, f.usedIdxAddr(), 2);
            assertEquals(48, f.raw.usedLen(0));
        }
    }

    // item 17: a device-writable buffer over the descriptor table would make the device write the table
    @Test
    void shouldBreakWithBufferOverlapsRingWhenWritableBufferCoversDescriptorTable()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            // starts in free RAM just below the table and ends inside it
            f.raw.descriptor(0, f.config.descTable() - 8, 16, VIRTQ_DESC_F_WRITE, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.BUFFER_OVERLAPS_RING);
        }
    }

    // item 17: nor the available ring
    @Test
    void shouldBreakWithBufferOverlapsRingWhenWritableBufferCoversAvailRing()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(0, f.config.availRing() + 2, 4, VIRTQ_DESC_F_WRITE, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.BUFFER_OVERLAPS_RING);
        }
    }

    // item 17: nor the used ring, which the device writes only through used elements and idx
    @Test
    void shouldBreakWithBufferOverlapsRingWhenWritableBufferCoversUsedRing()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            final long availEnd = f.config.availRing() + AvailRingLayout.length(N);
            assertEquals(f.config.usedRing() - 2, availEnd, "two bytes of padding before the used ring");
            f.raw.descriptor(0, availEnd, 4, VIRTQ_DESC_F_WRITE, 0);
            f.offer(0);
            f.assertPopBreaks(QueueError.BUFFER_OVERLAPS_RING);
        }
    }

    // item 17: a device-readable buffer over the rings is only read, so it is allowed
    @Test
    void shouldAcceptReadableBufferOverTheRings()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(0, f.config.descTable(), 64, 0, 0);
            f.offer(0);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertNull(f.queue.brokenReason());
        }
    }

    /** Posts, pops, completes and publishes one chain; the driver does not reap it, so used_event stays put. */
    private static void completeOne(final RingFixture f)
    {
        f.postPair(buffer(0), 16, buffer(1), 16);
        assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
        f.queue.complete(f.chain, 0);
        f.queue.publish();
    }
}
