package io.jvirtio.blk.hostile;

import io.jvirtio.blk.BlockCounter;
import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.queue.RawSplitRing;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static io.jvirtio.blk.VirtioBlk.SECTOR_SIZE;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_IOERR;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_OK;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_DISCARD;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_IN;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_OUT;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES;
import static io.jvirtio.blk.hostile.BlockGuest.QUEUE_SIZE;
import static io.jvirtio.blk.hostile.BlockGuest.SECTORS;
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
}
