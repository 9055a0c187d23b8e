package io.jvirtio.net;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jvirtio.bus.testing.FuzzInput;
import io.jvirtio.bus.testing.FuzzSeeds;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.queue.UsedRingLayout;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_CSUM;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_HOST_TSO4;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_HOST_TSO6;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MTU;
import static io.jvirtio.net.NetFeatures.bit;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_F_NEEDS_CSUM;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_ECN;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_NONE;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_TCPV4;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_TCPV6;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_UDP;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_UDP_L4;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Coverage-guided fuzzing of the virtio-net transmit path (§5.1.6.2, checklist item 22): a few packets per input,
 * each a {@code virtio_net_hdr} with arbitrary flags, gso_type, hdr_len, gso_size, csum_start, csum_offset and
 * num_buffers (or a header cut short) and a frame of any length up to past the 64 KiB limit, cut into up to six
 * readable descriptors at arbitrary points, sometimes followed by a writable one; the negotiated CSUM, HOST_TSO4,
 * HOST_TSO6 and MTU features vary per input.
 * <p>
 * Invariants per packet: nothing throws; the chain is completed exactly once, with used length 0; the frame reaches
 * the backend exactly when {@link #valid} says the header is valid for the negotiated features and the frame within
 * bounds, and then byte for byte with num_buffers cleared and TX_FRAMES counted; otherwise nothing reaches the
 * backend and exactly one TX drop counter moves; guest RAM outside the two used rings is never written.
 * <p>
 * Seeds live in {@code NetTxFuzzTestInputs/packets}, written by {@link #seeds()}. Thread safety: JUnit's thread only.
 */
class NetTxFuzzTest
{
    private static final int MTU = 1500;
    private static final int QUEUE_SIZE = 16;
    /** Bound on the packets one input sends. */
    private static final int MAX_PACKETS = 4;
    /** Bound on a chain's readable descriptors. */
    private static final int MAX_PARTS = 6;
    private static final int HEADER = NetHeaderLayout.LENGTH;
    private static final int SMALL_FIELD = 128;
    private static final int SMALL_FRAME = 1600;
    private static final int LARGEST_FRAME = NetQueuePair.MAX_FRAME + 32;
    private static final int[] GSO_TYPES = {VIRTIO_NET_HDR_GSO_NONE, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_UDP,
        VIRTIO_NET_HDR_GSO_TCPV6, VIRTIO_NET_HDR_GSO_UDP_L4, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN};
    private static final NetCounter[] DROPS = {NetCounter.TX_HEADER_TOO_SHORT, NetCounter.TX_FRAME_TOO_LARGE,
        NetCounter.TX_GSO_NOT_NEGOTIATED, NetCounter.TX_GSO_SIZE_ZERO, NetCounter.TX_CSUM_NOT_NEGOTIATED,
        NetCounter.TX_CSUM_OUT_OF_FRAME};
    private static final byte WRITABLE_SENTINEL = 0x5A;

    @FuzzTest(maxDuration = "0s", maxExecutions = 10_000)
    void packets(final FuzzedDataProvider data)
    {
        final long features = (data.consumeBoolean() ? bit(VIRTIO_NET_F_CSUM) : 0)
            | (data.consumeBoolean() ? bit(VIRTIO_NET_F_HOST_TSO4) : 0)
            | (data.consumeBoolean() ? bit(VIRTIO_NET_F_HOST_TSO6) : 0)
            | (data.consumeBoolean() ? bit(VIRTIO_NET_F_MTU) : 0);
        final RecordingBackend backend = new RecordingBackend();
        final NetCounters counters = new NetCounters();
        try (NetRig rig = new NetRig(2, QUEUE_SIZE, features))
        {
            final NetQueuePair pair = new NetQueuePair(0, rig.queues[0], rig.queues[1], features, MTU, backend,
                counters, rig.interrupt, new AtomicInteger(1), null, -1, rig.host);
            for (int n = 0; n < MAX_PACKETS && data.remainingBytes() > 0; n++)
            {
                send(data, rig, pair, backend, counters, features);
            }
        }
    }

    private static void send(final FuzzedDataProvider data, final NetRig rig, final NetQueuePair pair,
        final RecordingBackend backend, final NetCounters counters, final long features)
    {
        final int headerBytes = data.consumeBoolean() ? HEADER : data.consumeInt(0, HEADER - 1);
        final int flags = data.consumeInt(0, 0xFF);
        final int gsoType = data.consumeBoolean() ? GSO_TYPES[data.consumeInt(0, GSO_TYPES.length - 1)]
            : data.consumeInt(0, 0xFF);
        final int[] fields = new int[5];
        for (int i = 0; i < fields.length; i++)
        {
            fields[i] = data.consumeBoolean() ? data.consumeInt(0, SMALL_FIELD) : data.consumeInt(0, 0xFFFF);
        }
        final int frameLength = data.consumeBoolean() ? data.consumeInt(0, SMALL_FRAME)
            : data.consumeInt(0, LARGEST_FRAME);
        final int parts = data.consumeInt(1, MAX_PARTS);
        final int[] cuts = new int[parts + 1];
        final byte[] packet = packet(headerBytes, flags, gsoType, fields, frameLength);
        for (int i = 1; i < parts; i++)
        {
            cuts[i] = data.consumeInt(0, packet.length);
        }
        cuts[parts] = packet.length;
        Arrays.sort(cuts, 1, parts);
        final boolean writableTail = data.consumeBoolean();

        final long[] addrs = new long[parts + 1];
        final long[] lens = new long[parts + 1];
        for (int i = 0; i < parts; i++)
        {
            final byte[] part = Arrays.copyOfRange(packet, cuts[i], cuts[i + 1]);
            addrs[i] = rig.put(part);
            lens[i] = part.length;
        }
        final int writable = writableTail ? 1 : 0;
        if (writableTail)
        {
            addrs[parts] = rig.put(new byte[] {WRITABLE_SENTINEL, WRITABLE_SENTINEL});
            lens[parts] = 2;
        }
        final SplitQueueDriver driver = rig.drivers[1];
        final int head = driver.post(Arrays.copyOf(addrs, parts + writable), Arrays.copyOf(lens, parts + writable),
            parts, writable);
        driver.publish();
        final long end = rig.alloc(0, 8);
        final byte[] ramBefore = new byte[(int)end];
        rig.memory.copyOut(0, ramBefore, 0, ramBefore.length);
        final int sentBefore = backend.transmitted.size();
        final long framesBefore = counters.get(NetCounter.TX_FRAMES);
        final long dropsBefore = drops(counters);

        pair.process(1, QUEUE_SIZE);

        final String what = "features=0x" + Long.toHexString(features) + ", header=" + headerBytes + ", flags=0x"
            + Integer.toHexString(flags) + ", gsoType=0x" + Integer.toHexString(gsoType) + ", fields="
            + Arrays.toString(fields) + ", frame=" + frameLength + ", parts=" + parts;
        assertEquals(head, driver.reap(), "the chain is completed: " + what);
        assertEquals(0, driver.reapedLength(), "TX used length is 0: " + what);
        assertEquals(SplitQueueDriver.NOTHING_USED, driver.reap(), "the chain is completed once: " + what);
        assertRamUntouched(rig, ramBefore);
        if (valid(features, packet))
        {
            assertEquals(sentBefore + 1, backend.transmitted.size(), "a valid frame reaches the backend: " + what);
            final byte[] expected = packet.clone();
            expected[NetHeaderLayout.NUM_BUFFERS_OFFSET] = 0;
            expected[NetHeaderLayout.NUM_BUFFERS_OFFSET + 1] = 0;
            assertArrayEquals(expected, backend.transmitted.get(sentBefore), "byte for byte, num_buffers 0: " + what);
            assertEquals(framesBefore + 1, counters.get(NetCounter.TX_FRAMES), "TX_FRAMES counted: " + what);
            assertEquals(dropsBefore, drops(counters), "no drop counted: " + what);
        }
        else
        {
            assertEquals(sentBefore, backend.transmitted.size(), "an invalid frame is dropped: " + what);
            assertEquals(framesBefore, counters.get(NetCounter.TX_FRAMES), "not counted as sent: " + what);
            assertEquals(dropsBefore + 1, drops(counters), "the drop is counted once: " + what);
        }
    }

    /**
     * The reference rule, from §5.1.6.2 and the device's stated policy, over the chain's bytes as the device sees
     * them (the first 12 are the header, whatever the driver meant): at least a whole header; a frame no longer than
     * 64 KiB plus an Ethernet header, or the MTU plus one without GSO when MTU is negotiated; GSO only TCPv4 or TCPv6
     * with its HOST_TSO feature, no ECN, and a non-zero gso_size; NEEDS_CSUM only with CSUM and csum_start +
     * csum_offset + 2 inside the frame. hdr_len and num_buffers never refuse a frame.
     */
    private static boolean valid(final long features, final byte[] packet)
    {
        final int frameLength = packet.length - HEADER;
        if (frameLength < 0 || frameLength > NetQueuePair.MAX_FRAME)
        {
            return false;
        }
        final int flags = packet[NetHeaderLayout.FLAGS_OFFSET] & 0xFF;
        final int gsoType = packet[NetHeaderLayout.GSO_TYPE_OFFSET] & 0xFF;
        final int gsoSize = u16(packet, NetHeaderLayout.GSO_SIZE_OFFSET);
        final int csumStart = u16(packet, NetHeaderLayout.CSUM_START_OFFSET);
        final int csumOffset = u16(packet, NetHeaderLayout.CSUM_OFFSET_OFFSET);
        if (gsoType == VIRTIO_NET_HDR_GSO_NONE)
        {
            final boolean mtu = (features & bit(VIRTIO_NET_F_MTU)) != 0;
            if (mtu && frameLength > MTU + NetQueuePair.ETH_HEADER)
            {
                return false;
            }
        }
        else
        {
            final boolean tso4 = gsoType == VIRTIO_NET_HDR_GSO_TCPV4 && (features & bit(VIRTIO_NET_F_HOST_TSO4)) != 0;
            final boolean tso6 = gsoType == VIRTIO_NET_HDR_GSO_TCPV6 && (features & bit(VIRTIO_NET_F_HOST_TSO6)) != 0;
            if (!tso4 && !tso6 || gsoSize == 0)
            {
                return false;
            }
        }
        if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0)
        {
            return (features & bit(VIRTIO_NET_F_CSUM)) != 0 && csumStart + csumOffset + 2 <= frameLength;
        }
        return true;
    }

    private static int u16(final byte[] bytes, final int offset)
    {
        return (bytes[offset] & 0xFF) | (bytes[offset + 1] & 0xFF) << 8;
    }

    /** @return the first {@code headerBytes} of the header, then a patterned frame of {@code frameLength} bytes. */
    private static byte[] packet(final int headerBytes, final int flags, final int gsoType, final int[] fields,
        final int frameLength)
    {
        final byte[] header = NetTxTest.header(flags, gsoType, fields[0], fields[1], fields[2], fields[3], fields[4]);
        final byte[] frame = NetTxTest.frame(frameLength, flags ^ gsoType);
        final byte[] packet = Arrays.copyOf(header, headerBytes + frameLength);
        System.arraycopy(frame, 0, packet, headerBytes, frameLength);
        return packet;
    }

    private static void assertRamUntouched(final NetRig rig, final byte[] before)
    {
        final byte[] after = new byte[before.length];
        rig.memory.copyOut(0, after, 0, after.length);
        // the device writes only the used rings (and their avail_event): put those back and compare the rest
        for (int q = 0; q < rig.configs.length; q++)
        {
            final int from = (int)rig.configs[q].usedRing();
            final int to = from + (int)UsedRingLayout.length(rig.queueSize);
            System.arraycopy(before, from, after, from, to - from);
        }
        assertArrayEquals(before, after, "guest RAM outside the used rings untouched");
    }

    private static long drops(final NetCounters counters)
    {
        long total = 0;
        for (final NetCounter c : DROPS)
        {
            total += counters.get(c);
        }
        return total;
    }

    @Test
    void shouldMatchCheckedInSeeds()
    {
        FuzzSeeds.check(NetTxFuzzTest.class, "packets", seeds());
    }

    /** @return the seed inputs by file name. */
    static Map<String, byte[]> seeds()
    {
        final FuzzInput plain = features(false, false, false, true);
        packet(plain, 0, 0, new int[5], 60, 2);
        packet(plain, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, new int[] {54, 0, 34, 16, 0}, 1514, 3);
        final FuzzInput tso = features(true, true, false, false);
        packet(tso, VIRTIO_NET_HDR_F_NEEDS_CSUM, 1, new int[] {54, 1448, 34, 16, 0}, 1600, 4);
        packet(tso, 0, 3, new int[] {54, 1448, 34, 16, 0}, 1600, 1);
        packet(tso, 0, 1, new int[] {54, 0, 34, 16, 0}, 100, 1);
        final FuzzInput csumOut = features(true, false, false, true);
        packet(csumOut, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, new int[] {0, 0, 60, 16, 0}, 60, 2);
        packet(csumOut, 0, 0, new int[] {0, 0, 0, 0, 7}, 60, 6);
        packet(csumOut, 0, 0, new int[] {128, 0, 0, 0, 0}, 1515, 1);
        return Map.of("plain-and-csum", plain.toBytes(), "tso-gso-types", tso.toBytes(),
            "csum-out-of-frame-num-buffers-mtu", csumOut.toBytes());
    }

    private static FuzzInput features(final boolean csum, final boolean tso4, final boolean tso6, final boolean mtu)
    {
        return new FuzzInput().bool(csum).bool(tso4).bool(tso6).bool(mtu);
    }

    /** Adds a whole-header packet whose small frame is cut into {@code parts} even descriptors. */
    private static void packet(final FuzzInput in, final int flags, final int gsoTypeIndex, final int[] fields,
        final int frameLength, final int parts)
    {
        in.bool(true).integer(flags, 0, 0xFF).bool(true).integer(gsoTypeIndex, 0, GSO_TYPES.length - 1);
        for (final int field : fields)
        {
            if (field <= SMALL_FIELD)
            {
                in.bool(true).integer(field, 0, SMALL_FIELD);
            }
            else
            {
                in.bool(false).integer(field, 0, 0xFFFF);
            }
        }
        in.bool(true).integer(frameLength, 0, SMALL_FRAME).integer(parts, 1, MAX_PARTS);
        final int length = HEADER + frameLength;
        for (int i = 1; i < parts; i++)
        {
            in.integer(length * i / parts, 0, length);
        }
        in.bool(false);
    }
}
