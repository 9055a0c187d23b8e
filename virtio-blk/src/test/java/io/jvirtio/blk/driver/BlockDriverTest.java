package io.jvirtio.blk.driver;

import io.jvirtio.blk.BlockRequest;
import io.jvirtio.blk.BlockRequestParser;
import io.jvirtio.blk.ParseStatus;
import io.jvirtio.blk.VirtioBlk;
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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The guest driver against the device side of the ring, played by hand: the chains it builds parse as the requests
 * it meant, it runs out of space instead of overwriting, and it reads back the status the device wrote.
 */
class BlockDriverTest
{
    private static final int SIZE = 16;
    private static final long SLOTS = 0x8000;
    private static final long BUF = 0x1_0000;

    private final GuestMemory memory = GuestMemory.of(GuestRegion.anonymous(0, 1L << 20));
    private final SplitQueueConfig config = SplitQueueConfig.contiguous(0x1000, SIZE, true, false);
    private final SplitQueue queue = new SplitQueue(memory, SIZE, QueueBrokenListener.NONE);
    private final SplitQueueDriver ring = new SplitQueueDriver(memory, config);
    private final BlockDriver driver = new BlockDriver(memory, ring, SLOTS);
    private final DescriptorChain chain = new DescriptorChain(SIZE);
    private final BlockRequest request = new BlockRequest(SIZE);
    private final BlockRequestParser parser = new BlockRequestParser();

    @AfterEach
    void tearDown()
    {
        memory.close();
    }

    private void popAndParse()
    {
        if (!queue.isActive())
        {
            assertEquals(QueueConfigStatus.VALID, queue.activate(config));
        }
        assertEquals(PopStatus.CHAIN, queue.pop(chain));
        assertEquals(ParseStatus.OK, parser.parse(chain, request));
    }

    private void completeWith(final byte status, final long used)
    {
        memory.putByte(request.statusAddr(), status);
        queue.complete(chain, used);
        queue.publish();
    }

    @Test
    void shouldBuildARequestTheParserReadsBack()
    {
        final int tag = driver.read(77, BUF, 4096);
        assertTrue(tag >= 0);
        assertTrue(driver.publish(), "the first request needs a kick");
        popAndParse();
        assertEquals(VirtioBlk.VIRTIO_BLK_T_IN, request.type());
        assertEquals(77, request.sector());
        assertEquals(1, request.dataSegments());
        assertEquals(BUF, request.dataAddr(0));
        assertEquals(4096, request.dataLength(0));
        assertTrue(request.dataWritable());
        completeWith(VirtioBlk.VIRTIO_BLK_S_OK, 4097);
        assertEquals(tag, driver.reap());
        assertEquals(0, driver.status());
        assertEquals(4097, driver.usedLength());
        assertEquals(BlockDriver.NOTHING_COMPLETED, driver.reap());
    }

    @Test
    void shouldPutWriteDataAndRangesOnTheReadableSide()
    {
        driver.write(5, BUF, 512);
        BlockDriver.putRange(memory, BUF + 0x1000, 9, 3, VirtioBlk.VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
        driver.writeZeroes(BUF + 0x1000, 1);
        driver.flush();
        driver.publish();
        popAndParse();
        assertEquals(VirtioBlk.VIRTIO_BLK_T_OUT, request.type());
        assertFalse(request.dataWritable());
        assertEquals(512, request.readableDataBytes());
        assertEquals(0, request.writableDataBytes());
        completeWith(VirtioBlk.VIRTIO_BLK_S_IOERR, 1);
        popAndParse();
        assertEquals(VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES, request.type());
        assertEquals(16, request.dataBytes());
        assertEquals(9, memory.getLongLE(request.dataAddr(0)));
        completeWith(VirtioBlk.VIRTIO_BLK_S_UNSUPP, 1);
        popAndParse();
        assertEquals(VirtioBlk.VIRTIO_BLK_T_FLUSH, request.type());
        assertEquals(0, request.readableDataBytes());
        completeWith(VirtioBlk.VIRTIO_BLK_S_OK, 1);
        driver.reap();
        assertEquals(VirtioBlk.VIRTIO_BLK_S_IOERR, driver.status());
        driver.reap();
        assertEquals(VirtioBlk.VIRTIO_BLK_S_UNSUPP, driver.status());
        driver.reap();
        assertEquals(VirtioBlk.VIRTIO_BLK_S_OK, driver.status());
    }

    @Test
    void shouldReportNoSpaceWhenDescriptorsRunOutAndReuseSlotsAfterReap()
    {
        // three descriptors per read: five fit in a table of 16
        for (int i = 0; i < 5; i++)
        {
            assertTrue(driver.read(i, BUF + i * 512L, 512) >= 0);
        }
        assertEquals(BlockDriver.NO_SPACE, driver.read(9, BUF, 512));
        assertEquals(5, driver.outstanding());
        driver.publish();
        for (int i = 0; i < 5; i++)
        {
            popAndParse();
            assertEquals(i, request.sector(), "each request kept its own header slot");
            completeWith(VirtioBlk.VIRTIO_BLK_S_OK, 513);
        }
        for (int i = 0; i < 5; i++)
        {
            assertTrue(driver.reap() >= 0);
        }
        assertTrue(driver.read(9, BUF, 512) >= 0, "space again after reaping");
    }

    @Test
    void shouldShowAStatusTheDeviceNeverWrote()
    {
        driver.getId(BUF);
        driver.publish();
        popAndParse();
        queue.complete(chain, 0);
        queue.publish();
        driver.reap();
        assertEquals(0xFF, driver.status());
        assertEquals(0, driver.usedLength());
    }

    @Test
    void shouldRefuseASlotAreaOutsideRam()
    {
        assertThrows(IllegalArgumentException.class, () -> new BlockDriver(memory, ring, (1L << 20) - 16));
    }
}
