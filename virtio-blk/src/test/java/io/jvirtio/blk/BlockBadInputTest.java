package io.jvirtio.blk;

import io.jvirtio.blk.backend.MemoryBlockBackend;
import io.jvirtio.blk.driver.BlockDriver;
import io.jvirtio.virtio.queue.QueueCounter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static io.jvirtio.blk.BlockDeviceFixture.data;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_IOERR;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_OK;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_IN;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_OUT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Hostile chain shapes from the blk part of the bad-input list (checklist section 6), posted raw on the ring: broken
 * framing completes with used len 0 and writes nothing; odd but well-framed layouts get a status; a broken ring asks
 * for NEEDS_RESET.
 */
class BlockBadInputTest
{
    private static final long HEADER = data(0);
    private static final long BUF = data(1);
    private static final long STATUS = data(3);

    private MemoryBlockBackend disk;
    private BlockDeviceFixture f;

    @BeforeEach
    void setUp()
    {
        disk = new MemoryBlockBackend(64, false, "bad");
        for (long i = 0; i < disk.segment().byteSize(); i++)
        {
            disk.segment().set(ValueLayout.JAVA_BYTE, i, (byte)(i * 13 + 1));
        }
        f = new BlockDeviceFixture(disk, BlockDeviceConfig.defaults().withQueueSize(16, 4));
        f.memory.fill(BUF, 8192, (byte)0x66);
        f.memory.putByte(STATUS, (byte)0x7E);
    }

    @AfterEach
    void tearDown()
    {
        f.close();
        disk.close();
    }

    private byte[] diskBytes()
    {
        return disk.segment().toArray(ValueLayout.JAVA_BYTE);
    }

    private byte[] guest(final long gpa, final int length)
    {
        final byte[] bytes = new byte[length];
        f.memory.copyOut(gpa, bytes, 0, length);
        return bytes;
    }

    private int status()
    {
        return f.memory.getByte(STATUS);
    }

    @Test
    void shouldCompleteWithLengthZeroAndWriteNothingWhenHeaderIsShort()
    {
        f.header(HEADER, VIRTIO_BLK_T_IN, 0);
        final byte[] before = guest(BUF, 513);
        assertEquals(0, f.runRaw(new long[] {HEADER, BUF}, new long[] {15, 513}, 1, 1));
        assertArrayEquals(before, guest(BUF, 513));
        assertEquals(1, f.counter(BlockCounter.FRAMING_NO_HEADER));
        assertTrue(f.needsReset.isEmpty(), "broken framing does not stop the device");
        assertEquals(VIRTIO_BLK_S_OK, f.run(VIRTIO_BLK_T_IN, 0, data(5), 512), "the queue keeps working");
    }

    @Test
    void shouldCompleteWithLengthZeroWhenHeaderIsInAWritableDescriptor()
    {
        f.header(HEADER, VIRTIO_BLK_T_IN, 0);
        final byte[] header = guest(HEADER, 16);
        assertEquals(0, f.runRaw(new long[] {HEADER, BUF}, new long[] {16, 513}, 0, 2));
        assertArrayEquals(header, guest(HEADER, 16));
        assertEquals(1, f.counter(BlockCounter.FRAMING_NO_HEADER));
    }

    @Test
    void shouldCompleteWithLengthZeroWhenThereIsNoWritableStatus()
    {
        f.header(HEADER, VIRTIO_BLK_T_OUT, 0);
        final byte[] before = diskBytes();
        assertEquals(0, f.runRaw(new long[] {HEADER, BUF, STATUS}, new long[] {16, 512, 1}, 3, 0));
        assertEquals(0x7E, status());
        assertArrayEquals(before, diskBytes(), "a request without a status is not executed");
        assertEquals(1, f.counter(BlockCounter.FRAMING_NO_STATUS));
    }

    @Test
    void shouldCompleteWithLengthZeroWhenTheOnlyWritableDescriptorIsEmpty()
    {
        f.header(HEADER, VirtioBlk.VIRTIO_BLK_T_FLUSH, 0);
        assertEquals(0, f.runRaw(new long[] {HEADER, STATUS}, new long[] {16, 0}, 1, 1));
        assertEquals(0x7E, status());
        assertEquals(1, f.counter(BlockCounter.FRAMING_NO_STATUS));
    }

    @Test
    void shouldReadWhenHeaderSpansThreeDescriptors()
    {
        f.header(HEADER, VIRTIO_BLK_T_IN, 2);
        // 3 + 5 + 8 bytes of header from three places: copy the tail pieces elsewhere
        f.memory.copyWithin(data(4), HEADER + 3, 5);
        f.memory.copyWithin(data(4) + 64, HEADER + 8, 8);
        final long used = f.runRaw(new long[] {HEADER, data(4), data(4) + 64, BUF, STATUS},
            new long[] {3, 5, 8, 512, 1}, 3, 2);
        assertEquals(513, used);
        assertEquals(VIRTIO_BLK_S_OK, status());
        assertArrayEquals(disk.segment().asSlice(1024, 512).toArray(ValueLayout.JAVA_BYTE), guest(BUF, 512));
    }

    @Test
    void shouldWriteWhenHeaderAndDataShareOneDescriptor()
    {
        f.header(HEADER, VIRTIO_BLK_T_OUT, 1);
        f.memory.fill(HEADER + 16, 512, (byte)0x21);
        assertEquals(1, f.runRaw(new long[] {HEADER, STATUS}, new long[] {16 + 512, 1}, 1, 1));
        assertEquals(VIRTIO_BLK_S_OK, status());
        final byte[] expected = new byte[512];
        Arrays.fill(expected, (byte)0x21);
        assertArrayEquals(expected, disk.segment().asSlice(512, 512).toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void shouldPutTheStatusInTheLastByteOfDataWhenStatusSharesTheDataDescriptor()
    {
        f.header(HEADER, VIRTIO_BLK_T_IN, 0);
        assertEquals(513, f.runRaw(new long[] {HEADER, BUF}, new long[] {16, 513}, 1, 1));
        assertEquals(VIRTIO_BLK_S_OK, f.memory.getByte(BUF + 512));
        assertArrayEquals(disk.segment().asSlice(0, 512).toArray(ValueLayout.JAVA_BYTE), guest(BUF, 512));
    }

    @Test
    void shouldTakeTheStatusFromTheDescriptorBeforeAnEmptyLastOne()
    {
        // status descriptor of length 0: the last writable byte is the data's last byte, leaving 511 bytes of data
        f.header(HEADER, VIRTIO_BLK_T_IN, 0);
        assertEquals(1, f.runRaw(new long[] {HEADER, BUF, STATUS}, new long[] {16, 512, 0}, 1, 2));
        assertEquals(VIRTIO_BLK_S_IOERR, f.memory.getByte(BUF + 511));
        assertEquals(0x7E, status());
        assertEquals(1, f.counter(BlockCounter.BAD_LENGTH));
    }

    @Test
    void shouldAnswerIoerrForReadableDataOnAReadAndWritableDataOnAWrite()
    {
        final byte[] before = diskBytes();
        f.memory.fill(data(4), 512, (byte)0x55);
        final byte[] target = guest(data(4), 512);
        f.header(HEADER, VIRTIO_BLK_T_IN, 0);
        assertEquals(1, f.runRaw(new long[] {HEADER, BUF, data(4), STATUS}, new long[] {16, 512, 512, 1}, 2, 2));
        assertEquals(VIRTIO_BLK_S_IOERR, status());
        assertArrayEquals(target, guest(data(4), 512), "nothing read into the writable buffer");
        f.header(HEADER, VIRTIO_BLK_T_OUT, 0);
        assertEquals(1, f.runRaw(new long[] {HEADER, BUF, STATUS}, new long[] {16, 512, 1}, 1, 2));
        assertEquals(VIRTIO_BLK_S_IOERR, status());
        assertArrayEquals(before, diskBytes());
        assertEquals(2, f.counter(BlockCounter.BAD_DIRECTION));
    }

    @Test
    void shouldServeARequestPostedThroughAnIndirectTable()
    {
        f.header(HEADER, VIRTIO_BLK_T_IN, 3);
        assertEquals(1025, f.runRaw(new long[] {HEADER, BUF, data(4), STATUS}, new long[] {16, 512, 512, 1}, 1, 3,
            true));
        assertEquals(VIRTIO_BLK_S_OK, status());
        assertArrayEquals(disk.segment().asSlice(3 * 512, 512).toArray(ValueLayout.JAVA_BYTE), guest(BUF, 512));
        assertArrayEquals(disk.segment().asSlice(4 * 512, 512).toArray(ValueLayout.JAVA_BYTE), guest(data(4), 512));
    }

    @Test
    void shouldAcceptAnEmptyReadAtCapacityAndAnEmptyRange()
    {
        final byte[] before = diskBytes();
        f.header(HEADER, VIRTIO_BLK_T_IN, 64);
        assertEquals(1, f.runRaw(new long[] {HEADER, STATUS}, new long[] {16, 1}, 1, 1));
        assertEquals(VIRTIO_BLK_S_OK, status());
        BlockDriver.putRange(f.memory, BUF, 64, 0, 0);
        assertEquals(VIRTIO_BLK_S_OK, f.run(VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES, 0, BUF, 16));
        assertArrayEquals(before, diskBytes());
    }

    @Test
    void shouldAnswerIoerrWhenDataSegmentsExceedSegMax()
    {
        // seg_max is 4 in this fixture: five 512-byte data segments
        f.header(HEADER, VIRTIO_BLK_T_OUT, 0);
        final byte[] before = diskBytes();
        final long[] addrs = {HEADER, BUF, BUF + 512, BUF + 1024, BUF + 1536, BUF + 2048, STATUS};
        final long[] lens = {16, 512, 512, 512, 512, 512, 1};
        assertEquals(1, f.runRaw(addrs, lens, 6, 1));
        assertEquals(VIRTIO_BLK_S_IOERR, status());
        assertArrayEquals(before, diskBytes());
        assertEquals(1, f.counter(BlockCounter.TOO_MANY_SEGMENTS));
    }

    @Test
    void shouldGatherAWriteFromSeveralOddSizedSegments()
    {
        f.header(HEADER, VIRTIO_BLK_T_OUT, 4);
        f.memory.fill(BUF, 100, (byte)1);
        f.memory.fill(data(4), 412, (byte)2);
        assertEquals(1, f.runRaw(new long[] {HEADER, BUF, data(4), STATUS}, new long[] {16, 100, 412, 1}, 3, 1));
        assertEquals(VIRTIO_BLK_S_OK, status());
        final byte[] written = disk.segment().asSlice(4 * 512, 512).toArray(ValueLayout.JAVA_BYTE);
        assertEquals(1, written[99]);
        assertEquals(2, written[100]);
        assertEquals(2, written[511]);
    }

    @Test
    void shouldAskForNeedsResetWhenTheRingBreaks()
    {
        // a head index beyond the queue size breaks the ring (checklist section 6, ring-level)
        final int idx = f.rings[0].raw().availIdx();
        f.rings[0].raw().availEntry(idx & 15, 16).availIdx(idx + 1);
        f.kicks[0].signal();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (f.needsReset.isEmpty())
        {
            if (System.nanoTime() - deadline > 0)
            {
                fail("no NEEDS_RESET (failure timeout)");
            }
            Thread.onSpinWait();
        }
        assertEquals(1, f.counter(BlockCounter.QUEUE_BROKEN));
        assertEquals(1, f.queues[0].counters().get(QueueCounter.QUEUE_BROKEN));
        assertEquals(0, f.device.workerErrors());
    }

    @Test
    void shouldStopProcessingAfterResetReturns() throws Exception
    {
        assertEquals(VIRTIO_BLK_S_OK, f.run(VIRTIO_BLK_T_IN, 0, data(5), 512));
        final long requests = f.counter(BlockCounter.REQUESTS);
        f.device.reset();
        final int tag = f.drivers[0].read(0, BUF, 512);
        assertTrue(tag >= 0);
        f.drivers[0].publish();
        f.kicks[0].signal();
        // a grace period for a worker that wrongly survived reset to show itself; not a timing assertion
        Thread.sleep(50);
        assertEquals(BlockDriver.NOTHING_COMPLETED, f.drivers[0].reap(), "no worker runs after reset");
        assertEquals(requests, f.counter(BlockCounter.REQUESTS));
        assertEquals(0, f.queues[0].inFlight());
    }
}
