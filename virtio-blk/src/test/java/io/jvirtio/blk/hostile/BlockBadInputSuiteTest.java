package io.jvirtio.blk.hostile;

import io.jvirtio.blk.BlockCounter;
import io.jvirtio.virtio.machine.TransportKind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;

import static io.jvirtio.blk.VirtioBlk.SECTOR_SIZE;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_ID_BYTES;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_IOERR;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_OK;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_UNSUPP;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_DISCARD;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_FLUSH;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_GET_ID;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_IN;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_OUT;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
import static io.jvirtio.blk.hostile.BlockGuest.SECTORS;
import static io.jvirtio.blk.hostile.BlockGuest.UNWRITTEN;
import static io.jvirtio.blk.hostile.BlockGuest.header;
import static io.jvirtio.blk.hostile.BlockGuest.range;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * virtio-checklist §6 "virtio-blk", the framing and content items, each through the guest driver and the real exit
 * path on virtio-pci and virtio-mmio: broken framing completed with used length 0 and nothing written; every content
 * error answered IOERR or UNSUPP as §5.2.6.1 and the checklist prescribe, counted, with the backend untouched; and
 * the host healthy afterwards ({@link BlockGuest#checkHealthy}). The ring-breaking, state and CVE items are in
 * {@code BlockStateBadInputTest} and {@code BlockCveRegressionTest}; the unit-level versions in
 * {@code BlockBadInputTest} stay.
 */
class BlockBadInputSuiteTest
{
    private static final long ALL = -1L;

    private static byte[] sectors(final int count)
    {
        final byte[] data = new byte[count * SECTOR_SIZE];
        Arrays.fill(data, (byte)0x5C);
        return data;
    }

    /** A chain that cannot be answered: used length 0, status untouched, disk untouched. */
    private static void assertUnanswered(final BlockGuest guest, final BlockCounter counter, final long[] addrs,
        final long[] lens, final int readable, final int writable, final long status)
    {
        final long before = guest.count(counter);
        final byte[] disk = guest.diskBytes();
        assertEquals(0, guest.run(addrs, lens, readable, writable), "used length");
        assertEquals(before + 1, guest.count(counter), counter.name());
        assertEquals(UNWRITTEN, guest.memory.getByte(status), "nothing is written");
        assertArrayEquals(disk, guest.diskBytes());
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void headerInAWritableDescriptor(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            final long head = guest.put(header(VIRTIO_BLK_T_OUT, 0));
            final long status = guest.status();
            assertUnanswered(guest, BlockCounter.FRAMING_NO_HEADER, new long[] {head, status}, new long[] {16, 1},
                0, 2, status);
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void headerDescriptorShorterThan16Bytes(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            final long head = guest.put(header(VIRTIO_BLK_T_IN, 0));
            final long data = guest.buffer(SECTOR_SIZE, (byte)0x66);
            final long status = guest.status();
            assertUnanswered(guest, BlockCounter.FRAMING_NO_HEADER, new long[] {head, data, status},
                new long[] {15, SECTOR_SIZE, 1}, 1, 2, status);
            final byte[] untouched = new byte[SECTOR_SIZE];
            Arrays.fill(untouched, (byte)0x66);
            assertArrayEquals(untouched, guest.read(data, SECTOR_SIZE), "no data was read into the buffer");
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void headerSplitAcrossDescriptors(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            final byte[] header = header(VIRTIO_BLK_T_IN, 3);
            final long a = guest.put(Arrays.copyOfRange(header, 0, 1));
            final long b = guest.put(Arrays.copyOfRange(header, 1, 9));
            final long c = guest.put(Arrays.copyOfRange(header, 9, 16));
            final long data = guest.buffer(SECTOR_SIZE, (byte)0);
            final long status = guest.status();
            assertEquals(SECTOR_SIZE + 1, guest.run(new long[] {a, b, c, data, status},
                new long[] {1, 8, 7, SECTOR_SIZE, 1}, 3, 2));
            assertEquals(VIRTIO_BLK_S_OK, guest.memory.getByte(status));
            assertArrayEquals(Arrays.copyOfRange(guest.diskBytes(), 3 * SECTOR_SIZE, 4 * SECTOR_SIZE),
                guest.read(data, SECTOR_SIZE));
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void statusDescriptorReadable(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            final long head = guest.put(header(VIRTIO_BLK_T_OUT, 0));
            final long data = guest.put(sectors(1));
            final long status = guest.status();
            assertUnanswered(guest, BlockCounter.FRAMING_NO_STATUS, new long[] {head, data, status},
                new long[] {16, SECTOR_SIZE, 1}, 3, 0, status);
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void statusDescriptorLengthZero(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            // a write whose only writable descriptor is empty: nowhere to put the status
            final long status = guest.status();
            assertUnanswered(guest, BlockCounter.FRAMING_NO_STATUS,
                new long[] {guest.put(header(VIRTIO_BLK_T_OUT, 0)), guest.put(sectors(1)), status},
                new long[] {16, SECTOR_SIZE, 0}, 2, 1, status);
            // a read: the status is the last writable byte, in the data buffer, which is then one byte short
            final long data = guest.buffer(SECTOR_SIZE, (byte)0x66);
            final long empty = guest.status();
            final byte[] disk = guest.diskBytes();
            assertEquals(1, guest.run(new long[] {guest.put(header(VIRTIO_BLK_T_IN, 0)), data, empty},
                new long[] {16, SECTOR_SIZE, 0}, 1, 2));
            assertEquals(VIRTIO_BLK_S_IOERR, guest.memory.getByte(data + SECTOR_SIZE - 1));
            assertEquals(UNWRITTEN, guest.memory.getByte(empty));
            assertArrayEquals(disk, guest.diskBytes());
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void statusDescriptorNotLast(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            // header, a 1-byte "status" descriptor, then 512 more writable bytes: the status is the last byte of all
            final long early = guest.status();
            final long data = guest.buffer(SECTOR_SIZE, (byte)0x66);
            assertEquals(SECTOR_SIZE + 1, guest.run(new long[] {guest.put(header(VIRTIO_BLK_T_IN, 2)), early, data},
                new long[] {16, 1, SECTOR_SIZE}, 1, 2));
            assertEquals(VIRTIO_BLK_S_OK, guest.memory.getByte(data + SECTOR_SIZE - 1));
            final byte[] sector = Arrays.copyOfRange(guest.diskBytes(), 2 * SECTOR_SIZE, 3 * SECTOR_SIZE);
            assertEquals(sector[0], guest.memory.getByte(early), "data fills the writable bytes before the status");
            assertArrayEquals(Arrays.copyOfRange(sector, 1, SECTOR_SIZE), guest.read(data, SECTOR_SIZE - 1));
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void sectorAllOnes(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.OUT_OF_RANGE, header(VIRTIO_BLK_T_IN, -1L), null,
                SECTOR_SIZE);
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.OUT_OF_RANGE, header(VIRTIO_BLK_T_OUT, -1L),
                sectors(1), 0);
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void sectorPlusCountOverflowing(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            // (2^64 - 1) + 2 sectors wraps to 1, and 2^55 sectors << 9 wraps to 0: both must be out of range
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.OUT_OF_RANGE, header(VIRTIO_BLK_T_OUT, -1L),
                sectors(2), 0);
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.OUT_OF_RANGE, header(VIRTIO_BLK_T_OUT, 1L << 55),
                sectors(1), 0);
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void countReachingPastCapacity(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.OUT_OF_RANGE, header(VIRTIO_BLK_T_OUT, SECTORS - 1),
                sectors(2), 0);
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.OUT_OF_RANGE, header(VIRTIO_BLK_T_IN, SECTORS),
                null, SECTOR_SIZE);
            assertEquals(VIRTIO_BLK_S_OK, guest.request(header(VIRTIO_BLK_T_OUT, SECTORS - 1), sectors(1), 0),
                "the last sector itself is in range");
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void dataLengthNotMultipleOf512(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.BAD_LENGTH, header(VIRTIO_BLK_T_OUT, 0),
                new byte[SECTOR_SIZE + 1], 0);
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.BAD_LENGTH, header(VIRTIO_BLK_T_IN, 0), null, 511);
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void inWithReadableDataOrOutWithWritableData(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.BAD_DIRECTION, header(VIRTIO_BLK_T_IN, 0),
                sectors(1), 0);
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.BAD_DIRECTION, header(VIRTIO_BLK_T_OUT, 0), null,
                SECTOR_SIZE);
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void flushWithSectorOrData(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.BAD_FLUSH, header(VIRTIO_BLK_T_FLUSH, 1), null, 0);
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.BAD_FLUSH, header(VIRTIO_BLK_T_FLUSH, 0),
                sectors(1), 0);
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.BAD_FLUSH, header(VIRTIO_BLK_T_FLUSH, 0), null,
                SECTOR_SIZE);
            assertEquals(VIRTIO_BLK_S_OK, guest.request(header(VIRTIO_BLK_T_FLUSH, 0), null, 0));
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void getIdWithDataOtherThan20Bytes(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.BAD_GET_ID, header(VIRTIO_BLK_T_GET_ID, 0), null,
                VIRTIO_BLK_ID_BYTES - 1);
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.BAD_GET_ID, header(VIRTIO_BLK_T_GET_ID, 0), null,
                VIRTIO_BLK_ID_BYTES + 1);
            assertEquals(VIRTIO_BLK_S_OK, guest.request(header(VIRTIO_BLK_T_GET_ID, 0), null, VIRTIO_BLK_ID_BYTES));
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void discardOrWriteZeroesWithZeroSegments(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            for (final int type : new int[] {VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES})
            {
                guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.BAD_LENGTH, header(type, 0), null, 0);
            }
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void discardOrWriteZeroesWithMoreThanMaxSegments(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            final byte[] five = new byte[5 * 16];
            for (int i = 0; i < 5; i++)
            {
                System.arraycopy(range(i, 1, 0), 0, five, 16 * i, 16);
            }
            for (final int type : new int[] {VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES})
            {
                guest.assertRefused(VIRTIO_BLK_S_UNSUPP, BlockCounter.TOO_MANY_SEGMENTS, header(type, 0), five, 0);
            }
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void discardOrWriteZeroesLengthNotMultipleOf16(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            for (final int type : new int[] {VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES})
            {
                guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.BAD_LENGTH, header(type, 0),
                    Arrays.copyOf(range(0, 1, 0), 17), 0);
            }
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void discardOrWriteZeroesNumSectorsZeroOrOverMax(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            for (final int type : new int[] {VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES})
            {
                guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.SEGMENT_TOO_LARGE, header(type, 0),
                    range(0, 65, 0), 0);
                guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.SEGMENT_TOO_LARGE, header(type, 0),
                    range(0, 0xFFFF_FFFFL, 0), 0);
                final byte[] disk = guest.diskBytes();
                assertEquals(VIRTIO_BLK_S_OK, guest.request(header(type, 0), range(5, 0, 0), 0),
                    "an empty range is a no-op");
                assertArrayEquals(disk, guest.diskBytes());
            }
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void discardOrWriteZeroesReservedFlagBits(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            for (final int type : new int[] {VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES})
            {
                for (final int flags : new int[] {2, 0x8000_0000, -1})
                {
                    guest.assertRefused(VIRTIO_BLK_S_UNSUPP, BlockCounter.BAD_SEGMENT_FLAGS, header(type, 0),
                        range(0, 1, flags), 0);
                }
            }
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void unmapOnDiscard(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            guest.assertRefused(VIRTIO_BLK_S_UNSUPP, BlockCounter.BAD_SEGMENT_FLAGS, header(VIRTIO_BLK_T_DISCARD, 0),
                range(0, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP), 0);
            assertEquals(VIRTIO_BLK_S_OK, guest.request(header(VIRTIO_BLK_T_WRITE_ZEROES, 0),
                range(0, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP), 0), "unmap is fine on write-zeroes");
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void rangesOverlappingOrOutsideCapacity(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            for (final int type : new int[] {VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES})
            {
                // the second range is bad: nothing of the request is done, the first range included
                guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.OUT_OF_RANGE, header(type, 0),
                    BlockGuest.concat(range(0, 1, 0), range(SECTORS - 1, 2, 0)), 0);
                guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.OUT_OF_RANGE, header(type, 0),
                    BlockGuest.concat(range(0, 1, 0), range(-1L, 2, 0)), 0);
            }
            // overlapping ranges are allowed by §5.2.6 and zero the union
            assertEquals(VIRTIO_BLK_S_OK, guest.request(header(VIRTIO_BLK_T_WRITE_ZEROES, 0),
                BlockGuest.concat(range(4, 4, 0), range(6, 4, 0)), 0));
            assertArrayEquals(new byte[6 * SECTOR_SIZE],
                Arrays.copyOfRange(guest.diskBytes(), 4 * SECTOR_SIZE, 10 * SECTOR_SIZE));
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void unknownRequestTypes(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            // 3 and 0x80000000 (unknown), 2 (legacy SCSI), 0x80000001 (legacy BARRIER | OUT), 10 and 14 (not offered)
            for (final long type : new long[] {3, 0x8000_0000L, 2, 0x8000_0001L, 10, 14, 0xFFFF_FFFFL})
            {
                guest.assertRefused(VIRTIO_BLK_S_UNSUPP, BlockCounter.UNSUPPORTED_TYPE, header(type, 0),
                    sectors(1), 0);
            }
            guest.checkHealthy();
        }
    }
}
