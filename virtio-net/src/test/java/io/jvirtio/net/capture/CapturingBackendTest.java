package io.jvirtio.net.capture;

import com.sun.management.ThreadMXBean;
import io.jvirtio.bus.stats.ChronicleQueues;
import io.jvirtio.net.backend.EchoBackend;
import io.jvirtio.net.backend.NetBackend;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.wire.DocumentContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The capture decorator on the calling thread: what it records, what it refuses, and that it allocates nothing. */
class CapturingBackendTest
{
    private static final NetBackend.RxWakeup NO_WAKEUP = pair ->
    {
    };

    static byte[] packet(final int frameLength, final int seed)
    {
        final byte[] bytes = new byte[NetBackend.FRAME_OFFSET + frameLength];
        for (int i = 0; i < bytes.length; i++)
        {
            bytes[i] = (byte)(seed + i * 11);
        }
        return bytes;
    }

    @Test
    void shouldRecordHeapAndNativePacketsBothWaysByteForByte(@TempDir final Path dir)
    {
        final byte[] small = packet(61, 3);
        final byte[] large = packet(9001, 5);
        final MemorySegment nativePacket = Arena.ofAuto().allocate(large.length);
        MemorySegment.copy(MemorySegment.ofArray(large), 0, nativePacket, 0, large.length);
        final MemorySegment rx = Arena.ofAuto().allocate(NetBackend.FRAME_OFFSET + 65_550);
        try (CapturingBackend capture = CapturingBackend.open(EchoBackend.plain(), dir.resolve("cap"), true))
        {
            capture.start(2, NO_WAKEUP);
            capture.transmit(1, MemorySegment.ofArray(small), 61);
            capture.transmit(1, nativePacket, 9001);
            assertEquals(61, capture.receive(1, rx));
            assertEquals(9001, capture.receive(1, rx));
            assertEquals(NetBackend.NO_FRAME, capture.receive(1, rx));
            capture.stop();
            assertEquals(4, capture.captured());
            assertEquals(0, capture.failures());
        }
        final List<CapturedFrame> frames = new ArrayList<>();
        assertEquals(new CaptureReader.Counts(4, 0), CaptureReader.read(dir.resolve("cap"), frames::add));
        final CaptureDirection[] directions =
            {CaptureDirection.TX, CaptureDirection.TX, CaptureDirection.RX, CaptureDirection.RX};
        final byte[][] packets = {small, large, small, large};
        for (int i = 0; i < frames.size(); i++)
        {
            final CapturedFrame frame = frames.get(i);
            assertEquals(directions[i], frame.direction());
            assertEquals(1, frame.pair());
            final byte[] expected = packets[i];
            assertArrayEquals(Arrays.copyOf(expected, NetBackend.FRAME_OFFSET), frame.header());
            assertArrayEquals(Arrays.copyOfRange(expected, NetBackend.FRAME_OFFSET, expected.length),
                frame.frame());
        }
    }

    @Test
    void shouldLeaveHeaderOutWhenHeadersAreNotCaptured(@TempDir final Path dir)
    {
        final byte[] bytes = packet(60, 9);
        try (CapturingBackend capture = CapturingBackend.open(EchoBackend.plain(), dir, false))
        {
            capture.start(1, NO_WAKEUP);
            capture.transmit(0, MemorySegment.ofArray(bytes), 60);
        }
        final List<CapturedFrame> frames = new ArrayList<>();
        CaptureReader.read(dir, frames::add);
        assertEquals(1, frames.size());
        assertEquals(0, frames.get(0).header().length);
        assertArrayEquals(Arrays.copyOfRange(bytes, NetBackend.FRAME_OFFSET, bytes.length),
            frames.get(0).frame());
    }

    @Test
    void shouldCountFailuresAndStillPassFramesOnWhenClosedOrPacketShort(@TempDir final Path dir)
    {
        final int[] seen = new int[1];
        final NetBackend counting = new NetBackend()
        {
            @Override
            public void start(final int queuePairs, final RxWakeup wakeup)
            {
            }

            @Override
            public void transmit(final int pair, final MemorySegment packet, final int frameLength)
            {
                seen[0]++;
            }

            @Override
            public int receive(final int pair, final MemorySegment packet)
            {
                return NO_FRAME;
            }

            @Override
            public void stop()
            {
            }
        };
        final CapturingBackend capture = CapturingBackend.open(counting, dir, true);
        capture.start(1, NO_WAKEUP);
        capture.transmit(0, MemorySegment.ofArray(packet(60, 1)), 61);
        capture.transmit(0, MemorySegment.ofArray(packet(60, 1)), -1);
        capture.close();
        capture.transmit(0, MemorySegment.ofArray(packet(60, 1)), 60);
        assertEquals(0, capture.captured());
        assertEquals(3, capture.failures());
        assertEquals(3, seen[0], "the wrapped backend sees every frame");
    }

    @Test
    void shouldSkipRecordsThatAreNotFrames(@TempDir final Path dir)
    {
        try (CapturingBackend capture = CapturingBackend.open(EchoBackend.plain(), dir, true))
        {
            capture.start(1, NO_WAKEUP);
            capture.transmit(0, MemorySegment.ofArray(packet(60, 1)), 60);
        }
        try (ChronicleQueue queue = ChronicleQueues.open(dir, false);
            ExcerptAppender appender = queue.createAppender())
        {
            try (DocumentContext dc = appender.writingDocument())
            {
                dc.wire().bytes().writeInt(7);
            }
            try (DocumentContext dc = appender.writingDocument())
            {
                // a TX record whose frame length claims more bytes than follow
                dc.wire().bytes().writeByte((byte)CaptureDirection.TX.code()).writeByte((byte)0)
                    .writeShort((short)0).writeInt(100).writeLong(0L).writeInt(0);
            }
        }
        assertEquals(new CaptureReader.Counts(1, 2), CaptureReader.read(dir, frame ->
        {
        }));
    }

    @Test
    void shouldAllocateNothingPerFrameWhenCapturing(@TempDir final Path dir)
    {
        final ThreadMXBean threads = (ThreadMXBean)ManagementFactory.getThreadMXBean();
        final long tid = Thread.currentThread().threadId();
        final MemorySegment packet = Arena.ofAuto().allocate(NetBackend.FRAME_OFFSET + 1514);
        packet.fill((byte)0x5A);
        final MemorySegment heapPacket = MemorySegment.ofArray(new byte[NetBackend.FRAME_OFFSET + 1514]);
        final MemorySegment rx = Arena.ofAuto().allocate(NetBackend.FRAME_OFFSET + 65_550);
        try (CapturingBackend capture = CapturingBackend.open(EchoBackend.plain(), dir, true))
        {
            capture.start(1, NO_WAKEUP);
            long least = Long.MAX_VALUE;
            int batches = 0;
            // a few batches: the first ones warm up the JIT and Chronicle's appender
            for (; batches < 10 && least != 0; batches++)
            {
                final long before = threads.getThreadAllocatedBytes(tid);
                for (int i = 0; i < 2_000; i++)
                {
                    capture.transmit(0, (i & 1) == 0 ? packet : heapPacket, 1514);
                    capture.receive(0, rx);
                }
                least = Math.min(least, threads.getThreadAllocatedBytes(tid) - before);
            }
            assertEquals(0, least, "bytes allocated by 4000 captured frames");
            assertEquals(0, capture.failures());
            assertEquals(4_000L * batches, capture.captured());
        }
    }
}
