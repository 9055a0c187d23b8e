package io.jvirtio.net.hostile;

import io.jvirtio.net.NetConfig;
import io.jvirtio.net.NetCounter;
import io.jvirtio.net.NetDevice;
import io.jvirtio.net.NetFeatures;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.queue.QueueCounter;
import io.jvirtio.virtio.testkit.HostHealth;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MQ;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_ERR;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_CTRL_VQ;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MQ;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MRG_RXBUF;
import static io.jvirtio.net.NetFeatures.bit;
import static io.jvirtio.net.hostile.NetGuest.HEADER;
import static io.jvirtio.net.hostile.NetGuest.frame;
import static io.jvirtio.net.hostile.NetGuest.header;
import static io.jvirtio.net.hostile.NetGuest.packet;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Regressions for the virtio-net rows of virtio-checklist §7, each reproducing the attack through the guest driver
 * and the exit path (virtio-pci) and asserting the lesson the table draws, then the host's health.
 */
class NetCveRegressionTest
{
    private static final long MERGEABLE = NetDevice.OFFERED_FEATURES;
    private static final long PLAIN = NetDevice.OFFERED_FEATURES & ~bit(VIRTIO_NET_F_MRG_RXBUF);

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

    /** A jumbo frame with neither mergeable nor big buffers: dropped, the buffer handed back unused. */
    @Test
    void cve_2015_7295_frameLargerThanRxBufferWithoutMergeableBuffers()
    {
        try (NetGuest guest = new NetGuest(TransportKind.PCI, PLAIN))
        {
            final long[] buffer = rxBuffer(guest, HEADER + 256);
            guest.backend.offer(packet(frame(1500, 1)));
            guest.awaitCount(NetCounter.RX_CHAIN_TOO_SMALL, 1);
            assertEquals(0, guest.rx.raw().usedIdx(), "the buffer is not consumed");
            final byte[] untouched = new byte[HEADER + 256];
            Arrays.fill(untouched, HostHealth.CANARY);
            assertArrayEquals(untouched, read(guest, buffer[1], untouched.length), "nor written");
            final byte[] next = frame(100, 2);
            guest.backend.offer(packet(next));
            assertEquals(HEADER + next.length, guest.awaitUsed(0, (int)buffer[0]), "the next frame gets the buffer");
            assertArrayEquals(next, read(guest, buffer[1] + HEADER, next.length));
            guest.checkHealthy();
        }
    }

    /** Backend and RX queue both full: every buffer the driver adds lets one frame through, with no backend event. */
    @Test
    void cve_2020_16843_rxQueueFullWhileBackendHasData()
    {
        try (NetGuest guest = new NetGuest(TransportKind.PCI, PLAIN))
        {
            final byte[][] frames = new byte[5][];
            for (int i = 0; i < frames.length; i++)
            {
                frames[i] = frame(64 + i, 10 * i);
                guest.backend.offer(packet(frames[i]));
            }
            guest.awaitCount(NetCounter.RX_NO_BUFFER, 1);
            for (final byte[] frame : frames)
            {
                final long[] buffer = rxBuffer(guest, HEADER + 1514);
                assertEquals(HEADER + frame.length, guest.awaitUsed(0, (int)buffer[0]));
                assertArrayEquals(frame, read(guest, buffer[1] + HEADER, frame.length));
            }
            guest.checkHealthy();
        }
    }

    /** num_buffers (part of the first buffer) is written before any buffer of the frame is marked used. */
    @Test
    void cve_2021_3748_numBuffersWrittenBeforeBuffersAreUsed()
    {
        try (NetGuest guest = new NetGuest(TransportKind.PCI, MERGEABLE))
        {
            for (int round = 0; round < 10; round++)
            {
                final long[][] buffers = {rxBuffer(guest, 512), rxBuffer(guest, 512), rxBuffer(guest, 512)};
                guest.backend.offer(packet(frame(1200, round)));
                guest.awaitUsed(0, (int)buffers[0][0]);
                final byte[] first = read(guest, buffers[0][1], HEADER);
                assertEquals(3, (first[HEADER - 2] & 0xFF) | (first[HEADER - 1] & 0xFF) << 8,
                    "num_buffers as soon as the first buffer is used: round=" + round);
                guest.awaitUsed(0, (int)buffers[1][0]);
                guest.awaitUsed(0, (int)buffers[2][0]);
            }
            guest.checkHealthy();
        }
    }

    /**
     * The header length follows from the negotiated features only: 12 bytes with VERSION_1 and MRG_RXBUF, as
     * HASH_REPORT (the 20-byte header whose size QEMU got wrong) is not offered; RX writes exactly header + frame.
     */
    @Test
    void cve_2023_6693_headerLengthFromNegotiatedFeatures()
    {
        try (NetGuest guest = new NetGuest(TransportKind.PCI, MERGEABLE))
        {
            assertFalse(guest.offered(NetFeatures.VIRTIO_NET_F_HASH_REPORT));
            assertTrue(NetFeatures.has(guest.features, VIRTIO_NET_F_MRG_RXBUF));
            final long[] buffer = rxBuffer(guest, 2048);
            final byte[] in = frame(200, 3);
            guest.backend.offer(packet(in));
            assertEquals(HEADER + in.length, guest.awaitUsed(0, (int)buffer[0]));
            assertArrayEquals(in, read(guest, buffer[1] + HEADER, in.length));
            assertEquals(HostHealth.CANARY, read(guest, buffer[1] + HEADER + in.length, 1)[0],
                "nothing written past header + frame");
            final byte[] out = frame(200, 4);
            guest.transmit(header(0, 0, 0, 0, 0, 0), out);
            guest.await(() -> !guest.backend.transmitted.isEmpty(), "the frame out");
            final byte[] sent = guest.backend.transmitted.peek();
            assertArrayEquals(out, Arrays.copyOfRange(sent, HEADER, sent.length), "TX reads a 12-byte header too");
            guest.checkHealthy();
        }
    }

    /** An RSS indirection table naming queues that do not exist: RSS is not offered, so it is refused whole. */
    @Test
    void cve_2024_6505_rssIndirectionEntryBeyondQueues()
    {
        try (NetGuest guest = new NetGuest(TransportKind.PCI, bit(VIRTIO_NET_F_CTRL_VQ) | bit(VIRTIO_NET_F_MQ),
            NetConfig.defaults().withQueueSize(NetGuest.QUEUE_SIZE).withQueuePairs(2)))
        {
            assertFalse(guest.offered(NetFeatures.VIRTIO_NET_F_RSS));
            final long[] answer = guest.command(1, new byte[] {VIRTIO_NET_CTRL_MQ, 1},
                ControlQueueBadInputTest.rssConfig(127, 0x7FFF, 0xFFFF, 40));
            assertEquals(VIRTIO_NET_ERR, answer[0]);
            assertEquals(1, guest.count(NetCounter.CTRL_UNSUPPORTED));
            assertEquals(1, guest.device.activeQueuePairs(), "steering is unchanged: pair 0 only");
            guest.checkHealthy();
        }
    }

    /**
     * A peer floods faster than the guest consumes (vhost_net's handle_rx loop): the device fills the buffers it has,
     * then waits with one frame staged and takes nothing more from the backend; its work is bounded by the ring.
     */
    @Test
    void cve_2019_3900_floodingPeerBoundedWorkPerWakeup()
    {
        try (NetGuest guest = new NetGuest(TransportKind.PCI, PLAIN))
        {
            final int flood = 4 * NetGuest.QUEUE_SIZE;
            for (int i = 0; i < flood; i++)
            {
                guest.backend.offer(packet(frame(60, i)));
            }
            final int posted = NetGuest.QUEUE_SIZE / 2;
            final long[][] buffers = new long[posted][];
            for (int i = 0; i < posted; i++)
            {
                buffers[i] = rxBuffer(guest, HEADER + 1514);
            }
            for (final long[] buffer : buffers)
            {
                assertEquals(HEADER + 60, guest.awaitUsed(0, (int)buffer[0]));
            }
            guest.awaitCount(NetCounter.RX_NO_BUFFER, 1);
            assertEquals(flood - posted - 1, guest.backend.waiting(), "one frame staged, the rest left to the backend");
            final long popped = guest.attached.core().queue(0).counters().get(QueueCounter.CHAINS_POPPED);
            assertTrue(popped <= 2L * posted, "the device did more work than the buffers it had: popped=" + popped);
            guest.backend.clear();
            assertEquals(HEADER + 60, guest.awaitUsed(0, (int)rxBuffer(guest, HEADER + 1514)[0]), "the staged one");
            guest.checkHealthy();
        }
    }
}
