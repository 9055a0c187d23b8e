package io.jvirtio.virtio.queue;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.jvirtio.virtio.queue.RingFixture.buffer;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The chain cursor: segments, logical offsets across descriptors, the used length, and writes only where allowed. */
class DescriptorChainTest
{
    private static final int N = 16;

    private static byte[] sequence(final int length, final int first)
    {
        final byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(first + i);
        }
        return bytes;
    }

    /** A virtio-net header of 12 bytes split 5 + 7 over two descriptors, then the frame. */
    @Test
    void shouldReadNetHeaderThatSpansTwoDescriptors()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            final byte[] header = sequence(12, 1);
            f.memory.copyIn(buffer(0), header, 0, 5);
            f.memory.copyIn(buffer(1), header, 5, 7);
            f.memory.copyIn(buffer(2), sequence(60, 100), 0, 60);
            f.driver.post(new long[] {buffer(0), buffer(1), buffer(2)}, new long[] {5, 7, 60}, 3, 0);
            f.driver.publish();
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));

            assertEquals(3, f.chain.readableSegments());
            assertEquals(72, f.chain.readableBytes());
            final byte[] read = new byte[12];
            assertEquals(12, f.chain.read(0, read, 0, 12));
            assertArrayEquals(header, read);
            final byte[] frame = new byte[60];
            assertEquals(60, f.chain.read(12, frame, 0, 60));
            assertArrayEquals(sequence(60, 100), frame);
            assertEquals(0, f.chain.read(72, frame, 0, 1), "nothing past the readable part");
            assertEquals(2, f.chain.read(70, frame, 0, 60), "short read at the end");
        }
    }

    /** A virtio-blk request: 16-byte header in one descriptor, data, then the status byte as the last writable byte. */
    @Test
    void shouldReadBlkHeaderAndWriteDataThenStatus()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.memory.copyIn(buffer(0), sequence(16, 0x40), 0, 16);
            f.driver.post(new long[] {buffer(0), buffer(1), buffer(2)}, new long[] {16, 512, 1}, 1, 2);
            f.driver.publish();
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            final byte[] header = new byte[16];
            assertEquals(16, f.chain.read(0, header, 0, 16));
            assertArrayEquals(sequence(16, 0x40), header);

            assertEquals(513, f.chain.writableBytes());
            assertEquals(512, f.chain.write(0, sequence(512, 0), 0, 512));
            assertEquals(1, f.chain.write(512, new byte[] {0}, 0, 1));
            assertEquals(513, f.chain.bytesWritten());
            f.queue.complete(f.chain);
            f.queue.publish();
            assertEquals(513, f.raw.usedLen(0));
        }
    }

    @Test
    void shouldCountBytesWrittenAsEndOfFurthestWrite()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.driver.post(new long[] {buffer(0), buffer(1)}, new long[] {10, 30}, 0, 2);
            f.driver.publish();
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(0, f.chain.bytesWritten());
            assertEquals(8, f.chain.write(12, new byte[8], 0, 8));
            assertEquals(20, f.chain.bytesWritten(), "a header written later at offset 0 is inside this length");
            assertEquals(12, f.chain.write(0, new byte[12], 0, 12));
            assertEquals(20, f.chain.bytesWritten());
            assertEquals(20, f.chain.write(20, new byte[64], 0, 64), "clipped at the end of the writable part");
            assertEquals(40, f.chain.bytesWritten());
        }
    }

    @Test
    void shouldWriteAcrossSegmentBoundariesIntoWritableBuffersOnly()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.driver.post(new long[] {buffer(0), buffer(1), buffer(2)}, new long[] {32, 3, 5}, 1, 2);
            f.driver.publish();
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            final byte[][] before = f.snapshot();
            assertEquals(6, f.chain.write(1, sequence(6, 1), 0, 6));
            f.assertChangedOnlyIn(before, buffer(1), 3, buffer(2), 5);
            final byte[] first = new byte[3];
            final byte[] second = new byte[5];
            f.memory.copyOut(buffer(1), first, 0, 3);
            f.memory.copyOut(buffer(2), second, 0, 5);
            assertArrayEquals(new byte[] {0, 1, 2}, first);
            assertArrayEquals(new byte[] {3, 4, 5, 6, 0}, second);
        }
    }

    @Test
    void shouldCopyToAndFromMemorySegmentsAcrossSegments()
    {
        try (RingFixture f = new RingFixture(N, false, false);
            Arena arena = Arena.ofConfined())
        {
            f.memory.copyIn(buffer(0), sequence(8, 10), 0, 8);
            f.memory.copyIn(buffer(1), sequence(8, 18), 0, 8);
            f.driver.post(new long[] {buffer(0), buffer(1), buffer(2), buffer(3)}, new long[] {8, 8, 4, 12}, 2, 2);
            f.driver.publish();
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));

            final MemorySegment host = arena.allocate(32);
            assertEquals(14, f.chain.read(2, host, 1, 20));
            assertArrayEquals(sequence(14, 12), host.asSlice(1, 14).toArray(ValueLayout.JAVA_BYTE));

            final MemorySegment source = MemorySegment.ofArray(sequence(16, 50));
            assertEquals(16, f.chain.write(0, source, 0, 16));
            final byte[] out = new byte[12];
            f.memory.copyOut(buffer(3), out, 0, 12);
            assertArrayEquals(sequence(12, 54), out);
            assertEquals(16, f.chain.bytesWritten());
        }
    }

    @Test
    void shouldExposeSegmentsByDirection()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.driver.post(new long[] {buffer(0), buffer(1), buffer(2)}, new long[] {1, 2, 3}, 2, 1);
            f.driver.publish();
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(2, f.chain.readableSegments());
            assertEquals(1, f.chain.writableSegments());
            assertEquals(buffer(1), f.chain.readableAddr(1));
            assertEquals(2, f.chain.readableLength(1));
            assertEquals(buffer(2), f.chain.writableAddr(0));
            assertEquals(3, f.chain.writableLength(0));
            assertThrows(IndexOutOfBoundsException.class, () -> f.chain.readableAddr(2));
            assertThrows(IndexOutOfBoundsException.class, () -> f.chain.writableLength(1));
        }
    }

    @Test
    void shouldRefuseBadHostArguments()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.postPair(buffer(0), 8, buffer(1), 8);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertThrows(IndexOutOfBoundsException.class, () -> f.chain.read(-1, new byte[4], 0, 4));
            assertThrows(IndexOutOfBoundsException.class, () -> f.chain.read(0, new byte[4], 2, 4));
            assertThrows(IndexOutOfBoundsException.class, () -> f.chain.write(0, new byte[4], 0, 5));
            assertThrows(IllegalArgumentException.class, () -> new DescriptorChain(0));
            assertThrows(IllegalArgumentException.class, () -> new DescriptorChain(32769));
        }
    }

    @Test
    void shouldEmptyCursorWhenChainIsCompleted()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.postPair(buffer(0), 8, buffer(1), 8);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            f.queue.complete(f.chain, 0);
            assertEquals(DescriptorChain.NO_HEAD, f.chain.head());
            assertEquals(0, f.chain.readableSegments());
            assertEquals(0, f.chain.write(0, new byte[4], 0, 4));
        }
    }

    /** CVE-2015-7295: a buffer that cannot be used goes back to the ring whole, and pops again. */
    @Test
    void shouldPopUnpoppedChainAgain()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            final int head = f.postPair(buffer(0), 8, buffer(1), 8);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            f.queue.unpop(f.chain);
            assertEquals(0, f.queue.inFlight());
            assertEquals(1, f.queue.counters().get(QueueCounter.CHAINS_UNPOPPED));
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(head, f.chain.head());
            assertEquals(PopStatus.EMPTY, f.queue.pop(new DescriptorChain(N)));
        }
    }

    @Test
    void shouldUnpopOnlyTheLatestPoppedChain()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            f.postPair(buffer(0), 8, buffer(1), 8);
            f.postPair(buffer(2), 8, buffer(3), 8);
            final DescriptorChain second = new DescriptorChain(N);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertEquals(PopStatus.CHAIN, f.queue.pop(second));
            assertThrows(IllegalStateException.class, () -> f.queue.unpop(f.chain));
            f.queue.unpop(second);
            f.queue.unpop(f.chain);
            assertEquals(0, f.queue.nextAvail());
        }
    }

    /** CVE-2022-26354: a popped chain must end used or unpopped; popping over it would leak its head for good. */
    @Test
    void shouldRefuseToPopIntoCursorThatStillHoldsAChainInFlight()
    {
        try (RingFixture f = new RingFixture(N, false, false))
        {
            final int head = f.postPair(buffer(0), 8, buffer(1), 8);
            f.postPair(buffer(2), 8, buffer(3), 8);
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain));
            assertThrows(IllegalStateException.class, () -> f.queue.pop(f.chain));
            assertEquals(head, f.chain.head(), "the chain in flight is kept");
            assertEquals(1, f.queue.inFlight());

            f.queue.reset();
            assertEquals(QueueConfigStatus.VALID, f.queue.activate(f.config));
            assertEquals(PopStatus.CHAIN, f.queue.pop(f.chain), "after reset the stale cursor is free again");
            assertEquals(head, f.chain.head());
        }
    }
}
