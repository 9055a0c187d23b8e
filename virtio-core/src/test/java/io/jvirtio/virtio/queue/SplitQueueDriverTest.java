package io.jvirtio.virtio.queue;

import org.junit.jupiter.api.Test;

import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_INDIRECT;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_NEXT;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_WRITE;
import static io.jvirtio.virtio.queue.RingFixture.INDIRECT_BASE;
import static io.jvirtio.virtio.queue.RingFixture.buffer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The driver side against the spec's driver requirements (virtio-v1.2 §2.7.7.1, §2.7.10.1, §2.7.13, §2.7.14). */
class SplitQueueDriverTest
{
    private static final int N = 8;

    @Test
    void shouldInitializeRingsAsTheSpecRequires()
    {
        try (RingFixture f = new RingFixture(N, false, false, 0xFFF0))
        {
            assertEquals(0, f.raw.availFlags());
            assertEquals(0, f.raw.usedFlags(), "§2.7.10.1: the driver MUST initialize used.flags to 0");
            assertEquals(0xFFF0, f.raw.availIdx());
            assertEquals(0xFFF0, f.raw.usedIdx());
            assertEquals(N, f.driver.freeDescriptors());
        }
    }

    @Test
    void shouldWriteChainReadableFirstWithNextLinks()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            final int head = f.driver.post(new long[] {buffer(0), buffer(1), buffer(2)}, new long[] {4, 5, 6}, 2, 1);
            final long d0 = f.config.descTable() + DescriptorLayout.offset(head);
            assertEquals(buffer(0), f.memory.getLongLE(d0));
            assertEquals(4, f.memory.getIntLE(d0 + DescriptorLayout.LEN_OFFSET));
            assertEquals(VIRTQ_DESC_F_NEXT, f.memory.getShortLE(d0 + DescriptorLayout.FLAGS_OFFSET));
            final int d1 = f.memory.getShortLE(d0 + DescriptorLayout.NEXT_OFFSET);
            final long d1Addr = f.config.descTable() + DescriptorLayout.offset(d1);
            final int d2 = f.memory.getShortLE(d1Addr + DescriptorLayout.NEXT_OFFSET);
            final long d2Addr = f.config.descTable() + DescriptorLayout.offset(d2);
            assertEquals(VIRTQ_DESC_F_WRITE, f.memory.getShortLE(d2Addr + DescriptorLayout.FLAGS_OFFSET));
            assertEquals(buffer(2), f.memory.getLongLE(d2Addr));
            assertEquals(N - 3, f.driver.freeDescriptors());
            assertEquals(0, f.raw.availIdx(), "not visible before publish");
            f.driver.publish();
            assertEquals(1, f.raw.availIdx());
            assertEquals(head, f.memory.getShortLE(f.config.availRing() + AvailRingLayout.ringEntryOffset(0)));
        }
    }

    @Test
    void shouldReturnNoSpaceWhenDescriptorsRunOutAndReuseThemAfterReap()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            for (int i = 0; i < N / 2; i++)
            {
                assertTrue(f.postPair(buffer(0), 8, buffer(1), 8) >= 0);
            }
            assertEquals(SplitQueueDriver.NO_SPACE, f.driver.post(new long[] {buffer(0)}, new long[] {8}, 1, 0));
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            final int head = f.chain.head();
            f.queue.complete(f.chain, 8);
            f.queue.publish();
            assertEquals(head, f.driver.reap());
            assertEquals(8, f.driver.reapedLength());
            assertEquals(2, f.driver.freeDescriptors());
            assertTrue(f.postPair(buffer(0), 8, buffer(1), 8) >= 0);
        }
    }

    @Test
    void shouldPostThroughIndirectTable()
    {
        try (RingFixture f = new RingFixture(N, false, true))
        {
            final int head = f.driver.postIndirect(
                new long[] {buffer(0), buffer(1), buffer(2)}, new long[] {16, 8, 32}, 2, 1);
            f.driver.publish();
            assertEquals(N - 1, f.driver.freeDescriptors(), "one ring descriptor for the whole chain");
            final long d = f.config.descTable() + DescriptorLayout.offset(head);
            assertEquals(VIRTQ_DESC_F_INDIRECT, f.memory.getShortLE(d + DescriptorLayout.FLAGS_OFFSET));
            assertEquals(48, f.memory.getIntLE(d + DescriptorLayout.LEN_OFFSET));
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(2, f.chain.readableSegments());
            assertEquals(24, f.chain.readableBytes());
            assertEquals(buffer(2), f.chain.writableAddr(0));
            f.queue.complete(f.chain, 32);
            f.queue.publish();
            assertEquals(head, f.driver.reap());
            assertEquals(N, f.driver.freeDescriptors());
            assertTrue(f.memory.isRam(INDIRECT_BASE));
        }
    }

    @Test
    void shouldRefuseBuffersThatBreakDriverRules()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            assertThrows(IllegalArgumentException.class, () -> f.driver.post(new long[0], new long[0], 0, 0));
            assertThrows(IllegalArgumentException.class,
                () -> f.driver.post(new long[] {buffer(0), buffer(1)}, new long[] {0xFFFF_FFFFL, 1}, 1, 1),
                "§2.7.5.2: not 2^32 bytes or more in total");
            assertThrows(IllegalStateException.class,
                () -> f.driver.postIndirect(new long[] {buffer(0)}, new long[] {8}, 1, 0),
                "§2.7.5.3.1: no INDIRECT without VIRTIO_F_INDIRECT_DESC");
        }
    }

    @Test
    void shouldKickUnlessDeviceSetsNoNotify()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.postPair(buffer(0), 8, buffer(1), 8);
            assertTrue(f.driver.needsKick());
            assertFalse(f.driver.needsKick(), "nothing new published");
            f.queue.disableNotification();
            f.postPair(buffer(0), 8, buffer(1), 8);
            assertFalse(f.driver.needsKick());
        }
    }

    @Test
    void shouldKickOnlyWhenPublishedIndexPassesAvailEvent()
    {
        try (RingFixture f = new RingFixture(N, true, false))
        {
            f.postPair(buffer(0), 8, buffer(1), 8);
            assertTrue(f.driver.needsKick(), "avail_event 0 is the entry just published");
            f.postPair(buffer(0), 8, buffer(1), 8);
            assertFalse(f.driver.needsKick(), "avail_event 0 already passed");
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(PopStatus.CHAIN, f.queue.pop(new DescriptorChain(N)));
            assertFalse(f.queue.enableNotificationAndRecheck());
            f.postPair(buffer(0), 8, buffer(1), 8);
            assertTrue(f.driver.needsKick(), "the device asked for entry 2");
        }
    }

    @Test
    void shouldSetNoInterruptWhenDisablingWithoutEventIdx()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.driver.disableInterrupts();
            assertEquals(AvailRingLayout.VIRTQ_AVAIL_F_NO_INTERRUPT, f.raw.availFlags());
            assertFalse(f.driver.enableInterruptsAndCheck());
            assertEquals(0, f.raw.availFlags());
        }
    }

    @Test
    void shouldKeepFlagsZeroAndMoveUsedEventWithEventIdx()
    {
        try (RingFixture f = new RingFixture(N, true, false))
        {
            f.driver.disableInterrupts();
            assertEquals(0, f.raw.availFlags(), "§2.7.7.1: with EVENT_IDX the driver MUST set flags to 0");
            f.postPair(buffer(0), 8, buffer(1), 8);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            f.queue.complete(f.chain, 0);
            f.queue.publish();
            assertTrue(f.driver.enableInterruptsAndCheck(), "an element used while disabled is found");
            assertEquals(0, f.raw.usedEvent());
            f.driver.reap();
            assertEquals(1, f.raw.usedEvent(), "ask for an interrupt at the next element");
            assertFalse(f.driver.enableInterruptsAndCheck());
        }
    }

    @Test
    void shouldRejectUsedElementThatIsNotInFlight()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.postPair(buffer(0), 8, buffer(1), 8);
            f.memory.putIntLE(f.usedElement(0), 5);
            f.memory.putShortLE(f.usedIdxAddr(), (short)1);
            assertThrows(IllegalStateException.class, f.driver::reap);
        }
    }

    @Test
    void shouldRejectUsedLengthAboveWritableBytes()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            final int head = f.postPair(buffer(0), 8, buffer(1), 8);
            f.memory.putIntLE(f.usedElement(0), head);
            f.memory.putIntLE(f.usedElement(0) + UsedRingLayout.ELEMENT_LEN_OFFSET, 9);
            f.memory.putShortLE(f.usedIdxAddr(), (short)1);
            assertThrows(IllegalStateException.class, f.driver::reap);
        }
    }

    @Test
    void shouldWriteAnyValueThroughRawRing()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.raw.descriptor(N - 1, -1L, 0xFFFF_FFFFL, 0xFFFF, 0xFFFF)
                .availFlags(0xFFFF)
                .availEntry(N - 1, 0xFFFF)
                .usedEvent(0xFFFF)
                .availIdx(0xFFFF);
            final long d = f.config.descTable() + DescriptorLayout.offset(N - 1);
            assertEquals(-1L, f.memory.getLongLE(d));
            assertEquals(-1, f.memory.getIntLE(d + DescriptorLayout.LEN_OFFSET));
            assertEquals(0xFFFF, f.raw.availFlags());
            assertEquals(0xFFFF, f.raw.usedEvent());
            assertEquals(0xFFFF, f.raw.availIdx());
        }
    }
}
