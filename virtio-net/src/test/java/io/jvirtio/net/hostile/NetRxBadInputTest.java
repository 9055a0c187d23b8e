package io.jvirtio.net.hostile;

import io.jvirtio.net.NetCounter;
import io.jvirtio.net.NetDevice;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.queue.QueueCounter;
import io.jvirtio.virtio.testkit.HostHealth;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;

import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MRG_RXBUF;
import static io.jvirtio.net.NetFeatures.bit;
import static io.jvirtio.net.hostile.NetGuest.HEADER;
import static io.jvirtio.net.hostile.NetGuest.frame;
import static io.jvirtio.net.hostile.NetGuest.packet;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * virtio-checklist §6 "virtio-net", the receive items, through the guest driver and the real exit path on virtio-pci
 * and virtio-mmio: unusable chains completed with 0 and skipped, a frame that does not fit given back unused, a
 * frame waiting (never half-delivered) while the queue runs dry, and delivery resuming on the driver's next RX kick.
 */
class NetRxBadInputTest
{
    private static final long MERGEABLE = NetDevice.OFFERED_FEATURES;
    /**
     * Pops of one waiting buffer the test allows across a few worker passes: each pass looks at it at most twice (once,
     * and once more after asking for kicks); a worker that loops on the buffers it gave back pops it without end.
     */
    private static final long MAX_POPS_WHILE_WAITING = 32;
    private static final long PLAIN = NetDevice.OFFERED_FEATURES & ~bit(VIRTIO_NET_F_MRG_RXBUF);

    /** Posts one RX buffer of {@code length} writable bytes, filled with the canary. @return {head, address}. */
    private static long[] rxBuffer(final NetGuest guest, final int length)
    {
        final long gpa = guest.buffer(length);
        guest.memory.fill(gpa, length, HostHealth.CANARY);
        return new long[] {guest.post(0, new long[] {gpa}, new long[] {length}, 0, 1), gpa};
    }

    private static byte[] read(final NetGuest guest, final long gpa, final int length)
    {
        final byte[] bytes = new byte[length];
        guest.memory.copyOut(gpa, bytes, 0, length);
        return bytes;
    }

    private static void assertUntouched(final NetGuest guest, final long gpa, final int length)
    {
        final byte[] bytes = read(guest, gpa, length);
        for (int i = 0; i < length; i++)
        {
            assertEquals(HostHealth.CANARY, bytes[i], "the device wrote into a buffer it gave back: offset=" + i);
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void rxChainWithNoWritablePart(final TransportKind kind)
    {
        try (NetGuest guest = new NetGuest(kind, PLAIN))
        {
            final long readable = guest.put(new byte[2048]);
            final int bad = guest.post(0, new long[] {readable}, new long[] {2048}, 1, 0);
            final long[] good = rxBuffer(guest, HEADER + 1514);
            final byte[] frame = frame(300, 1);
            guest.backend.offer(packet(frame));
            assertEquals(0, guest.awaitUsed(0, bad), "a chain with nothing to write into is completed with 0");
            assertEquals(HEADER + frame.length, guest.awaitUsed(0, (int)good[0]));
            assertArrayEquals(frame, read(guest, good[1] + HEADER, frame.length));
            assertEquals(1, guest.count(NetCounter.RX_CHAIN_UNUSABLE));
            assertArrayEquals(new byte[2048], read(guest, readable, 2048), "a readable buffer is never written");
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void rxWritableBufferSmallerThanHeaderWithoutMrgRxbuf(final TransportKind kind)
    {
        try (NetGuest guest = new NetGuest(kind, PLAIN))
        {
            final long[] tiny = rxBuffer(guest, HEADER - 1);
            final long[] good = rxBuffer(guest, HEADER + 1514);
            final byte[] frame = frame(100, 2);
            guest.backend.offer(packet(frame));
            assertEquals(0, guest.awaitUsed(0, (int)tiny[0]));
            assertUntouched(guest, tiny[1], HEADER - 1);
            assertEquals(HEADER + frame.length, guest.awaitUsed(0, (int)good[0]));
            assertEquals(1, guest.count(NetCounter.RX_CHAIN_UNUSABLE));
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void rxQueueEmptyMidPacketWithMrgRxbuf(final TransportKind kind)
    {
        try (NetGuest guest = new NetGuest(kind, MERGEABLE))
        {
            final long[] first = rxBuffer(guest, 256);
            final byte[] frame = frame(1000, 3);
            guest.backend.offer(packet(frame));
            guest.awaitCount(NetCounter.RX_NO_BUFFER, 1);
            // three TX round trips on the same worker: each pass may look at the waiting buffer again, no more
            for (int i = 0; i < 3; i++)
            {
                guest.transmit(NetGuest.header(0, 0, 0, 0, 0, 0), frame(60, i));
            }
            final long popped = guest.attached.core().queue(0).counters().get(QueueCounter.CHAINS_POPPED);
            assertTrue(popped <= MAX_POPS_WHILE_WAITING, "the worker spins on buffers it gave back: popped=" + popped);
            assertEquals(0, guest.rx.raw().usedIdx(), "nothing is used while the frame does not fit");
            assertUntouched(guest, first[1], 256);
            final long[][] more = new long[3][];
            for (int i = 0; i < more.length; i++)
            {
                more[i] = rxBuffer(guest, 256);
            }
            assertEquals(256, guest.awaitUsed(0, (int)first[0]));
            final byte[] got = new byte[HEADER + frame.length];
            guest.memory.copyOut(first[1], got, 0, 256);
            int at = 256;
            for (int i = 0; at < got.length; i++)
            {
                final long used = guest.awaitUsed(0, (int)more[i][0]);
                guest.memory.copyOut(more[i][1], got, at, (int)used);
                at += (int)used;
            }
            assertEquals(got.length, at);
            assertEquals(4, (got[HEADER - 2] & 0xFF) | (got[HEADER - 1] & 0xFF) << 8, "num_buffers");
            assertArrayEquals(frame, Arrays.copyOfRange(got, HEADER, got.length));
            assertEquals(1, guest.count(NetCounter.RX_FRAMES));
            guest.checkHealthy();
        }
    }

    /** Liveness (CVE-2020-16843): frames wait while the RX queue is empty and flow on the driver's RX kicks. */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void rxQueueFullWhileHostHasData(final TransportKind kind)
    {
        try (NetGuest guest = new NetGuest(kind, PLAIN))
        {
            final byte[][] frames = {frame(64, 4), frame(65, 5), frame(66, 6)};
            for (final byte[] frame : frames)
            {
                guest.backend.offer(packet(frame));
            }
            guest.awaitCount(NetCounter.RX_NO_BUFFER, 1);
            assertEquals(2, guest.backend.waiting(), "one frame waits in the device, the rest stay in the backend");
            for (final byte[] frame : frames)
            {
                final long[] buffer = rxBuffer(guest, HEADER + 1514);
                assertEquals(HEADER + frame.length, guest.awaitUsed(0, (int)buffer[0]));
                assertArrayEquals(frame, read(guest, buffer[1] + HEADER, frame.length), "in order and intact");
            }
            guest.checkHealthy();
        }
    }
}
