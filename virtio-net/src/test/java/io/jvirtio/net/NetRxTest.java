package io.jvirtio.net;

import io.jvirtio.net.driver.NetQueuePairDriver;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicInteger;

import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_GUEST_CSUM;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_GUEST_TSO4;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MRG_RXBUF;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MTU;
import static io.jvirtio.net.NetFeatures.bit;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_F_DATA_VALID;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_F_NEEDS_CSUM;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_TCPV4;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_TCPV6;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The receive path of one queue pair, driven on the test thread: checklist item 23 and the net RX entries of the
 * bad-input list (chains too small, no writable part, queue empty mid-packet, queue full while the host has data).
 */
class NetRxTest
{
    private static final int MTU = 1500;
    private static final int QUEUE_SIZE = 64;

    private final RecordingBackend backend = new RecordingBackend();
    private final NetCounters counters = new NetCounters();
    private final AtomicInteger activePairs = new AtomicInteger(1);
    private final MemorySegment received = MemorySegment.ofArray(new byte[70_000]);
    private NetRig rig;
    private NetQueuePair pair;
    private SplitQueueDriver rx;

    private void setUp(final long features)
    {
        rig = new NetRig(2, QUEUE_SIZE, features);
        rx = rig.drivers[0];
        pair = new NetQueuePair(0, rig.queues[0], rig.queues[1], features, MTU, backend, counters, rig.interrupt,
            activePairs, null, -1, rig.host);
    }

    @AfterEach
    void tearDown()
    {
        rig.close();
    }

    private long postRx(final int length)
    {
        final long gpa = rig.alloc(length, 8);
        rx.post(new long[] {gpa}, new long[] {length}, 0, 1);
        rx.publish();
        return gpa;
    }

    private static byte[] expectedFrame(final int length, final int seed)
    {
        final byte[] f = new byte[length];
        for (int i = 0; i < length; i++)
        {
            f[i] = (byte)(seed + i * 7);
        }
        return f;
    }

    private byte[] guestBytes(final long gpa, final int length)
    {
        final byte[] b = new byte[length];
        rig.memory.copyOut(gpa, b, 0, length);
        return b;
    }

    @Test
    void shouldWriteFrameIntoOneChainWithNumBuffersOneWithoutMrgRxbuf()
    {
        setUp(bit(VIRTIO_NET_F_MTU));
        final long buf = postRx(1526);
        backend.offer(1514, 0, 0, 5);
        pair.process(0, 64);
        assertEquals(0, rx.reap());
        assertEquals(12 + 1514, rx.reapedLength());
        final NetHeader h = new NetHeader().wrap(MemorySegment.ofArray(guestBytes(buf, 12)), 0);
        assertEquals(1, h.numBuffers());
        assertArrayEquals(expectedFrame(1514, 5), guestBytes(buf + 12, 1514));
        assertEquals(1, counters.get(NetCounter.RX_FRAMES));
        assertEquals(1, rig.interrupt.queueSignals.get(0));
    }

    @Test
    void shouldDropFrameAndKeepChainWhenChainTooSmallWithoutMrgRxbuf()
    {
        setUp(bit(VIRTIO_NET_F_MTU));
        postRx(100);
        backend.offer(200, 0, 0, 1);
        backend.offer(80, 0, 0, 2);
        pair.process(0, 64);
        assertEquals(1, counters.get(NetCounter.RX_CHAIN_TOO_SMALL));
        assertEquals(0, rx.reap(), "the same chain took the next frame");
        assertEquals(92, rx.reapedLength());
        assertEquals(1, counters.get(NetCounter.RX_FRAMES));
    }

    @Test
    void shouldCompleteWithZeroAndSkipChainThatCannotHoldHeader()
    {
        setUp(0);
        final long gpa = rig.alloc(16, 8);
        rx.post(new long[] {rig.put(new byte[4]), gpa}, new long[] {4, 11}, 1, 1);
        rx.post(new long[] {rig.put(new byte[4])}, new long[] {4}, 1, 0);
        rx.publish();
        postRx(200);
        backend.offer(60, 0, 0, 3);
        pair.process(0, 64);
        assertEquals(2, counters.get(NetCounter.RX_CHAIN_UNUSABLE), "11 writable bytes, and none");
        final int first = rx.reap();
        assertEquals(0, rx.reapedLength());
        rx.reap();
        assertEquals(0, rx.reapedLength());
        rx.reap();
        assertEquals(72, rx.reapedLength());
        assertTrue(first >= 0);
    }

    @Test
    void shouldKeepFrameWaitingWithoutPullingMoreWhenNoRxBufferThenDeliverAfterRxKick()
    {
        setUp(0);
        backend.offer(60, 0, 0, 1);
        backend.offer(61, 0, 0, 2);
        assertFalse(pair.process(0, 64), "nothing to do until the driver adds buffers");
        assertTrue(pair.hasPendingRx());
        assertEquals(1, counters.get(NetCounter.RX_NO_BUFFER));
        assertEquals(1, backend.toReceive.size(), "the second frame stays in the backend");
        postRx(200);
        assertTrue(rx.needsKick(), "the device asked for a kick while the frame waits");
        pair.process(0, 64);
        assertEquals(72, rxReapLength());
        pair.process(0, 64);
        postRx(200);
        pair.process(0, 64);
        assertEquals(73, rxReapLength());
        assertEquals(2, counters.get(NetCounter.RX_FRAMES));
        assertEquals(0, backend.toReceive.size());
    }

    private long rxReapLength()
    {
        assertTrue(rx.reap() >= 0, "a used RX chain");
        return rx.reapedLength();
    }

    @Test
    void shouldSpreadFrameOverMergeableBuffersAndSetNumBuffers()
    {
        setUp(bit(VIRTIO_NET_F_MRG_RXBUF));
        final long[] bufs = {postRx(1000), postRx(1000), postRx(1000), postRx(1000)};
        backend.offer(2500, 0, 0, 4);
        pair.process(0, 64);
        final long[] lens = new long[3];
        for (int i = 0; i < 3; i++)
        {
            assertEquals(i, rx.reap());
            lens[i] = rx.reapedLength();
        }
        assertEquals(SplitQueueDriver.NOTHING_USED, rx.reap(), "the fourth buffer is not used");
        assertArrayEquals(new long[] {1000, 1000, 512}, lens, "all but the last filled completely");
        assertEquals(3, new NetHeader().wrap(MemorySegment.ofArray(guestBytes(bufs[0], 12)), 0).numBuffers());
        final byte[] joined = new byte[2500];
        rig.memory.copyOut(bufs[0] + 12, joined, 0, 988);
        rig.memory.copyOut(bufs[1], joined, 988, 1000);
        rig.memory.copyOut(bufs[2], joined, 1988, 512);
        assertArrayEquals(expectedFrame(2500, 4), joined);
    }

    @Test
    void shouldKeepBuffersUnusedAndWaitWhenQueueRunsDryMidPacketWithMrgRxbuf()
    {
        setUp(bit(VIRTIO_NET_F_MRG_RXBUF));
        postRx(1000);
        postRx(1000);
        backend.offer(2500, 0, 0, 4);
        pair.process(0, 64);
        assertEquals(SplitQueueDriver.NOTHING_USED, rx.reap(), "nothing half-consumed");
        assertEquals(1, counters.get(NetCounter.RX_NO_BUFFER));
        assertEquals(2, rig.queues[0].inFlight(), "both buffers are kept for the frame, unwritten and unused");
        postRx(1000);
        pair.process(0, 64);
        assertEquals(0, rx.reap());
        assertEquals(1, rx.reap());
        assertEquals(2, rx.reap());
        assertEquals(1, counters.get(NetCounter.RX_FRAMES));
    }

    @Test
    void shouldDropFrameNeedingMoreThanMaxMergedBuffers()
    {
        setUp(bit(VIRTIO_NET_F_MRG_RXBUF));
        for (int i = 0; i < QUEUE_SIZE; i++)
        {
            postRx(16);
        }
        backend.offer(16 * NetQueuePair.MAX_MERGED_BUFFERS, 0, 0, 1);
        backend.offer(10, 0, 0, 1);
        pair.process(0, 64);
        assertEquals(1, counters.get(NetCounter.RX_MERGE_LIMIT));
        assertEquals(0, rx.reap(), "the next frame got the first buffers back");
        assertEquals(16, rx.reapedLength());
        assertEquals(1, rx.reap());
        assertEquals(6, rx.reapedLength());
    }

    @Test
    void shouldReassembleMergedFramesThroughGuestDriver()
    {
        setUp(bit(VIRTIO_NET_F_MRG_RXBUF));
        final NetQueuePairDriver driver = rig.pairDriver(0, 256, 2048, true);
        driver.fillRx();
        final int[] sizes = {1, 244, 245, 1000, 9000};
        for (int i = 0; i < sizes.length; i++)
        {
            backend.offer(sizes[i], 0, 0, i);
        }
        pair.process(0, 64);
        for (int i = 0; i < sizes.length; i++)
        {
            final int n = driver.receive(received, 0);
            assertEquals(sizes[i], n);
            assertArrayEquals(expectedFrame(sizes[i], i),
                received.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
        }
        assertEquals(NetQueuePairDriver.NO_FRAME, driver.receive(received, 0));
    }

    @Test
    void shouldDropAndCountFrameOverMtuWhenMtuNegotiated()
    {
        setUp(bit(VIRTIO_NET_F_MTU));
        postRx(4000);
        backend.offer(MTU + 15, 0, 0, 1);
        backend.offer(MTU + 14, 0, 0, 1);
        pair.process(0, 64);
        assertEquals(1, counters.get(NetCounter.RX_FRAME_OVER_MTU));
        assertEquals(1, counters.get(NetCounter.RX_FRAMES));
    }

    @Test
    void shouldDropGsoFramesTheGuestDidNotNegotiateAndClearFlagsWithoutGuestCsum()
    {
        setUp(0);
        final long buf = postRx(200);
        backend.offer(100, 0, VIRTIO_NET_HDR_GSO_TCPV4, 1);
        backend.offer(100, VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID, 0, 2);
        pair.process(0, 64);
        assertEquals(1, counters.get(NetCounter.RX_GSO_NOT_NEGOTIATED));
        assertEquals(0, rx.reap());
        assertEquals(0, guestBytes(buf, 1)[0], "flags are 0 without GUEST_CSUM");
    }

    @Test
    void shouldCarryChecksumAndGsoMetadataToGuestWhenNegotiated()
    {
        setUp(bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_GUEST_TSO4));
        final long buf = postRx(70_000);
        backend.offer(30_000, VIRTIO_NET_HDR_F_NEEDS_CSUM | 0x40, VIRTIO_NET_HDR_GSO_TCPV4, 1);
        backend.offer(100, 0, VIRTIO_NET_HDR_GSO_TCPV6, 1);
        pair.process(0, 64);
        final byte[] h = guestBytes(buf, 12);
        assertEquals(VIRTIO_NET_HDR_F_NEEDS_CSUM, h[0], "known flags kept, unknown cleared");
        assertEquals(VIRTIO_NET_HDR_GSO_TCPV4, h[1]);
        assertEquals(1, counters.get(NetCounter.RX_GSO_NOT_NEGOTIATED), "TCPv6 without GUEST_TSO6");
    }

    @Test
    void shouldDropGsoFrameWithoutNeedsCsumOrGsoSize()
    {
        setUp(bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_GUEST_TSO4));
        postRx(70_000);
        backend.offer(3000, 0, VIRTIO_NET_HDR_GSO_TCPV4, 1);
        backend.offer(3000, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1);
        backend.toReceive.peekLast()[NetHeaderLayout.GSO_SIZE_OFFSET] = 0;
        backend.toReceive.peekLast()[NetHeaderLayout.GSO_SIZE_OFFSET + 1] = 0;
        pair.process(0, 64);
        assertEquals(2, counters.get(NetCounter.RX_GSO_INCONSISTENT));
        assertEquals(SplitQueueDriver.NOTHING_USED, rx.reap());
    }

    @Test
    void shouldStopWithoutThrowingWhenRxRingIsBrokenAndDropWaitingFrame()
    {
        setUp(0);
        backend.offer(60, 0, 0, 1);
        rx.raw().availIdx(QUEUE_SIZE + 1);
        assertFalse(pair.process(0, 64));
        assertTrue(rig.queues[0].isBroken());
        assertFalse(pair.hasPendingRx());
        assertEquals(0, counters.get(NetCounter.RX_FRAMES));
        assertEquals(1, counters.get(NetCounter.QUEUES_BROKEN));
        assertEquals(1, rig.host.needsReset.get());
    }

    @Test
    void shouldNotPullFromBackendForPairBeyondActivePairs()
    {
        rig = new NetRig(2, QUEUE_SIZE, 0);
        rx = rig.drivers[0];
        pair = new NetQueuePair(1, rig.queues[0], rig.queues[1], 0, MTU, backend, counters, rig.interrupt,
            activePairs, null, -1, rig.host);
        postRx(200);
        backend.offer(60, 0, 0, 1);
        pair.process(2, 64);
        assertEquals(0, backend.receiveCalls);
        activePairs.set(2);
        pair.process(2, 64);
        assertEquals(1, counters.get(NetCounter.RX_FRAMES));
    }

    @Test
    void shouldStopAtBudgetAndReportMoreWork()
    {
        setUp(0);
        for (int i = 0; i < 10; i++)
        {
            postRx(100);
            backend.offer(50, 0, 0, i);
        }
        assertTrue(pair.process(0, 4));
        assertEquals(4, counters.get(NetCounter.RX_FRAMES));
        pair.process(0, 4);
        assertFalse(pair.process(0, 4), "two left, then the backend is empty");
        assertEquals(10, counters.get(NetCounter.RX_FRAMES));
    }
}
