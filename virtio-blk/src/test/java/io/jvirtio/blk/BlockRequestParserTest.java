package io.jvirtio.blk;

import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;
import io.jvirtio.virtio.queue.DescriptorChain;
import io.jvirtio.virtio.queue.PopStatus;
import io.jvirtio.virtio.queue.QueueBrokenListener;
import io.jvirtio.virtio.queue.QueueConfigStatus;
import io.jvirtio.virtio.queue.SplitQueue;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The parser against byte fixtures: each chain is given as hex dumps of its readable descriptors and the lengths of
 * its writable ones, placed 0x100 apart from {@link #BASE}; the parser must decode the header little-endian wherever
 * it is split, find data and status, and write nothing.
 */
class BlockRequestParserTest
{
    private static final long BASE = 0x2_0000;
    private static final long STRIDE = 0x1000;

    private final GuestMemory memory = GuestMemory.of(GuestRegion.anonymous(0, 1L << 20));
    private final SplitQueueConfig config = SplitQueueConfig.contiguous(0x1000, 16, false, false);
    private final SplitQueue queue = new SplitQueue(memory, 16, QueueBrokenListener.NONE);
    private final SplitQueueDriver driver = new SplitQueueDriver(memory, config);
    private final DescriptorChain chain = new DescriptorChain(16);
    private final BlockRequest request = new BlockRequest(16);
    private final BlockRequestParser parser = new BlockRequestParser();

    @AfterEach
    void tearDown()
    {
        memory.close();
    }

    private static long at(final int i)
    {
        return BASE + i * STRIDE;
    }

    /** Posts readable descriptors holding {@code hex} dumps and writable ones of {@code writable} lengths, pops. */
    private ParseStatus parse(final String[] hex, final long... writable)
    {
        assertEquals(QueueConfigStatus.VALID, queue.isActive() ? QueueConfigStatus.VALID : queue.activate(config));
        final int n = hex.length + writable.length;
        final long[] addrs = new long[n];
        final long[] lens = new long[n];
        for (int i = 0; i < hex.length; i++)
        {
            final byte[] bytes = HexFormat.of().parseHex(hex[i].replace(" ", ""));
            memory.copyIn(at(i), bytes, 0, bytes.length);
            addrs[i] = at(i);
            lens[i] = bytes.length;
        }
        for (int i = 0; i < writable.length; i++)
        {
            addrs[hex.length + i] = at(hex.length + i);
            lens[hex.length + i] = writable[i];
        }
        driver.post(addrs, lens, hex.length, writable.length);
        driver.publish();
        assertEquals(PopStatus.CHAIN, queue.pop(chain));
        final byte[] before = memory.regions().get(0).segment().toArray(ValueLayout.JAVA_BYTE);
        final ParseStatus status = parser.parse(chain, request);
        assertArrayEquals(before, memory.regions().get(0).segment().toArray(ValueLayout.JAVA_BYTE), "parser wrote");
        queue.complete(chain, 0);
        queue.publish();
        driver.reap();
        return status;
    }

    @Test
    void shouldParseAReadWithHeaderDataAndStatusInThreeDescriptors()
    {
        // type IN (0), reserved 0, sector 0x0807060504030201
        assertEquals(ParseStatus.OK, parse(new String[] {"00000000 00000000 0102030405060708"}, 4096, 1));
        assertEquals(VirtioBlk.VIRTIO_BLK_T_IN, request.type());
        assertEquals(0x0807060504030201L, request.sector());
        assertTrue(request.dataWritable());
        assertEquals(1, request.dataSegments());
        assertEquals(at(1), request.dataAddr(0));
        assertEquals(4096, request.dataLength(0));
        assertEquals(at(2), request.statusAddr());
        assertEquals(4096, request.writableDataBytes());
        assertEquals(0, request.readableDataBytes());
    }

    @Test
    void shouldParseAHeaderSplitAcrossDescriptorsLittleEndian()
    {
        // type OUT (1), reserved 0xAABBCCDD, sector 2^64 - 1: split 1 + 6 + 9
        assertEquals(ParseStatus.OK, parse(new String[] {"01", "000000 DDCCBB", "AA FFFFFFFFFFFFFFFF", "11223344"}, 1));
        assertEquals(VirtioBlk.VIRTIO_BLK_T_OUT, request.type());
        assertEquals(0xAABBCCDD, request.reserved());
        assertEquals(-1L, request.sector());
        assertFalse(request.dataWritable());
        assertEquals(1, request.dataSegments());
        assertEquals(at(3), request.dataAddr(0));
        assertEquals(4, request.dataBytes());
        assertEquals(at(4), request.statusAddr());
    }

    @Test
    void shouldFindWriteDataAfterTheHeaderInTheSameDescriptor()
    {
        assertEquals(ParseStatus.OK, parse(new String[] {"01000000 00000000 0200000000000000 CAFEBABE", "F00D"}, 1));
        assertEquals(2, request.sector());
        assertEquals(2, request.dataSegments());
        assertEquals(at(0) + 16, request.dataAddr(0));
        assertEquals(4, request.dataLength(0));
        assertEquals(at(1), request.dataAddr(1));
        assertEquals(2, request.dataLength(1));
        assertEquals(6, request.readableDataBytes());
    }

    @Test
    void shouldTakeTheLastWritableByteAsStatusAndSkipEmptyDescriptors()
    {
        assertEquals(ParseStatus.OK, parse(new String[] {"00000000 00000000 0000000000000000"}, 0, 512, 513, 0));
        assertEquals(2, request.dataSegments());
        assertEquals(at(2), request.dataAddr(0));
        assertEquals(512, request.dataLength(0));
        assertEquals(at(3), request.dataAddr(1));
        assertEquals(512, request.dataLength(1));
        assertEquals(at(3) + 512, request.statusAddr());
        assertEquals(1024, request.writableDataBytes());
    }

    @Test
    void shouldCarryNoDataForFlushButReportBothSides()
    {
        assertEquals(ParseStatus.OK, parse(new String[] {"04000000 00000000 0000000000000000 00"}, 8, 1));
        assertEquals(VirtioBlk.VIRTIO_BLK_T_FLUSH, request.type());
        assertEquals(0, request.dataSegments());
        assertEquals(1, request.readableDataBytes());
        assertEquals(8, request.writableDataBytes());
    }

    @Test
    void shouldCarryDiscardRangesAsReadableData()
    {
        final String range = "0800000000000000 10000000 00000000";
        assertEquals(ParseStatus.OK, parse(new String[] {"0B000000 00000000 0000000000000000", range, range}, 1));
        assertEquals(VirtioBlk.VIRTIO_BLK_T_DISCARD, request.type());
        assertEquals(2, request.dataSegments());
        assertEquals(32, request.dataBytes());
    }

    @Test
    void shouldReportNoHeaderWhenFewerThanSixteenReadableBytes()
    {
        assertEquals(ParseStatus.NO_HEADER, parse(new String[] {"00000000 00000000 00000000000000"}, 512, 1));
        assertEquals(0, request.dataSegments());
        assertEquals(ParseStatus.NO_HEADER, parse(new String[0], 16, 1));
    }

    @Test
    void shouldReportNoStatusWhenNothingIsWritable()
    {
        assertEquals(ParseStatus.NO_STATUS, parse(new String[] {"01000000 00000000 0000000000000000", "00"}));
        assertEquals(ParseStatus.NO_STATUS, parse(new String[] {"04000000 00000000 0000000000000000"}, 0, 0));
    }
}
