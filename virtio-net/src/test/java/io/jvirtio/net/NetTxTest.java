package io.jvirtio.net;

import io.jvirtio.virtio.queue.SplitQueueDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_CSUM;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_HOST_TSO4;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MTU;
import static io.jvirtio.net.NetFeatures.bit;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_F_NEEDS_CSUM;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_ECN;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_TCPV4;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_TCPV6;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_UDP;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The transmit path of one queue pair, driven on the test thread: checklist item 22 and the virtio-net TX entries of
 * the bad-input list. Every chain must come back used with length 0, and every drop must be counted.
 */
class NetTxTest
{
    private static final int MTU = 1500;
    private static final long BASE = bit(VIRTIO_NET_F_MTU);

    private final RecordingBackend backend = new RecordingBackend();
    private final NetCounters counters = new NetCounters();
    private NetRig rig;
    private NetQueuePair pair;

    private void setUp(final long features)
    {
        rig = new NetRig(2, 64, features);
        pair = new NetQueuePair(0, rig.queues[0], rig.queues[1], features, MTU, backend, counters, rig.interrupt,
            new AtomicInteger(1), null, -1, rig.host);
    }

    @AfterEach
    void tearDown()
    {
        rig.close();
    }

    static byte[] header(final int flags, final int gsoType, final int hdrLen, final int gsoSize, final int csumStart,
        final int csumOffset, final int numBuffers)
    {
        final byte[] h = new byte[NetHeaderLayout.LENGTH];
        h[0] = (byte)flags;
        h[1] = (byte)gsoType;
        final int[] fields = {hdrLen, gsoSize, csumStart, csumOffset, numBuffers};
        for (int i = 0; i < fields.length; i++)
        {
            h[2 + 2 * i] = (byte)fields[i];
            h[3 + 2 * i] = (byte)(fields[i] >>> 8);
        }
        return h;
    }

    static byte[] frame(final int length, final int seed)
    {
        final byte[] f = new byte[length];
        for (int i = 0; i < length; i++)
        {
            f[i] = (byte)(seed + 31 * i);
        }
        return f;
    }

    /** Posts header and frame as two readable descriptors, runs TX, and asserts the chain came back with len 0. */
    private void sendAndProcess(final byte[] header, final byte[] frame)
    {
        final SplitQueueDriver driver = rig.drivers[1];
        final long[] addrs = {rig.put(header), rig.put(frame)};
        final long[] lens = {header.length, frame.length};
        final int head = driver.post(addrs, lens, frame.length == 0 ? 1 : 2, 0);
        driver.publish();
        pair.process(1, 64);
        assertEquals(head, driver.reap(), "chain used");
        assertEquals(0, driver.reapedLength(), "TX used length is 0");
    }

    private static byte[] packet(final byte[] header, final byte[] frame)
    {
        final byte[] p = Arrays.copyOf(header, header.length + frame.length);
        System.arraycopy(frame, 0, p, header.length, frame.length);
        return p;
    }

    @Test
    void shouldHandFrameAndHeaderToBackendByteForByte()
    {
        setUp(BASE | bit(VIRTIO_NET_F_CSUM));
        final byte[] h = header(VIRTIO_NET_HDR_F_NEEDS_CSUM | 0x40, 0, 54, 0, 34, 16, 0);
        final byte[] f = frame(1514, 3);
        sendAndProcess(h, f);
        assertEquals(1, backend.transmitted.size());
        assertArrayEquals(packet(h, f), backend.transmitted.get(0), "metadata and unknown flags carried through");
        assertEquals(1, counters.get(NetCounter.TX_FRAMES));
        assertEquals(1514, counters.get(NetCounter.TX_BYTES));
        assertEquals(1, rig.interrupt.queueSignals.get(1), "used buffer notification for the TX queue");
    }

    @Test
    void shouldReadHeaderSplitAcrossOneByteDescriptors()
    {
        setUp(BASE);
        final byte[] h = header(0, 0, 0, 0, 0, 0, 0);
        final byte[] f = frame(60, 9);
        final byte[] p = packet(h, f);
        final long[] addrs = new long[13];
        final long[] lens = new long[13];
        for (int i = 0; i < 12; i++)
        {
            addrs[i] = rig.put(new byte[] {p[i]});
            lens[i] = 1;
        }
        addrs[12] = rig.put(f);
        lens[12] = f.length;
        rig.drivers[1].post(addrs, lens, 13, 0);
        rig.drivers[1].publish();
        pair.process(1, 64);
        assertArrayEquals(p, backend.transmitted.get(0));
    }

    @Test
    void shouldDropAndCountWhenHeaderShorterThanTwelveBytes()
    {
        setUp(BASE);
        sendAndProcess(new byte[11], new byte[0]);
        assertEquals(0, backend.transmitted.size());
        assertEquals(1, counters.get(NetCounter.TX_HEADER_TOO_SHORT));
    }

    @Test
    void shouldDropAndCountWhenFrameExceedsMtuPlusEthernetHeader()
    {
        setUp(BASE);
        sendAndProcess(header(0, 0, 0, 0, 0, 0, 0), frame(MTU + 15, 1));
        sendAndProcess(header(0, 0, 0, 0, 0, 0, 0), frame(MTU + 14, 1));
        assertEquals(1, backend.transmitted.size(), "mtu + 14 passes, one byte more does not");
        assertEquals(1, counters.get(NetCounter.TX_FRAME_TOO_LARGE));
    }

    @Test
    void shouldDropAndCountWhenFrameExceedsSixtyFourKibEvenWithGso()
    {
        setUp(BASE | bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_HOST_TSO4));
        sendAndProcess(header(0, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448, 0, 0, 0), frame(NetQueuePair.MAX_FRAME + 1, 0));
        sendAndProcess(header(0, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448, 0, 0, 0), frame(NetQueuePair.MAX_FRAME, 0));
        assertEquals(1, backend.transmitted.size(), "a 64 KiB GSO frame passes unsegmented");
        assertEquals(NetQueuePair.MAX_FRAME + 12, backend.transmitted.get(0).length);
        assertEquals(1, counters.get(NetCounter.TX_FRAME_TOO_LARGE));
    }

    @Test
    void shouldDropAndCountGsoTypesWhoseHostFeatureWasNotNegotiated()
    {
        setUp(BASE | bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_HOST_TSO4));
        sendAndProcess(header(0, VIRTIO_NET_HDR_GSO_TCPV6, 54, 1448, 0, 0, 0), frame(100, 0));
        sendAndProcess(header(0, VIRTIO_NET_HDR_GSO_UDP, 42, 1448, 0, 0, 0), frame(100, 0));
        sendAndProcess(header(0, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 54, 1448, 0, 0, 0),
            frame(100, 0));
        sendAndProcess(header(0, 0x21, 54, 1448, 0, 0, 0), frame(100, 0));
        assertEquals(0, backend.transmitted.size());
        assertEquals(4, counters.get(NetCounter.TX_GSO_NOT_NEGOTIATED));
    }

    @Test
    void shouldDropAndCountGsoWithZeroGsoSize()
    {
        setUp(BASE | bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_HOST_TSO4));
        sendAndProcess(header(0, VIRTIO_NET_HDR_GSO_TCPV4, 54, 0, 0, 0, 0), frame(3000, 0));
        assertEquals(0, backend.transmitted.size());
        assertEquals(1, counters.get(NetCounter.TX_GSO_SIZE_ZERO));
    }

    @Test
    void shouldDropAndCountChecksumOffsetPastEndOfFrame()
    {
        setUp(BASE | bit(VIRTIO_NET_F_CSUM));
        sendAndProcess(header(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 90, 9, 0), frame(100, 0));
        sendAndProcess(header(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 0xFFFF, 0xFFFF, 0), frame(100, 0));
        sendAndProcess(header(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 90, 8, 0), frame(100, 0));
        assertEquals(1, backend.transmitted.size(), "csum field ending exactly at the frame end passes");
        assertEquals(2, counters.get(NetCounter.TX_CSUM_OUT_OF_FRAME));
    }

    @Test
    void shouldDropAndCountNeedsCsumWithoutCsumFeature()
    {
        setUp(BASE);
        sendAndProcess(header(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 14, 16, 0), frame(100, 0));
        assertEquals(0, backend.transmitted.size());
        assertEquals(1, counters.get(NetCounter.TX_CSUM_NOT_NEGOTIATED));
    }

    @Test
    void shouldIgnoreNonZeroNumBuffersAndCountIt()
    {
        setUp(BASE);
        sendAndProcess(header(0, 0, 0, 0, 0, 0, 7), frame(100, 0));
        assertEquals(1, backend.transmitted.size());
        assertEquals(0, backend.transmitted.get(0)[NetHeaderLayout.NUM_BUFFERS_OFFSET], "num_buffers cleared");
        assertEquals(1, counters.get(NetCounter.TX_NUM_BUFFERS_NONZERO));
    }

    @Test
    void shouldCarryHdrLenBeyondFrameAsHintAndCountIt()
    {
        setUp(BASE);
        sendAndProcess(header(0, 0, 400, 0, 0, 0, 0), frame(100, 0));
        assertEquals(1, backend.transmitted.size());
        assertEquals(1, counters.get(NetCounter.TX_HDR_LEN_BEYOND_FRAME));
    }

    @Test
    void shouldStopWithoutThrowingWhenTxRingIsBroken()
    {
        setUp(BASE);
        rig.drivers[1].raw().availIdx(65);
        assertEquals(false, pair.process(1, 64));
        assertEquals(true, rig.queues[1].isBroken());
        assertEquals(0, backend.transmitted.size());
        pair.process(1, 64);
        assertEquals(1, counters.get(NetCounter.QUEUES_BROKEN));
        assertEquals(1, rig.host.needsReset.get(), "needs-reset told to the transport once");
    }

    @Test
    void shouldCompleteEveryChainWithinBudgetAndReportMoreWork()
    {
        setUp(BASE);
        final SplitQueueDriver driver = rig.drivers[1];
        final long hdr = rig.put(header(0, 0, 0, 0, 0, 0, 0));
        final long frm = rig.put(frame(60, 0));
        for (int i = 0; i < 10; i++)
        {
            driver.post(new long[] {hdr, frm}, new long[] {12, 60}, 2, 0);
        }
        driver.publish();
        assertEquals(true, pair.process(1, 4), "budget of 4 leaves work");
        assertEquals(4, backend.transmitted.size());
        pair.process(1, 4);
        pair.process(1, 4);
        assertEquals(10, backend.transmitted.size());
    }
}
