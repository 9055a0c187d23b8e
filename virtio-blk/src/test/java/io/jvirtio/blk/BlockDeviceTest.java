package io.jvirtio.blk;

import io.jvirtio.blk.backend.MemoryBlockBackend;
import io.jvirtio.blk.driver.BlockDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static io.jvirtio.blk.BlockDeviceFixture.data;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_IOERR;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_OK;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_UNSUPP;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_IN;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_OUT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * virtio-blk requests end to end through a running device on a memory disk, one test per checklist item (section 2,
 * items 26 to 28; section 4.2) and per blk bad input (section 6): each asserts the status byte, the used length, the
 * disk or guest bytes that must not change, and the counter.
 */
class BlockDeviceTest
{
    private static final long SECTORS = 2048;
    private static final String ID = "jvirtio-disk-0";

    private MemoryBlockBackend disk;
    private BlockDeviceFixture f;

    @BeforeEach
    void setUp()
    {
        disk = new MemoryBlockBackend(SECTORS, false, ID);
        fillPattern(disk);
        f = new BlockDeviceFixture(disk, BlockDeviceConfig.defaults());
    }

    @AfterEach
    void tearDown()
    {
        f.close();
        disk.close();
    }

    private static void fillPattern(final MemoryBlockBackend backend)
    {
        for (long i = 0; i < backend.segment().byteSize(); i++)
        {
            backend.segment().set(ValueLayout.JAVA_BYTE, i, (byte)(i * 7 + (i >> 9)));
        }
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

    private byte[] diskRange(final long sector, final int length)
    {
        return disk.segment().asSlice(sector * 512, length).toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void shouldReadSectorsIntoGuestBuffersWithUsedLengthDataPlusStatus()
    {
        assertEquals(VIRTIO_BLK_S_OK, f.run(VIRTIO_BLK_T_IN, 5, data(0), 4096));
        assertEquals(4097, f.drivers[0].usedLength());
        assertArrayEquals(diskRange(5, 4096), guest(data(0), 4096));
        assertEquals(1, f.counter(BlockCounter.STATUS_OK));
    }

    @Test
    void shouldWriteGuestBuffersToTheDiskWithUsedLengthOne()
    {
        final byte[] payload = new byte[1024];
        Arrays.fill(payload, (byte)0x5A);
        f.memory.copyIn(data(0), payload, 0, payload.length);
        assertEquals(VIRTIO_BLK_S_OK, f.run(VIRTIO_BLK_T_OUT, 100, data(0), 1024));
        assertEquals(1, f.drivers[0].usedLength());
        assertArrayEquals(payload, diskRange(100, 1024));
    }

    @Test
    void shouldReadTheLastSectorAndRefuseOnePast()
    {
        assertEquals(VIRTIO_BLK_S_OK, f.run(VIRTIO_BLK_T_IN, SECTORS - 1, data(0), 512));
        final byte[] guestBefore = guest(data(1), 1024);
        assertEquals(VIRTIO_BLK_S_IOERR, f.run(VIRTIO_BLK_T_IN, SECTORS - 1, data(1), 1024));
        assertEquals(1, f.drivers[0].usedLength());
        assertArrayEquals(guestBefore, guest(data(1), 1024), "nothing read into the guest");
        assertEquals(1, f.counter(BlockCounter.OUT_OF_RANGE));
    }

    @ParameterizedTest
    @ValueSource(longs = {-1L, 2048L + 1, Long.MAX_VALUE, Long.MIN_VALUE, -8L})
    void shouldAnswerIoerrAndWriteNothingWhenSectorIsOutOfRangeOrOverflows(final long sector)
    {
        final byte[] before = diskBytes();
        assertEquals(VIRTIO_BLK_S_IOERR, f.run(VIRTIO_BLK_T_OUT, sector, data(0), 4096));
        assertEquals(1, f.drivers[0].usedLength());
        assertArrayEquals(before, diskBytes());
        assertEquals(1, f.counter(BlockCounter.OUT_OF_RANGE));
    }

    @Test
    void shouldAnswerIoerrWhenSectorPlusCountReachesPastCapacity()
    {
        final byte[] before = diskBytes();
        assertEquals(VIRTIO_BLK_S_IOERR, f.run(VIRTIO_BLK_T_OUT, SECTORS - 7, data(0), 4096));
        assertArrayEquals(before, diskBytes());
        assertEquals(1, f.counter(BlockCounter.OUT_OF_RANGE));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 511, 513, 4095})
    void shouldAnswerIoerrWhenDataLengthIsNotAMultipleOf512(final int length)
    {
        final byte[] before = diskBytes();
        assertEquals(VIRTIO_BLK_S_IOERR, f.run(VIRTIO_BLK_T_OUT, 0, data(0), length));
        assertEquals(VIRTIO_BLK_S_IOERR, f.run(VIRTIO_BLK_T_IN, 0, data(0), length));
        assertArrayEquals(before, diskBytes());
        assertEquals(2, f.counter(BlockCounter.BAD_LENGTH));
    }

    @Test
    void shouldAnswerUnsuppForUnknownAndUnofferedTypes()
    {
        final int[] types = {2, 3, VirtioBlk.VIRTIO_BLK_T_GET_LIFETIME, VirtioBlk.VIRTIO_BLK_T_SECURE_ERASE, 15, 26,
            0x8000_0000, 0x8000_0001, -1};
        final byte[] before = diskBytes();
        for (final int type : types)
        {
            assertEquals(VIRTIO_BLK_S_UNSUPP, f.run(type, 0, data(0), 512), "type " + type);
            assertEquals(1, f.drivers[0].usedLength());
        }
        assertArrayEquals(before, diskBytes());
        assertEquals(types.length, f.counter(BlockCounter.UNSUPPORTED_TYPE));
        assertEquals(types.length, f.counter(BlockCounter.STATUS_UNSUPP));
    }

    @Test
    void shouldAnswerGetIdWithTwentyNulPaddedBytes()
    {
        f.memory.fill(data(0), 20, (byte)0x77);
        assertEquals(VIRTIO_BLK_S_OK, f.run(VirtioBlk.VIRTIO_BLK_T_GET_ID, 0, data(0), 20));
        assertEquals(21, f.drivers[0].usedLength());
        final byte[] expected = Arrays.copyOf(ID.getBytes(StandardCharsets.US_ASCII), 20);
        assertArrayEquals(expected, guest(data(0), 20));
    }

    @Test
    void shouldNotNulTerminateATwentyByteId()
    {
        final String id = "ABCDEFGHIJKLMNOPQRST";
        try (MemoryBlockBackend other = new MemoryBlockBackend(8, false, id);
            BlockDeviceFixture g = new BlockDeviceFixture(other, BlockDeviceConfig.defaults()))
        {
            g.memory.fill(data(0), 24, (byte)0x77);
            assertEquals(VIRTIO_BLK_S_OK, g.run(VirtioBlk.VIRTIO_BLK_T_GET_ID, 0, data(0), 20));
            final byte[] got = new byte[24];
            g.memory.copyOut(data(0), got, 0, 24);
            assertArrayEquals(id.getBytes(StandardCharsets.US_ASCII), Arrays.copyOf(got, 20));
            assertEquals(0x77, got[20], "nothing written after the 20 bytes");
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 19, 21, 512})
    void shouldAnswerIoerrWhenGetIdBufferIsNotTwentyBytes(final int length)
    {
        f.memory.fill(data(0), 512, (byte)0x77);
        assertEquals(VIRTIO_BLK_S_IOERR, f.run(VirtioBlk.VIRTIO_BLK_T_GET_ID, 0, data(0), length));
        assertEquals(1, f.drivers[0].usedLength());
        final byte[] untouched = new byte[512];
        Arrays.fill(untouched, (byte)0x77);
        assertArrayEquals(untouched, guest(data(0), 512));
        assertEquals(1, f.counter(BlockCounter.BAD_GET_ID));
    }

    @Test
    void shouldFlushWithStatusOk()
    {
        assertEquals(VIRTIO_BLK_S_OK, f.run(VirtioBlk.VIRTIO_BLK_T_FLUSH, 0, 0, 0));
        assertEquals(1, f.drivers[0].usedLength());
        assertEquals(1, f.counter(BlockCounter.FLUSHES));
    }

    @Test
    void shouldAnswerIoerrWhenFlushHasASectorOrData()
    {
        assertEquals(VIRTIO_BLK_S_IOERR, f.run(VirtioBlk.VIRTIO_BLK_T_FLUSH, 1, 0, 0));
        assertEquals(VIRTIO_BLK_S_IOERR, f.run(VirtioBlk.VIRTIO_BLK_T_FLUSH, 0, data(0), 512));
        assertEquals(2, f.counter(BlockCounter.BAD_FLUSH));
        assertEquals(0, f.counter(BlockCounter.FLUSHES));
    }

    @Test
    void shouldRefuseWritesWithIoerrAndWriteNothingOnAReadOnlyDevice()
    {
        try (MemoryBlockBackend ro = new MemoryBlockBackend(64, true, "ro");
            BlockDeviceFixture g = new BlockDeviceFixture(ro, BlockDeviceConfig.defaults(),
                ~(1L << VirtioBlk.VIRTIO_BLK_F_RO)))
        {
            // issue #7697: the driver did not ack RO; the device still refuses
            assertTrue((g.device.deviceFeatures() & (1L << VirtioBlk.VIRTIO_BLK_F_RO)) != 0, "RO offered");
            ro.segment().fill((byte)0x33);
            g.memory.fill(data(0), 4096, (byte)0x44);
            final byte[] before = ro.segment().toArray(ValueLayout.JAVA_BYTE);
            assertEquals(VIRTIO_BLK_S_IOERR, g.run(VIRTIO_BLK_T_OUT, 0, data(0), 4096));
            BlockDriver.putRange(g.memory, data(1), 0, 8, 0);
            assertEquals(VIRTIO_BLK_S_IOERR, g.run(VirtioBlk.VIRTIO_BLK_T_DISCARD, 0, data(1), 16));
            assertEquals(VIRTIO_BLK_S_IOERR, g.run(VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES, 0, data(1), 16));
            assertArrayEquals(before, ro.segment().toArray(ValueLayout.JAVA_BYTE));
            assertEquals(3, g.counter(BlockCounter.READ_ONLY_WRITE));
            assertEquals(VIRTIO_BLK_S_OK, g.run(VIRTIO_BLK_T_IN, 0, data(2), 512), "reads still work");
        }
    }

    @Test
    void shouldWriteZeroesThatReadBackAsZeroes()
    {
        BlockDriver.putRange(f.memory, data(0), 10, 4, 0);
        BlockDriver.putRange(f.memory, data(0) + 16, 40, 2, VirtioBlk.VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
        assertEquals(VIRTIO_BLK_S_OK, f.run(VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES, 0, data(0), 32));
        assertEquals(1, f.drivers[0].usedLength());
        assertEquals(VIRTIO_BLK_S_OK, f.run(VIRTIO_BLK_T_IN, 10, data(1), 2048));
        assertArrayEquals(new byte[2048], guest(data(1), 2048));
        assertArrayEquals(new byte[1024], diskRange(40, 1024));
        assertTrue(diskRange(14, 512)[1] != 0 || diskRange(14, 512)[2] != 0, "the sector after is untouched");
    }

    @Test
    void shouldDiscardToZeroesOnTheMemoryDisk()
    {
        BlockDriver.putRange(f.memory, data(0), 0, 8, 0);
        assertEquals(VIRTIO_BLK_S_OK, f.run(VirtioBlk.VIRTIO_BLK_T_DISCARD, 0, data(0), 16));
        assertArrayEquals(new byte[4096], diskRange(0, 4096));
    }

    @Test
    void shouldAnswerUnsuppForUnmapOnDiscardAndReservedFlags()
    {
        final byte[] before = diskBytes();
        BlockDriver.putRange(f.memory, data(0), 0, 8, VirtioBlk.VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
        assertEquals(VIRTIO_BLK_S_UNSUPP, f.run(VirtioBlk.VIRTIO_BLK_T_DISCARD, 0, data(0), 16));
        BlockDriver.putRange(f.memory, data(0), 0, 8, 2);
        assertEquals(VIRTIO_BLK_S_UNSUPP, f.run(VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES, 0, data(0), 16));
        BlockDriver.putRange(f.memory, data(0), 0, 8, 0x8000_0000);
        assertEquals(VIRTIO_BLK_S_UNSUPP, f.run(VirtioBlk.VIRTIO_BLK_T_DISCARD, 0, data(0), 16));
        assertArrayEquals(before, diskBytes());
        assertEquals(3, f.counter(BlockCounter.BAD_SEGMENT_FLAGS));
    }

    @Test
    void shouldDoNothingOfARangeRequestWhenALaterRangeIsInvalid()
    {
        final byte[] before = diskBytes();
        BlockDriver.putRange(f.memory, data(0), 0, 8, 0);
        BlockDriver.putRange(f.memory, data(0) + 16, SECTORS - 1, 2, 0);
        assertEquals(VIRTIO_BLK_S_IOERR, f.run(VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES, 0, data(0), 32));
        BlockDriver.putRange(f.memory, data(0) + 16, -1L, 2, 0);
        assertEquals(VIRTIO_BLK_S_IOERR, f.run(VirtioBlk.VIRTIO_BLK_T_DISCARD, 0, data(0), 32));
        assertArrayEquals(before, diskBytes());
        assertEquals(2, f.counter(BlockCounter.OUT_OF_RANGE));
    }

    @Test
    void shouldPoliceRangeCountsAndLengths()
    {
        final byte[] before = diskBytes();
        // 17 ranges: more than max_discard_seg = 16
        for (int i = 0; i < 17; i++)
        {
            BlockDriver.putRange(f.memory, data(0) + 16L * i, i, 1, 0);
        }
        assertEquals(VIRTIO_BLK_S_UNSUPP, f.run(VirtioBlk.VIRTIO_BLK_T_DISCARD, 0, data(0), 17 * 16));
        assertEquals(1, f.counter(BlockCounter.TOO_MANY_SEGMENTS));
        assertEquals(VIRTIO_BLK_S_IOERR, f.run(VirtioBlk.VIRTIO_BLK_T_DISCARD, 0, data(0), 24));
        assertEquals(VIRTIO_BLK_S_IOERR, f.run(VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES, 0, 0, 0), "zero ranges");
        assertEquals(2, f.counter(BlockCounter.BAD_LENGTH));
        BlockDriver.putRange(f.memory, data(1), 0, (1 << 22) + 1, 0);
        assertEquals(VIRTIO_BLK_S_IOERR, f.run(VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES, 0, data(1), 16));
        assertEquals(1, f.counter(BlockCounter.SEGMENT_TOO_LARGE));
        assertArrayEquals(before, diskBytes());
    }

    @Test
    void shouldAnswerUnsuppForDiscardAndWriteZeroesWhenNotNegotiated()
    {
        try (MemoryBlockBackend other = new MemoryBlockBackend(64, false, "x");
            BlockDeviceFixture g = new BlockDeviceFixture(other, BlockDeviceConfig.defaults(),
                ~((1L << VirtioBlk.VIRTIO_BLK_F_DISCARD) | (1L << VirtioBlk.VIRTIO_BLK_F_WRITE_ZEROES))))
        {
            other.segment().fill((byte)1);
            BlockDriver.putRange(g.memory, data(0), 0, 8, 0);
            assertEquals(VIRTIO_BLK_S_UNSUPP, g.run(VirtioBlk.VIRTIO_BLK_T_DISCARD, 0, data(0), 16));
            assertEquals(VIRTIO_BLK_S_UNSUPP, g.run(VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES, 0, data(0), 16));
            assertEquals(1, other.segment().get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(2, g.counter(BlockCounter.UNSUPPORTED_TYPE));
        }
    }
}
