package io.jvirtio.blk.hostile;

import io.jvirtio.blk.BlockCounter;
import io.jvirtio.blk.BlockConfigLayout;
import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.blk.backend.FileBlockBackend;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.queue.RawSplitRing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static io.jvirtio.blk.VirtioBlk.SECTOR_SIZE;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_IOERR;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_OK;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_UNSUPP;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_DISCARD;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_GET_ID;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_IN;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_OUT;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES;
import static io.jvirtio.blk.hostile.BlockGuest.QUEUE_SIZE;
import static io.jvirtio.blk.hostile.BlockGuest.SECTORS;
import static io.jvirtio.blk.hostile.BlockGuest.concat;
import static io.jvirtio.blk.hostile.BlockGuest.header;
import static io.jvirtio.blk.hostile.BlockGuest.range;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Regressions for the virtio-blk rows of virtio-checklist §7, each reproducing the attack through the guest driver
 * and the exit path (virtio-pci) and asserting the lesson the table draws, then the host's health.
 */
class BlockCveRegressionTest
{
    private static final long ALL = -1L;
    private static final byte CANARY = (byte)0x5C;
    /** Bytes of canary after each buffer the guest hands the device. */
    private static final int SLACK = 64;

    @TempDir
    Path dir;

    private static byte[] canaries(final int length)
    {
        final byte[] bytes = new byte[length];
        Arrays.fill(bytes, CANARY);
        return bytes;
    }

    /** Requests not aligned to sectors, or reaching past the disk: refused before any byte is copied either way. */
    @Test
    void cve_2011_1750_misalignedRequestsRejectedBeforeAnyCopy()
    {
        try (BlockGuest guest = new BlockGuest(TransportKind.PCI, ALL))
        {
            final byte[] disk = guest.diskBytes();
            final byte[] odd = new byte[SECTOR_SIZE + 13];
            Arrays.fill(odd, (byte)0x77);
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.BAD_LENGTH, header(VIRTIO_BLK_T_OUT, SECTORS - 1),
                odd, 0);
            final long in = guest.buffer(1000, (byte)0x66);
            final long status = guest.status();
            guest.run(new long[] {guest.put(header(VIRTIO_BLK_T_IN, SECTORS - 1)), in, status},
                new long[] {16, 1000, 1}, 1, 2);
            assertEquals(VIRTIO_BLK_S_IOERR, guest.memory.getByte(status));
            final byte[] untouched = new byte[1000];
            Arrays.fill(untouched, (byte)0x66);
            assertArrayEquals(untouched, guest.read(in, 1000), "nothing was copied into the guest");
            assertArrayEquals(disk, guest.diskBytes(), "nor onto the disk");
            guest.checkHealthy();
        }
    }

    /**
     * A guest that submits without waiting for completions: the device holds at most the queue's size in flight,
     * serves a full ring, and an avail.idx pushed past the ring is a broken ring (NEEDS_RESET), not more work.
     */
    @Test
    void cve_2016_5403_requestsWithoutWaitingForCompletion() throws InterruptedException
    {
        try (BlockGuest guest = new BlockGuest(TransportKind.PCI, ALL))
        {
            // as many three-descriptor requests as the descriptor table holds
            final long[] statuses = new long[QUEUE_SIZE / 3];
            for (int i = 0; i < statuses.length; i++)
            {
                statuses[i] = guest.status();
                assertTrue(guest.queue.post(new long[] {guest.put(header(VIRTIO_BLK_T_IN, i % SECTORS)),
                    guest.buffer(SECTOR_SIZE, (byte)0), statuses[i]}, new long[] {16, SECTOR_SIZE, 1}, 1, 2) >= 0);
            }
            guest.driver.kick(0);
            final RawSplitRing raw = guest.queue.raw();
            guest.await(() -> raw.usedIdx() == statuses.length, "the whole batch served");
            for (final long status : statuses)
            {
                assertEquals(VIRTIO_BLK_S_OK, guest.memory.getByte(status));
            }
            assertTrue(guest.attached.core().queue(0).inFlight() <= QUEUE_SIZE);
            raw.availIdx(raw.availIdx() + QUEUE_SIZE + 1);
            guest.driver.transport().notifyQueue(0);
            guest.awaitNeedsReset();
            assertEquals(1, guest.count(BlockCounter.QUEUE_BROKEN));
            guest.start(guest.features);
            guest.checkHealthy();
        }
    }

    /**
     * Cloud Hypervisor's duplicate-head use-after-free: one head in every slot of the ring. Requests are served one
     * after the other, so no copy is in flight when the next is popped; the ring keeps its in-flight bound.
     */
    @Test
    void cloudHypervisorDuplicateHeadUseAfterFree()
    {
        try (BlockGuest guest = new BlockGuest(TransportKind.PCI, ALL))
        {
            final long data = guest.buffer(SECTOR_SIZE, (byte)0);
            final long status = guest.status();
            final int head = guest.queue.post(new long[] {guest.put(header(VIRTIO_BLK_T_IN, 5)), data, status},
                new long[] {16, SECTOR_SIZE, 1}, 1, 2);
            final RawSplitRing raw = guest.queue.raw();
            for (int slot = 0; slot < QUEUE_SIZE; slot++)
            {
                raw.availEntry(slot, head);
            }
            raw.availIdx(QUEUE_SIZE);
            guest.driver.transport().notifyQueue(0);
            guest.await(() -> raw.usedIdx() == QUEUE_SIZE, "every copy used");
            assertEquals(VIRTIO_BLK_S_OK, guest.memory.getByte(status));
            assertArrayEquals(Arrays.copyOfRange(guest.diskBytes(), 5 * SECTOR_SIZE, 6 * SECTOR_SIZE),
                guest.read(data, SECTOR_SIZE));
            assertEquals(0, guest.attached.core().queue(0).inFlight());
            guest.start(guest.features);
            guest.checkHealthy();
        }
    }

    /** Cloud Hypervisor issue #7697: discard and write-zeroes on a read-only disk whose RO the driver did not ack. */
    @Test
    void cloudHypervisor7697_rangeWritesWhileReadOnlyNotAcked()
    {
        try (BlockGuest guest = new BlockGuest(TransportKind.PCI, ALL & ~(1L << VirtioBlk.VIRTIO_BLK_F_RO), true))
        {
            for (final int type : new int[] {VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES})
            {
                guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.READ_ONLY_WRITE, header(type, 0),
                    range(0, 8, 0), 0);
            }
            guest.checkHealthy();
        }
    }

    /**
     * Guest lengths are cross-checked against what the request needs and what the disk holds, and each copy against
     * its own descriptor: a read scattered over two odd-sized buffers fills each exactly; data whose total is not
     * whole sectors, reaches past the disk, or does not match GET_ID's 20 bytes or whole 16-byte ranges is refused
     * before anything is copied.
     */
    @Test
    void cve_2023_3180_dataLengthsCrossCheckedAgainstRealBufferSizes()
    {
        try (BlockGuest guest = new BlockGuest(TransportKind.PCI, ALL))
        {
            final long first = guest.buffer(100 + SLACK, CANARY);
            final long second = guest.buffer(924 + SLACK, CANARY);
            final long status = guest.status();
            assertEquals(2 * SECTOR_SIZE + 1, guest.run(new long[] {guest.put(header(VIRTIO_BLK_T_IN, 3)), first,
                second, status}, new long[] {16, 100, 924, 1}, 1, 3));
            assertEquals(VIRTIO_BLK_S_OK, guest.memory.getByte(status));
            final byte[] disk = guest.diskBytes();
            assertArrayEquals(Arrays.copyOfRange(disk, 3 * SECTOR_SIZE, 3 * SECTOR_SIZE + 100), guest.read(first, 100));
            assertArrayEquals(Arrays.copyOfRange(disk, 3 * SECTOR_SIZE + 100, 5 * SECTOR_SIZE),
                guest.read(second, 924));
            assertArrayEquals(canaries(SLACK), guest.read(first + 100, SLACK), "nothing past the first buffer");
            assertArrayEquals(canaries(SLACK), guest.read(second + 924, SLACK), "nothing past the second buffer");

            final long shortFirst = guest.buffer(100, CANARY);
            final long shortSecond = guest.buffer(413, CANARY);
            final long refused = guest.status();
            guest.run(new long[] {guest.put(header(VIRTIO_BLK_T_IN, 0)), shortFirst, shortSecond, refused},
                new long[] {16, 100, 413, 1}, 1, 3);
            assertEquals(VIRTIO_BLK_S_IOERR, guest.memory.getByte(refused));
            assertEquals(1, guest.count(BlockCounter.BAD_LENGTH));
            assertArrayEquals(canaries(100), guest.read(shortFirst, 100), "a refused read copies nothing");
            assertArrayEquals(canaries(413), guest.read(shortSecond, 413));

            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.OUT_OF_RANGE, header(VIRTIO_BLK_T_OUT, SECTORS - 1),
                new byte[2 * SECTOR_SIZE], 0);
            for (final int length : new int[] {19, 21})
            {
                guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.BAD_GET_ID, header(VIRTIO_BLK_T_GET_ID, 0), null,
                    length);
            }
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.BAD_LENGTH, header(VIRTIO_BLK_T_DISCARD, 0),
                Arrays.copyOf(range(0, 8, 0), 24), 0);
            guest.checkHealthy();
        }
    }

    /**
     * OpenBSD vmd copied as much as the guest's descriptors said. Copies here are sized from host objects and guest
     * counts are capped by host limits: GET_ID writes the 20-byte ID and not a byte more; more ranges than
     * max_discard_seg and more data segments than seg_max are refused before any is copied or executed.
     */
    @Test
    void openBsdVmd_copiesSizedFromHostObjects()
    {
        try (BlockGuest guest = new BlockGuest(TransportKind.PCI, ALL))
        {
            final long id = guest.buffer(VirtioBlk.VIRTIO_BLK_ID_BYTES + SLACK, CANARY);
            final long status = guest.status();
            assertEquals(VirtioBlk.VIRTIO_BLK_ID_BYTES + 1, guest.run(new long[] {guest.put(
                header(VIRTIO_BLK_T_GET_ID, 0)), id, status}, new long[] {16, VirtioBlk.VIRTIO_BLK_ID_BYTES, 1}, 1, 2));
            assertEquals(VIRTIO_BLK_S_OK, guest.memory.getByte(status));
            assertArrayEquals(Arrays.copyOf("hostile".getBytes(StandardCharsets.US_ASCII),
                VirtioBlk.VIRTIO_BLK_ID_BYTES), guest.read(id, VirtioBlk.VIRTIO_BLK_ID_BYTES));
            assertArrayEquals(canaries(SLACK), guest.read(id + VirtioBlk.VIRTIO_BLK_ID_BYTES, SLACK));

            final byte[][] ranges = new byte[64][];
            Arrays.fill(ranges, range(0, 8, 0));
            for (final int type : new int[] {VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES})
            {
                guest.assertRefused(VIRTIO_BLK_S_UNSUPP, BlockCounter.TOO_MANY_SEGMENTS, header(type, 0),
                    concat(ranges), 0);
            }
            final int segments = 17;
            final long[] addrs = new long[segments + 2];
            final long[] lens = new long[segments + 2];
            addrs[0] = guest.put(header(VIRTIO_BLK_T_IN, 0));
            lens[0] = 16;
            // bound: the segments the test builds
            for (int i = 1; i <= segments; i++)
            {
                addrs[i] = guest.buffer(SECTOR_SIZE, CANARY);
                lens[i] = SECTOR_SIZE;
            }
            final long refused = guest.status();
            addrs[segments + 1] = refused;
            lens[segments + 1] = 1;
            assertEquals(1, guest.run(addrs, lens, 1, segments + 1), "only the status byte is written");
            assertEquals(VIRTIO_BLK_S_IOERR, guest.memory.getByte(refused));
            assertEquals(3, guest.count(BlockCounter.TOO_MANY_SEGMENTS), "two range requests, then this one");
            // bound: the segments the test built
            for (int i = 1; i <= segments; i++)
            {
                assertArrayEquals(canaries(SECTOR_SIZE), guest.read(addrs[i], SECTOR_SIZE), "segment=" + i);
            }
            guest.checkHealthy();
        }
    }

    /**
     * Cloud Hypervisor PR #8104: a guest writes a qcow2 header (magic, a backing file, a 1 TiB size) into sector 0 of
     * a raw image. The image format is configured, never probed: reopened, the image is the same raw bytes with the
     * same capacity, and sector 0 reads back as the bytes the guest wrote.
     */
    @Test
    void cloudHypervisor8104_formatNeverProbedFromGuestWritableData() throws IOException
    {
        final Path image = dir.resolve("disk.raw");
        final byte[] pattern = new byte[(int)SECTORS * SECTOR_SIZE];
        // bound: the image's bytes
        for (int i = 0; i < pattern.length; i++)
        {
            pattern[i] = (byte)(i * 31 + 7);
        }
        Files.write(image, pattern);
        final byte[] qcow2 = new byte[SECTOR_SIZE];
        final byte[] backing = "/etc/passwd".getBytes(StandardCharsets.US_ASCII);
        ByteBuffer.wrap(qcow2).putInt(0x5146_49FB).putInt(3).putLong(0x100).putInt(backing.length).putInt(16)
            .putLong(1L << 40);
        System.arraycopy(backing, 0, qcow2, 0x100, backing.length);
        try (BlockGuest guest = new BlockGuest(TransportKind.PCI, ALL, FileBlockBackend.open(image, false, "raw")))
        {
            assertEquals(VIRTIO_BLK_S_OK, guest.request(header(VIRTIO_BLK_T_OUT, 0), qcow2, 0));
            guest.checkHealthy();
        }
        try (FileBlockBackend reopened = FileBlockBackend.open(image, false, "raw"))
        {
            assertEquals(SECTORS, reopened.capacity(), "the capacity is the file's, not the planted header's");
        }
        try (BlockGuest guest = new BlockGuest(TransportKind.PCI, ALL, FileBlockBackend.open(image, false, "raw")))
        {
            assertEquals(SECTORS, guest.driver.transport().readConfig(BlockConfigLayout.CAPACITY_OFFSET, 8));
            final long sector0 = guest.buffer(SECTOR_SIZE, CANARY);
            final long status = guest.status();
            guest.run(new long[] {guest.put(header(VIRTIO_BLK_T_IN, 0)), sector0, status},
                new long[] {16, SECTOR_SIZE, 1}, 1, 2);
            assertEquals(VIRTIO_BLK_S_OK, guest.memory.getByte(status));
            assertArrayEquals(qcow2, guest.read(sector0, SECTOR_SIZE), "sector 0 is the raw bytes the guest wrote");
            final byte[] disk = guest.diskBytes();
            assertEquals(pattern.length, disk.length, "the file did not grow or shrink");
            assertArrayEquals(Arrays.copyOfRange(pattern, SECTOR_SIZE, 7 * SECTOR_SIZE),
                Arrays.copyOfRange(disk, SECTOR_SIZE, 7 * SECTOR_SIZE), "the rest is the raw image as it was");
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.OUT_OF_RANGE, header(VIRTIO_BLK_T_IN, SECTORS), null,
                SECTOR_SIZE);
            guest.checkHealthy();
        }
    }
}
