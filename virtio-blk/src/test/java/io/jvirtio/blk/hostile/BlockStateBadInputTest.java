package io.jvirtio.blk.hostile;

import io.jvirtio.blk.BlockCounter;
import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.queue.QueueCounter;
import io.jvirtio.virtio.queue.RawSplitRing;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;

import static io.jvirtio.blk.VirtioBlk.SECTOR_SIZE;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_IOERR;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_OK;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_IN;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_OUT;
import static io.jvirtio.blk.hostile.BlockGuest.QUEUE_SIZE;
import static io.jvirtio.blk.hostile.BlockGuest.header;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * virtio-checklist §6 "virtio-blk", the items about device state rather than one request's content, through the
 * guest driver and the real exit path on virtio-pci and virtio-mmio: read-only from the device's configuration even
 * when the driver did not acknowledge it, a head made available twice, a reset with requests in flight, and a data
 * length over 4 GiB (which breaks the ring: NEEDS_RESET and a configuration interrupt, then a reset recovers).
 */
class BlockStateBadInputTest
{
    private static final long ALL = -1L;

    /** Cloud Hypervisor issue #7697: read-only is the device's, whatever the driver acknowledged. */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void writesWhileReadOnlyOfferedButNotAcked(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL & ~(1L << VirtioBlk.VIRTIO_BLK_F_RO), true))
        {
            assertTrue((guest.driver.transport().readDeviceFeatures() & (1L << VirtioBlk.VIRTIO_BLK_F_RO)) != 0);
            assertEquals(0, guest.features & (1L << VirtioBlk.VIRTIO_BLK_F_RO), "the driver did not ack RO");
            final byte[] data = new byte[SECTOR_SIZE];
            guest.assertRefused(VIRTIO_BLK_S_IOERR, BlockCounter.READ_ONLY_WRITE, header(VIRTIO_BLK_T_OUT, 0), data,
                0);
            guest.checkHealthy();
        }
    }

    /**
     * The same head made available twice. The device completes each request before it pops the next, so the head
     * is never in flight when it is popped again: each copy is served in turn on its own, and nothing is done twice
     * at once (the in-flight case is the ring's DUPLICATE_HEAD rule, in virtio-core's suite).
     */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void duplicateHeadWhileInFlight(final TransportKind kind) throws InterruptedException
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            final byte[] data = new byte[SECTOR_SIZE];
            Arrays.fill(data, (byte)0x3C);
            final long status = guest.status();
            final int head = guest.queue.post(new long[] {guest.put(header(VIRTIO_BLK_T_OUT, 9)), guest.put(data),
                status}, new long[] {16, SECTOR_SIZE, 1}, 2, 1);
            guest.queue.publish();
            final RawSplitRing raw = guest.queue.raw();
            final int idx = raw.availIdx();
            raw.availEntry(idx % QUEUE_SIZE, head).availIdx(idx + 1);
            guest.driver.transport().notifyQueue(0);
            guest.await(() -> raw.usedIdx() == 2, "both copies used");
            assertEquals(head, raw.usedId(0));
            assertEquals(head, raw.usedId(1));
            assertEquals(VIRTIO_BLK_S_OK, guest.memory.getByte(status));
            assertArrayEquals(data, Arrays.copyOfRange(guest.diskBytes(), 9 * SECTOR_SIZE, 10 * SECTOR_SIZE));
            assertEquals(0, guest.attached.core().queue(0).inFlight());
            // the driver library's view of the ring is now off by one: start again, as a driver would after this
            guest.start(guest.features);
            guest.checkHealthy();
        }
    }

    /**
     * Reset with requests in flight: once the reset returns (status reads 0), the device touches neither the data
     * buffers nor the used ring again.
     */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void resetWhileIoInFlight(final TransportKind kind)
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            final int requests = QUEUE_SIZE / 4;
            final long[] buffers = new long[requests];
            final SplitQueueDriver old = guest.queue;
            for (int i = 0; i < requests; i++)
            {
                buffers[i] = guest.buffer(8 * SECTOR_SIZE, (byte)0);
                old.post(new long[] {guest.put(header(VIRTIO_BLK_T_IN, 8L * (i % 16))), buffers[i], guest.status()},
                    new long[] {16, 8 * SECTOR_SIZE, 1}, 1, 2);
            }
            guest.driver.kick(0);
            guest.driver.reset();
            final int usedAtReset = old.raw().usedIdx();
            for (final long buffer : buffers)
            {
                guest.memory.fill(buffer, 8 * SECTOR_SIZE, (byte)0x11);
            }
            guest.start(guest.features);
            guest.checkHealthy();
            assertEquals(usedAtReset, old.raw().usedIdx(), "the old used ring moved after the reset returned");
            final byte[] marked = new byte[8 * SECTOR_SIZE];
            Arrays.fill(marked, (byte)0x11);
            for (final long buffer : buffers)
            {
                assertArrayEquals(marked, guest.read(buffer, marked.length), "a buffer was written after reset");
            }
        }
    }

    /** Data over 4 GiB cannot lie in guest RAM: the ring breaks, NEEDS_RESET with a config interrupt, disk intact. */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void dataLengthOver4GiB(final TransportKind kind) throws InterruptedException
    {
        try (BlockGuest guest = new BlockGuest(kind, ALL))
        {
            final byte[] disk = guest.diskBytes();
            final long data = guest.buffer(SECTOR_SIZE, (byte)0);
            final long status = guest.status();
            // written raw: the driver library refuses a chain of 2^32 bytes or more
            final int next = 1;
            final int write = 2;
            guest.queue.raw().descriptor(0, guest.put(header(VIRTIO_BLK_T_IN, 0)), 16, next, 1)
                .descriptor(1, data, 0xFFFF_FE00L, next | write, 2)
                .descriptor(2, data, 0xFFFF_FE00L, next | write, 3)
                .descriptor(3, status, 1, write, 0)
                .availEntry(0, 0)
                .availIdx(1);
            guest.driver.transport().notifyQueue(0);
            guest.awaitNeedsReset();
            assertEquals(1, guest.count(BlockCounter.QUEUE_BROKEN));
            assertEquals(BlockGuest.UNWRITTEN, guest.memory.getByte(status));
            assertArrayEquals(disk, guest.diskBytes());
            assertEquals(0, guest.attached.core().queue(0).counters().get(QueueCounter.CHAINS_POPPED),
                "the chain was refused at pop, before any byte of it was used");
            assertTrue((guest.driver.transport().readStatus() & DeviceStatus.DRIVER_OK) != 0);
            guest.start(guest.features);
            guest.checkHealthy();
        }
    }
}
