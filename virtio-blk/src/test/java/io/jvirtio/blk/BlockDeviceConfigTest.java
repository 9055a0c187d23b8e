package io.jvirtio.blk;

import io.jvirtio.blk.backend.BlockBackend;
import io.jvirtio.blk.backend.FileBlockBackend;
import io.jvirtio.blk.backend.MemoryBlockBackend;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.virtio.VirtioFeatures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static io.jvirtio.blk.BlockDeviceFixture.data;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_IOERR;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_OK;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_IN;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_OUT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Feature offer, configuration space (checklist item 29), the writeback switch and stable writes, multiqueue, and the
 * device over the file backend (FLUSH reaches {@code force}; a read-only image is never changed).
 */
class BlockDeviceConfigTest
{
    @TempDir
    Path dir;

    private static boolean has(final long features, final int bit)
    {
        return VirtioFeatures.has(features, bit);
    }

    @Test
    void shouldOfferTheImplementedFeaturesOnly()
    {
        try (MemoryBlockBackend disk = new MemoryBlockBackend(64, false, "x"))
        {
            final BlockDevice device = new BlockDevice(disk, BlockDeviceConfig.defaults());
            final long f = device.deviceFeatures();
            for (final int bit : new int[] {VirtioBlk.VIRTIO_BLK_F_SIZE_MAX, VirtioBlk.VIRTIO_BLK_F_SEG_MAX,
                VirtioBlk.VIRTIO_BLK_F_GEOMETRY, VirtioBlk.VIRTIO_BLK_F_BLK_SIZE, VirtioBlk.VIRTIO_BLK_F_TOPOLOGY,
                VirtioBlk.VIRTIO_BLK_F_FLUSH,
                VirtioBlk.VIRTIO_BLK_F_CONFIG_WCE, VirtioBlk.VIRTIO_BLK_F_DISCARD, VirtioBlk.VIRTIO_BLK_F_WRITE_ZEROES,
                VirtioFeatures.VIRTIO_F_EVENT_IDX, VirtioFeatures.VIRTIO_F_INDIRECT_DESC})
            {
                assertTrue(has(f, bit), "offered bit " + bit);
            }
            assertFalse(has(f, VirtioBlk.VIRTIO_BLK_F_RO));
            assertFalse(has(f, VirtioBlk.VIRTIO_BLK_F_MQ));
            assertFalse(has(f, 15), "GET_LIFETIME not offered");
            assertFalse(has(f, 16), "SECURE_ERASE not offered");
            assertEquals(2, device.deviceId());
            assertTrue(has(new BlockDevice(disk, BlockDeviceConfig.defaults().withNumQueues(2)).deviceFeatures(),
                VirtioBlk.VIRTIO_BLK_F_MQ));
        }
    }

    @Test
    void shouldPresentTheConfigSpaceLittleEndianWithUnusedBytesZero()
    {
        try (CapacityOnlyBackend disk = new CapacityOnlyBackend(0x1_0000_0001L))
        {
            final BlockDevice d = new BlockDevice(disk, BlockDeviceConfig.defaults().withNumQueues(3));
            assertEquals(60, d.configSize());
            // 0x1_0000_0001 sectors is far more than 16383 cylinders of 16 heads and 63 sectors: clamped
            assertEquals(16383, d.readConfig(BlockConfigLayout.GEOMETRY_CYLINDERS_OFFSET, 2));
            assertEquals(16, d.readConfig(BlockConfigLayout.GEOMETRY_HEADS_OFFSET, 1));
            assertEquals(63, d.readConfig(BlockConfigLayout.GEOMETRY_SECTORS_OFFSET, 1));
            assertEquals(0x1_0000_0001L, d.readConfig(BlockConfigLayout.CAPACITY_OFFSET, 8));
            assertEquals(1, d.readConfig(BlockConfigLayout.CAPACITY_OFFSET, 4), "low half");
            assertEquals(1, d.readConfig(BlockConfigLayout.CAPACITY_OFFSET + 4, 4), "high half");
            assertEquals(1 << 20, d.readConfig(BlockConfigLayout.SIZE_MAX_OFFSET, 4));
            assertEquals(254, d.readConfig(BlockConfigLayout.SEG_MAX_OFFSET, 4));
            assertEquals(512, d.readConfig(BlockConfigLayout.BLK_SIZE_OFFSET, 4));
            assertEquals(0, d.readConfig(BlockConfigLayout.PHYSICAL_BLOCK_EXP_OFFSET, 1));
            assertEquals(1, d.readConfig(BlockConfigLayout.MIN_IO_SIZE_OFFSET, 2));
            assertEquals(1, d.readConfig(BlockConfigLayout.WRITEBACK_OFFSET, 1));
            assertEquals(0, d.readConfig(BlockConfigLayout.UNUSED0_OFFSET, 1));
            assertEquals(3, d.readConfig(BlockConfigLayout.NUM_QUEUES_OFFSET, 2));
            assertEquals(1 << 22, d.readConfig(BlockConfigLayout.MAX_DISCARD_SECTORS_OFFSET, 4));
            assertEquals(16, d.readConfig(BlockConfigLayout.MAX_DISCARD_SEG_OFFSET, 4));
            assertEquals(8, d.readConfig(BlockConfigLayout.DISCARD_SECTOR_ALIGNMENT_OFFSET, 4));
            assertEquals(1 << 22, d.readConfig(BlockConfigLayout.MAX_WRITE_ZEROES_SECTORS_OFFSET, 4));
            assertEquals(16, d.readConfig(BlockConfigLayout.MAX_WRITE_ZEROES_SEG_OFFSET, 4));
            assertEquals(1, d.readConfig(BlockConfigLayout.WRITE_ZEROES_MAY_UNMAP_OFFSET, 1));
            assertEquals(0, d.readConfig(BlockConfigLayout.UNUSED1_OFFSET, 2));
            assertEquals(0, d.readConfig(BlockConfigLayout.UNUSED1_OFFSET + 2, 1));
        }
    }

    /** A disk too large to hold in a test, for the capacity field: it has a size and nothing else. */
    private record CapacityOnlyBackend(long capacity) implements BlockBackend
    {
        @Override
        public boolean isReadOnly()
        {
            return false;
        }

        @Override
        public byte[] id()
        {
            return new byte[0];
        }

        @Override
        public void read(final long position, final GuestMemory memory, final long gpa, final long length)
            throws IOException
        {
            throw new IOException("no data behind this disk: position=" + position);
        }

        @Override
        public void write(final long position, final GuestMemory memory, final long gpa, final long length)
            throws IOException
        {
            throw new IOException("no data behind this disk: position=" + position);
        }

        @Override
        public void flush()
        {
        }

        @Override
        public void discard(final long position, final long length) throws IOException
        {
            throw new IOException("no data behind this disk: position=" + position);
        }

        @Override
        public void writeZeroes(final long position, final long length, final boolean unmap) throws IOException
        {
            throw new IOException("no data behind this disk: position=" + position);
        }

        @Override
        public void close()
        {
        }
    }

    @Test
    void shouldSwitchWritebackOnlyWithConfigWceAndIgnoreOtherWrites()
    {
        try (MemoryBlockBackend disk = new MemoryBlockBackend(64, false, "x"))
        {
            final BlockDevice d = new BlockDevice(disk, BlockDeviceConfig.defaults());
            d.writeConfig(BlockConfigLayout.WRITEBACK_OFFSET, 1, 0);
            assertEquals(1, d.readConfig(BlockConfigLayout.WRITEBACK_OFFSET, 1), "CONFIG_WCE not accepted yet");
            d.checkFeatures(d.deviceFeatures());
            d.writeConfig(BlockConfigLayout.WRITEBACK_OFFSET, 1, 0);
            assertEquals(0, d.readConfig(BlockConfigLayout.WRITEBACK_OFFSET, 1));
            d.writeConfig(BlockConfigLayout.WRITEBACK_OFFSET, 1, 2);
            d.writeConfig(BlockConfigLayout.CAPACITY_OFFSET, 8, 1);
            assertEquals(0, d.readConfig(BlockConfigLayout.WRITEBACK_OFFSET, 1));
            assertEquals(64, d.readConfig(BlockConfigLayout.CAPACITY_OFFSET, 8));
            assertEquals(3, d.counters().get(BlockCounter.CONFIG_WRITES_IGNORED));
            d.reset();
            assertEquals(1, d.readConfig(BlockConfigLayout.WRITEBACK_OFFSET, 1), "reset restores writeback");
        }
    }

    @Test
    void shouldStartWritethroughWhenConfigWceIsAcceptedWithoutFlush()
    {
        try (MemoryBlockBackend disk = new MemoryBlockBackend(64, false, "x"))
        {
            final BlockDevice d = new BlockDevice(disk, BlockDeviceConfig.defaults());
            d.checkFeatures(d.deviceFeatures() & ~(1L << VirtioBlk.VIRTIO_BLK_F_FLUSH));
            assertEquals(0, d.readConfig(BlockConfigLayout.WRITEBACK_OFFSET, 1));
        }
    }

    @Test
    void shouldFlushThroughForceAndPersistEveryWriteInWritethroughMode() throws IOException
    {
        try (FileBlockBackend disk = FileBlockBackend.create(dir.resolve("wt.img"), 64, "file"))
        {
            try (BlockDeviceFixture f = new BlockDeviceFixture(disk, BlockDeviceConfig.defaults()))
            {
                f.memory.fill(data(0), 512, (byte)0x42);
                assertEquals(VIRTIO_BLK_S_OK, f.run(VIRTIO_BLK_T_OUT, 0, data(0), 512));
                assertEquals(0, disk.forces(), "writeback: a write does not force");
                assertEquals(VIRTIO_BLK_S_OK, f.run(VirtioBlk.VIRTIO_BLK_T_FLUSH, 0, 0, 0));
                assertEquals(1, disk.forces(), "FLUSH answered OK after force returned");
                f.device.writeConfig(BlockConfigLayout.WRITEBACK_OFFSET, 1, 0);
                assertEquals(VIRTIO_BLK_S_OK, f.run(VIRTIO_BLK_T_OUT, 1, data(0), 512));
                assertEquals(2, disk.forces(), "writethrough: the write forced before completing");
            }
            try (BlockDeviceFixture g = new BlockDeviceFixture(disk, BlockDeviceConfig.defaults(),
                ~(1L << VirtioBlk.VIRTIO_BLK_F_FLUSH)))
            {
                assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_OUT, 2, data(0), 512));
                assertEquals(3, disk.forces(), "FLUSH not negotiated: every write is stable");
            }
        }
    }

    @Test
    void shouldRefuseWritesToAReadOnlyImageAndLeaveTheFileUnchanged() throws IOException
    {
        final Path image = dir.resolve("ro.img");
        final byte[] content = new byte[64 * 512];
        Arrays.fill(content, (byte)0x11);
        Files.write(image, content);
        try (FileBlockBackend disk = FileBlockBackend.open(image, true, "ro");
            BlockDeviceFixture f = new BlockDeviceFixture(disk, BlockDeviceConfig.defaults()))
        {
            f.memory.fill(data(0), 4096, (byte)0x99);
            assertEquals(VIRTIO_BLK_S_IOERR, f.run(VIRTIO_BLK_T_OUT, 0, data(0), 4096));
            assertEquals(1, f.counter(BlockCounter.READ_ONLY_WRITE));
            assertEquals(VIRTIO_BLK_S_OK, f.run(VIRTIO_BLK_T_IN, 0, data(1), 512));
            final byte[] read = new byte[512];
            f.memory.copyOut(data(1), read, 0, 512);
            assertArrayEquals(Arrays.copyOf(content, 512), read);
        }
        assertArrayEquals(content, Files.readAllBytes(image));
    }

    @Test
    void shouldWorkWithoutEventIdxAndIndirectDescriptors()
    {
        try (MemoryBlockBackend disk = new MemoryBlockBackend(64, false, "plain");
            BlockDeviceFixture f = new BlockDeviceFixture(disk, BlockDeviceConfig.defaults(),
                ~((1L << VirtioFeatures.VIRTIO_F_EVENT_IDX) | (1L << VirtioFeatures.VIRTIO_F_INDIRECT_DESC))))
        {
            for (int i = 0; i < 20; i++)
            {
                assertEquals(VIRTIO_BLK_S_OK, f.run(VIRTIO_BLK_T_IN, i, data(0), 512));
            }
            assertEquals(20, f.counter(BlockCounter.STATUS_OK));
            assertTrue(f.interrupts.get(0) >= 1);
        }
    }

    @Test
    void shouldServeEveryQueueWithItsOwnWorker()
    {
        try (MemoryBlockBackend disk = new MemoryBlockBackend(256, false, "mq");
            BlockDeviceFixture f = new BlockDeviceFixture(disk, BlockDeviceConfig.defaults().withNumQueues(3)))
        {
            for (int q = 0; q < 3; q++)
            {
                f.memory.fill(data(q), 512, (byte)(q + 1));
                final int tag = f.drivers[q].write(q * 10L, data(q), 512);
                f.publish(q);
                assertEquals(tag, f.awaitCompletion(q));
                assertEquals(VIRTIO_BLK_S_OK, f.drivers[q].status());
                assertEquals(q + 1, disk.segment().get(ValueLayout.JAVA_BYTE, q * 10L * 512));
                // the worker publishes the used element before it signals: wait, bounded, for the signal
                final long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
                while (f.interrupts.get(q) == 0 && System.nanoTime() < deadline)
                {
                    Thread.onSpinWait();
                }
                assertTrue(f.interrupts.get(q) >= 1, "interrupt on queue " + q);
            }
        }
    }
}
