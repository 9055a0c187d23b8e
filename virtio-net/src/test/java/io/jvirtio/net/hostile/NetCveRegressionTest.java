package io.jvirtio.net.hostile;

import io.jvirtio.net.NetConfig;
import io.jvirtio.net.NetCounter;
import io.jvirtio.net.NetDevice;
import io.jvirtio.net.NetFeatures;
import io.jvirtio.net.backend.EchoBackend;
import io.jvirtio.net.backend.UdpBackend;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.queue.QueueCounter;
import io.jvirtio.virtio.testkit.HostHealth;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.Arrays;

import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MQ;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_ERR;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_CTRL_VQ;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MQ;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MRG_RXBUF;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MTU;
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
    /** The device's frame limit without MTU (NetCounter.TX_FRAME_TOO_LARGE): 64 KiB plus an Ethernet header. */
    private static final int MAX_FRAME = 65_550;
    /** Bytes an echo ring record of a 1514-byte frame takes: length word, header, frame, 4-byte aligned. */
    private static final int ECHO_RECORD = (Integer.BYTES + HEADER + 1514 + 3) & ~3;

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

    /** Transmits {@code count} frames of {@code length} bytes, each waited for: the device has passed each on. */
    private static void transmitFrames(final NetGuest guest, final int count, final int length)
    {
        // bound: the count the test gives
        for (int i = 0; i < count; i++)
        {
            assertEquals(0, guest.transmit(header(0, 0, 0, 0, 0, 0), frame(length, i)));
        }
    }

    /** Takes the backend away and lets the frame the device staged for RX out into one buffer. @return the frame. */
    private static byte[] drainStaged(final NetGuest guest, final int length)
    {
        guest.backend.behind(null);
        final long[] buffer = rxBuffer(guest, HEADER + 1514);
        assertEquals(HEADER + length, guest.awaitUsed(0, (int)buffer[0]), "the one frame the device staged");
        return read(guest, buffer[1] + HEADER, length);
    }

    /**
     * Every copy is bounded by the buffer it goes into. A TX frame one byte over the device's frame limit, spread
     * over descriptors, is dropped and counted before any byte is copied into the device's staging buffer (the frame
     * at the limit still goes through); a frame larger than the echo backend's whole ring is dropped and counted by
     * the backend instead of being copied past the ring.
     */
    @Test
    void cve_2024_7730_framesLargerThanAnyBufferDroppedAndCounted()
    {
        // without MTU the device's limit is its staging buffer's, 64 KiB plus an Ethernet header
        try (NetGuest guest = new NetGuest(TransportKind.PCI, PLAIN & ~bit(VIRTIO_NET_F_MTU)))
        {
            final byte[] over = frame(MAX_FRAME + 1, 5);
            final int third = over.length / 3;
            final long sent = guest.backend.transmitted.size();
            assertEquals(0, guest.transmit(header(0, 0, 0, 0, 0, 0), Arrays.copyOfRange(over, 0, third),
                Arrays.copyOfRange(over, third, 2 * third), Arrays.copyOfRange(over, 2 * third, over.length)));
            assertEquals(1, guest.count(NetCounter.TX_FRAME_TOO_LARGE));
            assertEquals(sent, guest.backend.transmitted.size(), "nothing reached the backend");
            final byte[] limit = frame(MAX_FRAME, 6);
            guest.transmit(header(0, 0, 0, 0, 0, 0), limit);
            final byte[] out = guest.backend.transmitted.stream().skip(sent).findFirst().orElseThrow();
            assertArrayEquals(limit, Arrays.copyOfRange(out, HEADER, out.length), "the frame at the limit");

            final EchoBackend echo = new EchoBackend(65_536 + 16, false);
            guest.backend.behind(echo);
            transmitFrames(guest, 1, MAX_FRAME);
            assertEquals(1, echo.dropped(), "a frame larger than the whole ring is the backend's to drop");
            assertEquals(0, echo.echoed());
            transmitFrames(guest, 1, 1000);
            assertEquals(1, echo.echoed(), "the ring still takes what fits");
            assertArrayEquals(frame(1000, 0), drainStaged(guest, 1000));
            assertEquals(1, guest.count(NetCounter.TX_FRAME_TOO_LARGE));
            guest.checkHealthy();
        }
    }

    /**
     * Every host-side buffer fed by the guest has a cap: a guest that transmits to the echo backend and never posts
     * an RX buffer fills the echo's ring, then every further frame is dropped and counted; the device stages one
     * frame and takes nothing more.
     */
    @Test
    void cve_2020_27174_echoRingBoundedWhenGuestNeverPostsRxBuffers()
    {
        try (NetGuest guest = new NetGuest(TransportKind.PCI, PLAIN))
        {
            final int ringBytes = 2 * (65_536 + 16);
            final EchoBackend echo = new EchoBackend(ringBytes, false);
            guest.backend.behind(echo);
            final int frames = 300;
            transmitFrames(guest, frames, 1514);
            // the guest gave the TX queue this many chains, plus the health check's follow-up traffic
            guest.health.popBound(frames + 2L * NetGuest.QUEUE_SIZE);
            assertEquals(frames, echo.echoed() + echo.dropped(), "every frame is either queued or dropped");
            assertTrue(echo.echoed() <= ringBytes / ECHO_RECORD + 1,
                "the ring holds what its bytes hold, plus the one the device staged: echoed=" + echo.echoed());
            assertTrue(echo.dropped() >= frames - ringBytes / ECHO_RECORD - 1, "dropped=" + echo.dropped());
            assertTrue(guest.count(NetCounter.RX_NO_BUFFER) >= 1);
            assertEquals(0, guest.count(NetCounter.RX_FRAMES));
            assertArrayEquals(frame(1514, 0), drainStaged(guest, 1514), "the first frame echoed");
            guest.checkHealthy();
        }
    }

    /**
     * The same cap on the UDP backend's receive ring: the guest transmits to the backend's own socket and never
     * posts an RX buffer; the ring holds its slots, every further datagram is dropped and counted.
     */
    @Test
    void cve_2020_27174_udpRingBoundedWhenGuestNeverPostsRxBuffers()
    {
        final int slots = 8;
        try (NetGuest guest = new NetGuest(TransportKind.PCI, PLAIN);
            UdpBackend udp = new UdpBackend(new InetSocketAddress("127.0.0.1", 0), null, slots,
                UdpBackend.DEFAULT_SLOT_BYTES))
        {
            udp.remote(udp.localAddress());
            guest.backend.behind(udp);
            final int frames = 40;
            transmitFrames(guest, frames, 100);
            guest.await(() -> udp.sent() + udp.txDropped() == frames, "every frame handed to the socket");
            guest.await(() -> udp.received() + udp.rxDropped() == udp.sent(), "every datagram received or dropped");
            assertTrue(udp.received() <= slots + 1,
                "the ring holds its slots, plus the one the device staged: received=" + udp.received());
            assertTrue(udp.rxDropped() >= udp.sent() - slots - 1, "dropped=" + udp.rxDropped());
            assertEquals(0, guest.count(NetCounter.RX_FRAMES));
            assertEquals(100, drainStaged(guest, 100).length);
            guest.checkHealthy();
        }
    }
}
