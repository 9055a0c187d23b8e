package io.jvirtio.blk;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jvirtio.blk.backend.BlockBackend;
import io.jvirtio.blk.backend.MemoryBlockBackend;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;
import io.jvirtio.bus.testing.FuzzInput;
import io.jvirtio.bus.testing.FuzzSeeds;
import io.jvirtio.virtio.VirtioInterrupt;
import io.jvirtio.virtio.queue.QueueBrokenListener;
import io.jvirtio.virtio.queue.QueueConfigStatus;
import io.jvirtio.virtio.queue.SplitQueue;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Coverage-guided fuzzing of the virtio-blk request path (parser and handler, §5.2.6) with one arbitrary request per
 * input: type, sector, negotiated FLUSH/DISCARD/WRITE_ZEROES, a read-only disk, and the chain's readable and
 * writable descriptors with their lengths and payload (segments for DISCARD and WRITE_ZEROES included).
 * <p>
 * Invariants: nothing throws; the chain is completed once; a well-framed request (16 header bytes readable, a
 * non-empty writable descriptor) gets a status of OK, IOERR or UNSUPP in the last byte of its last non-empty writable
 * descriptor, and no other writable byte changes unless the request reads data (IN, GET_ID); a badly framed one is
 * completed with length 0 and changes no guest byte; readable buffers never change; the backend is never asked for
 * a byte outside its capacity; and the disk changes only for OUT, DISCARD or WRITE_ZEROES answered OK.
 * <p>
 * Seeds live in {@code BlockRequestFuzzTestInputs/request}, written by {@link #seeds()}. Thread safety: JUnit's
 * thread only.
 */
class BlockRequestFuzzTest
{
    private static final long SECTORS = 64;
    private static final long RAM = 1L << 20;
    private static final long RING = 0x1000;
    private static final long BUFFERS = 0x1_0000;
    private static final int QUEUE_SIZE = 16;
    private static final int MAX_PARTS = 4;
    /** Bound on one descriptor's length: a few sectors, so that requests cross the disk's end. */
    private static final int MAX_PART = 4 * 512 + 16;
    private static final byte SENTINEL = 0x7E;
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int[] TYPES = {VirtioBlk.VIRTIO_BLK_T_IN, VirtioBlk.VIRTIO_BLK_T_OUT,
        VirtioBlk.VIRTIO_BLK_T_FLUSH, VirtioBlk.VIRTIO_BLK_T_GET_ID, VirtioBlk.VIRTIO_BLK_T_DISCARD,
        VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES};

    @FuzzTest(maxDuration = "0s", maxExecutions = 50_000)
    void request(final FuzzedDataProvider data) throws IOException
    {
        final boolean readOnly = data.consumeBoolean();
        final long features = (data.consumeBoolean() ? 1L << VirtioBlk.VIRTIO_BLK_F_FLUSH : 0)
            | (data.consumeBoolean() ? 1L << VirtioBlk.VIRTIO_BLK_F_DISCARD : 0)
            | (data.consumeBoolean() ? 1L << VirtioBlk.VIRTIO_BLK_F_WRITE_ZEROES : 0);
        final int type = data.consumeBoolean() ? TYPES[data.consumeInt(0, TYPES.length - 1)] : data.consumeInt();
        final long sector = data.consumeBoolean() ? data.consumeLong(0, SECTORS + 2) : data.consumeLong();
        final int readable = data.consumeInt(0, MAX_PARTS);
        // a chain has at least one descriptor (§2.7.5): with no readable one, one writable
        final int writable = Math.max(readable == 0 ? 1 : 0, data.consumeInt(0, MAX_PARTS - 1));
        final long[] lens = new long[readable + writable];
        for (int i = 0; i < lens.length; i++)
        {
            // mostly the usual shape (16-byte header, 512-byte data, 1-byte status), sometimes any length
            final long usual = i == 0 ? BlockRequestLayout.HEADER_LENGTH : i == lens.length - 1 ? 1 : 512;
            lens[i] = data.consumeBoolean() ? usual : data.consumeInt(0, MAX_PART);
        }
        final byte[] payload = data.consumeRemainingAsBytes();

        try (CheckedBackend disk = new CheckedBackend(new MemoryBlockBackend(SECTORS, readOnly, "fuzz"));
            GuestMemory memory = GuestMemory.of(GuestRegion.anonymous(0, RAM)))
        {
            final BlockDevice device = new BlockDevice(disk, BlockDeviceConfig.defaults().withQueueSize(QUEUE_SIZE,
                QUEUE_SIZE - 2));
            final SplitQueueConfig ring = SplitQueueConfig.contiguous(RING, QUEUE_SIZE, false, false);
            final SplitQueue queue = new SplitQueue(memory, QUEUE_SIZE, QueueBrokenListener.NONE);
            assertEquals(QueueConfigStatus.VALID, queue.activate(ring));
            final SplitQueueDriver driver = new SplitQueueDriver(memory, ring);
            final BlockQueueHandler handler = new BlockQueueHandler(device, disk, device.counters(), queue, memory,
                new NoInterrupt(), 0, features);

            // the readable bytes: the header, then the payload; writable bytes start as SENTINEL
            final long[] addrs = new long[lens.length];
            long at = BUFFERS;
            for (int i = 0; i < lens.length; i++)
            {
                addrs[i] = at;
                at += lens[i] + 64;
            }
            final long total = at - BUFFERS;
            memory.fill(BUFFERS, total, SENTINEL);
            final byte[] readableBytes = readableBytes(type, sector, payload, lens, readable);
            int offset = 0;
            for (int i = 0; i < readable; i++)
            {
                memory.copyIn(addrs[i], readableBytes, offset, (int)lens[i]);
                offset += (int)lens[i];
            }
            final byte[] guestBefore = copy(memory, BUFFERS, total);
            final byte[] diskBefore = disk.inner.segment().toArray(ValueLayout.JAVA_BYTE);

            final int head = driver.post(addrs, lens, readable, writable);
            driver.publish();
            handler.process(0, QUEUE_SIZE);
            assertEquals(head, driver.reap(), "the request is completed");
            final long usedLength = driver.reapedLength();
            assertTrue(disk.violation == null, "backend access outside capacity: " + disk.violation);

            final int statusIndex = lastNonEmpty(lens, readable);
            final boolean framed = offset >= BlockRequestLayout.HEADER_LENGTH && statusIndex >= 0;
            final byte[] guestAfter = copy(memory, BUFFERS, total);
            int status = -1;
            if (framed)
            {
                final long statusAddr = addrs[statusIndex] + lens[statusIndex] - 1;
                status = guestAfter[(int)(statusAddr - BUFFERS)];
                assertTrue(status == VirtioBlk.VIRTIO_BLK_S_OK || status == VirtioBlk.VIRTIO_BLK_S_IOERR
                    || status == VirtioBlk.VIRTIO_BLK_S_UNSUPP, "status OK, IOERR or UNSUPP: " + status);
                assertTrue(usedLength >= 1, "the used length counts the status byte");
                final boolean readsData = type == VirtioBlk.VIRTIO_BLK_T_IN || type == VirtioBlk.VIRTIO_BLK_T_GET_ID;
                for (int i = 0; i < guestAfter.length; i++)
                {
                    final long gpa = BUFFERS + i;
                    if (guestAfter[i] != guestBefore[i] && gpa != statusAddr
                        && !(readsData && inWritable(gpa, addrs, lens, readable)))
                    {
                        fail("guest byte changed outside the status: gpa=0x" + Long.toHexString(gpa));
                    }
                }
            }
            else
            {
                assertEquals(0, usedLength, "a badly framed request is completed with length 0");
                assertArrayEquals(guestBefore, guestAfter, "a badly framed request writes nothing");
            }
            final boolean changesDisk = type == VirtioBlk.VIRTIO_BLK_T_OUT || type == VirtioBlk.VIRTIO_BLK_T_DISCARD
                || type == VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES;
            if (!(framed && changesDisk && status == VirtioBlk.VIRTIO_BLK_S_OK))
            {
                assertArrayEquals(diskBefore, disk.inner.segment().toArray(ValueLayout.JAVA_BYTE),
                    "the disk changes only for a write answered OK");
            }
        }
    }

    @Test
    void shouldMatchCheckedInSeeds()
    {
        FuzzSeeds.check(BlockRequestFuzzTest.class, "request", seeds());
    }

    /** @return the seed inputs by file name. */
    static Map<String, byte[]> seeds()
    {
        final byte[] sectorData = new byte[512];
        Arrays.fill(sectorData, (byte)0xAB);
        final byte[] discardSegment = new byte[16];
        MemorySegment.ofArray(discardSegment).set(LE64, 0, 60);
        MemorySegment.ofArray(discardSegment).set(LE32, 8, 8);
        final int usual = -1;
        return Map.of(
            "read-ok", seed(false, 0, 0, 2, new int[] {usual}, new int[] {usual, usual}, new byte[0]),
            "write-ok", seed(false, 0, 1, 3, new int[] {usual, usual}, new int[] {usual}, sectorData),
            "write-past-end", seed(false, 0, 1, 63, new int[] {usual, 1024}, new int[] {usual}, sectorData),
            "write-read-only", seed(true, 0, 1, 0, new int[] {usual, usual}, new int[] {usual}, sectorData),
            "flush-not-negotiated", seed(false, 0, 2, 0, new int[] {usual}, new int[] {usual}, new byte[0]),
            "discard-past-end", seed(false, 1 << 1, 4, 0, new int[] {usual, 16}, new int[] {usual},
                discardSegment),
            "get-id", seed(false, 0, 3, 0, new int[] {usual}, new int[] {20, usual}, new byte[0]),
            "no-status", seed(false, 0, 1, 0, new int[] {usual, usual}, new int[0], sectorData),
            "short-header", seed(false, 0, 0, 0, new int[] {8}, new int[] {usual}, new byte[0]));
    }

    /**
     * @param features  bit 0 FLUSH, bit 1 DISCARD, bit 2 WRITE_ZEROES.
     * @param typeIndex index into {@link #TYPES}.
     * @param readable  lengths of the readable descriptors, -1 for the usual one.
     * @param writable  lengths of the writable descriptors, -1 for the usual one.
     */
    private static byte[] seed(final boolean readOnly, final int features, final int typeIndex, final long sector,
        final int[] readable, final int[] writable, final byte[] payload)
    {
        final FuzzInput in = new FuzzInput().bool(readOnly).bool((features & 1) != 0).bool((features & 2) != 0)
            .bool((features & 4) != 0).bool(true).integer(typeIndex, 0, TYPES.length - 1).bool(true)
            .longValue(sector, 0, SECTORS + 2).integer(readable.length, 0, MAX_PARTS)
            .integer(writable.length, 0, MAX_PARTS - 1);
        for (final int[] side : new int[][] {readable, writable})
        {
            for (final int length : side)
            {
                if (length < 0)
                {
                    in.bool(true);
                }
                else
                {
                    in.bool(false).integer(length, 0, MAX_PART);
                }
            }
        }
        return in.rest(payload).toBytes();
    }

    private static byte[] readableBytes(final int type, final long sector, final byte[] payload, final long[] lens,
        final int readable)
    {
        long length = 0;
        for (int i = 0; i < readable; i++)
        {
            length += lens[i];
        }
        final byte[] bytes = new byte[(int)length];
        final MemorySegment view = MemorySegment.ofArray(bytes);
        if (bytes.length >= BlockRequestLayout.HEADER_LENGTH)
        {
            view.set(LE32, BlockRequestLayout.TYPE_OFFSET, type);
            view.set(LE64, BlockRequestLayout.SECTOR_OFFSET, sector);
        }
        final int from = Math.min(bytes.length, BlockRequestLayout.HEADER_LENGTH);
        System.arraycopy(payload, 0, bytes, from, Math.min(payload.length, bytes.length - from));
        return bytes;
    }

    private static int lastNonEmpty(final long[] lens, final int readable)
    {
        for (int i = lens.length - 1; i >= readable; i--)
        {
            if (lens[i] > 0)
            {
                return i;
            }
        }
        return -1;
    }

    private static boolean inWritable(final long gpa, final long[] addrs, final long[] lens, final int readable)
    {
        for (int i = readable; i < lens.length; i++)
        {
            if (gpa >= addrs[i] && gpa < addrs[i] + lens[i])
            {
                return true;
            }
        }
        return false;
    }

    private static byte[] copy(final GuestMemory memory, final long gpa, final long length)
    {
        final byte[] bytes = new byte[(int)length];
        memory.copyOut(gpa, bytes, 0, bytes.length);
        return bytes;
    }

    /** No interrupt controller: the fuzz target reaps the used ring directly. */
    private static final class NoInterrupt implements VirtioInterrupt
    {
        @Override
        public void signalQueue(final int queueIndex)
        {
        }

        @Override
        public void signalConfig()
        {
        }
    }

    /** A memory disk that records the first access outside its capacity. */
    private static final class CheckedBackend implements BlockBackend
    {
        private final MemoryBlockBackend inner;
        private String violation;

        CheckedBackend(final MemoryBlockBackend inner)
        {
            this.inner = inner;
        }

        private void check(final String op, final long position, final long length)
        {
            if (violation == null && (position < 0 || length < 0 || position + length > inner.capacity() * 512))
            {
                violation = op + " position=" + position + ", length=" + length;
            }
        }

        @Override
        public long capacity()
        {
            return inner.capacity();
        }

        @Override
        public boolean isReadOnly()
        {
            return inner.isReadOnly();
        }

        @Override
        public byte[] id()
        {
            return inner.id();
        }

        @Override
        public void read(final long position, final GuestMemory memory, final long gpa, final long length)
            throws IOException
        {
            check("read", position, length);
            inner.read(position, memory, gpa, length);
        }

        @Override
        public void write(final long position, final GuestMemory memory, final long gpa, final long length)
            throws IOException
        {
            check("write", position, length);
            inner.write(position, memory, gpa, length);
        }

        @Override
        public void flush() throws IOException
        {
            inner.flush();
        }

        @Override
        public void discard(final long position, final long length) throws IOException
        {
            check("discard", position, length);
            inner.discard(position, length);
        }

        @Override
        public void writeZeroes(final long position, final long length, final boolean unmap) throws IOException
        {
            check("writeZeroes", position, length);
            inner.writeZeroes(position, length, unmap);
        }

        @Override
        public void close()
        {
            inner.close();
        }
    }
}
