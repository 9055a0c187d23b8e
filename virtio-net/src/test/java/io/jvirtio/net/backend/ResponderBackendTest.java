package io.jvirtio.net.backend;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The responder answers ARP (RFC 826) and ICMP echo (RFC 792) for its one address with correct fields and
 * checksums, checked here with a checksum written independently over byte arrays, and drops and counts the rest.
 */
class ResponderBackendTest
{
    private static final byte[] OUR_IP = {10, 0, 2, 2};
    private static final byte[] OUR_MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x02};
    private static final byte[] GUEST_IP = {10, 0, 2, 15};
    private static final byte[] GUEST_MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    private static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};

    private ResponderBackend responder;
    private final MemorySegment in = MemorySegment.ofArray(new byte[70_000]);

    @BeforeEach
    void start()
    {
        responder = ResponderBackend.of("10.0.2.2", "52:54:00:12:34:02");
        responder.start(1, (final int pair) ->
        {
        });
    }

    /** RFC 1071, over a byte array, with int arithmetic: a second implementation to check the backend's. */
    private static int independentChecksum(final byte[] bytes, final int from, final int to)
    {
        int sum = 0;
        for (int i = from; i < to; i += 2)
        {
            final int hi = bytes[i] & 0xFF;
            final int lo = i + 1 < to ? bytes[i + 1] & 0xFF : 0;
            sum += hi << 8 | lo;
        }
        sum = (sum & 0xFFFF) + (sum >>> 16);
        sum = (sum & 0xFFFF) + (sum >>> 16);
        return ~sum & 0xFFFF;
    }

    private void send(final byte[] frame)
    {
        final byte[] packet = new byte[NetBackend.FRAME_OFFSET + frame.length];
        System.arraycopy(frame, 0, packet, NetBackend.FRAME_OFFSET, frame.length);
        responder.transmit(0, MemorySegment.ofArray(packet), frame.length);
    }

    private byte[] reply()
    {
        final int length = responder.receive(0, in);
        if (length == NetBackend.NO_FRAME)
        {
            return null;
        }
        final byte[] packet = in.asSlice(0, NetBackend.FRAME_OFFSET + length).toArray(
            ValueLayout.JAVA_BYTE);
        assertArrayEquals(new byte[NetBackend.FRAME_OFFSET], Arrays.copyOf(packet, NetBackend.FRAME_OFFSET),
            "a reply's virtio_net_hdr is all zero");
        return Arrays.copyOfRange(packet, NetBackend.FRAME_OFFSET, packet.length);
    }

    private static byte[] arpRequest(final byte[] target)
    {
        return ByteBuffer.allocate(42).put(BROADCAST).put(GUEST_MAC).putShort((short)0x0806)
            .putShort((short)1).putShort((short)0x0800).put((byte)6).put((byte)4).putShort((short)1)
            .put(GUEST_MAC).put(GUEST_IP).put(new byte[6]).put(target).array();
    }

    private static byte[] echoRequest(final int payload, final byte[] destination)
    {
        final int ipLength = 20 + 8 + payload;
        final ByteBuffer b = ByteBuffer.allocate(14 + ipLength);
        b.put(OUR_MAC).put(GUEST_MAC).putShort((short)0x0800);
        b.put((byte)0x45).put((byte)0).putShort((short)ipLength).putShort((short)0x1234).putShort((short)0x4000)
            .put((byte)64).put((byte)1).putShort((short)0).put(GUEST_IP).put(destination);
        b.put((byte)8).put((byte)0).putShort((short)0).putShort((short)0x77).putShort((short)3);
        for (int i = 0; i < payload; i++)
        {
            b.put((byte)(i * 7 + 1));
        }
        final byte[] frame = b.array();
        final int ip = independentChecksum(frame, 14, 34);
        frame[24] = (byte)(ip >>> 8);
        frame[25] = (byte)ip;
        final int icmp = independentChecksum(frame, 34, frame.length);
        frame[36] = (byte)(icmp >>> 8);
        frame[37] = (byte)icmp;
        return frame;
    }

    @Test
    void shouldAnswerArpRequestForItsAddressWithItsMac()
    {
        send(arpRequest(OUR_IP));
        final byte[] reply = reply();
        assertEquals(42, reply.length);
        assertArrayEquals(GUEST_MAC, Arrays.copyOfRange(reply, 0, 6), "ethernet destination: the asker");
        assertArrayEquals(OUR_MAC, Arrays.copyOfRange(reply, 6, 12), "ethernet source");
        assertArrayEquals(new byte[] {8, 6, 0, 1, 8, 0, 6, 4, 0, 2}, Arrays.copyOfRange(reply, 12, 22),
            "ARP for IPv4 over Ethernet, oper 2 (reply)");
        assertArrayEquals(OUR_MAC, Arrays.copyOfRange(reply, 22, 28), "sha");
        assertArrayEquals(OUR_IP, Arrays.copyOfRange(reply, 28, 32), "spa");
        assertArrayEquals(GUEST_MAC, Arrays.copyOfRange(reply, 32, 38), "tha");
        assertArrayEquals(GUEST_IP, Arrays.copyOfRange(reply, 38, 42), "tpa");
        assertEquals(1, responder.arpReplies());
        assertEquals(null, reply(), "one reply per request");
    }

    @Test
    void shouldIgnoreArpRequestForAnotherAddress()
    {
        send(arpRequest(new byte[] {10, 0, 2, 3}));
        assertEquals(null, reply());
        assertEquals(1, responder.ignored());
        assertEquals(0, responder.arpReplies());
    }

    @ParameterizedTest
    @ValueSource(ints = {56, 1400, 0, 1})
    void shouldAnswerEchoRequestWithSamePayloadAndValidChecksums(final int payload)
    {
        final byte[] request = echoRequest(payload, OUR_IP);
        send(request);
        final byte[] reply = reply();
        assertEquals(request.length, reply.length);
        assertArrayEquals(GUEST_MAC, Arrays.copyOfRange(reply, 0, 6));
        assertArrayEquals(OUR_MAC, Arrays.copyOfRange(reply, 6, 12));
        assertArrayEquals(OUR_IP, Arrays.copyOfRange(reply, 26, 30), "ip source");
        assertArrayEquals(GUEST_IP, Arrays.copyOfRange(reply, 30, 34), "ip destination");
        assertEquals(0, independentChecksum(reply, 14, 34), "ipv4 header checksum verifies");
        assertEquals(0, reply[34], "icmp type 0: echo reply");
        assertEquals(0, reply[35], "code 0");
        assertEquals(0, independentChecksum(reply, 34, reply.length), "icmp checksum verifies");
        assertArrayEquals(Arrays.copyOfRange(request, 38, request.length), Arrays.copyOfRange(reply, 38, reply.length),
            "identifier, sequence and payload echoed");
        assertEquals(1, responder.echoReplies());
    }

    @Test
    void shouldDropAndCountEchoRequestWithBadChecksum()
    {
        final byte[] request = echoRequest(56, OUR_IP);
        request[50] ^= 1;
        send(request);
        final byte[] badIp = echoRequest(56, OUR_IP);
        badIp[22] = 63;
        send(badIp);
        assertEquals(null, reply());
        assertEquals(2, responder.badChecksum());
    }

    @Test
    void shouldDropAndCountMalformedAndShortFrames()
    {
        send(new byte[10]);
        send(Arrays.copyOf(arpRequest(OUR_IP), 30));
        final byte[] request = echoRequest(56, OUR_IP);
        send(Arrays.copyOf(request, 30));
        final byte[] longerThanFrame = request.clone();
        longerThanFrame[16] = 0x10;
        send(longerThanFrame);
        final byte[] shortIhl = request.clone();
        shortIhl[14] = 0x44;
        send(shortIhl);
        final byte[] fragment = echoRequest(56, OUR_IP);
        fragment[20] = 0x20;
        send(fragment);
        final byte[] badArp = arpRequest(OUR_IP);
        badArp[18] = 7;
        send(badArp);
        assertEquals(null, reply());
        assertEquals(7, responder.malformed());
        assertEquals(0, responder.echoReplies() + responder.arpReplies());
    }

    @Test
    void shouldIgnoreOtherTrafficAndCountIt()
    {
        send(echoRequest(56, new byte[] {10, 0, 2, 9}));
        final byte[] ipv6 = new byte[80];
        ipv6[12] = (byte)0x86;
        ipv6[13] = (byte)0xDD;
        send(ipv6);
        final byte[] notEcho = echoRequest(8, OUR_IP);
        notEcho[34] = 13;
        final int icmp = independentChecksum(Arrays.copyOf(zeroChecksum(notEcho), notEcho.length), 34,
            notEcho.length);
        notEcho[36] = (byte)(icmp >>> 8);
        notEcho[37] = (byte)icmp;
        send(notEcho);
        assertEquals(null, reply());
        assertEquals(3, responder.ignored());
    }

    private static byte[] zeroChecksum(final byte[] frame)
    {
        frame[36] = 0;
        frame[37] = 0;
        return frame;
    }

    @Test
    void shouldKeepRepliesInOrderAndDropThemOnStop()
    {
        send(echoRequest(56, OUR_IP));
        send(arpRequest(OUR_IP));
        assertEquals(98, reply().length);
        assertEquals(42, reply().length);
        send(arpRequest(OUR_IP));
        responder.stop();
        assertEquals(null, reply());
    }

    @Test
    void shouldParseAddressesAndRefuseBadOnes()
    {
        assertEquals(0x0A00_0202, ResponderBackend.parseIpv4("10.0.2.2"));
        assertEquals(0x5254_0012_3402L, ResponderBackend.parseMac("52:54:00:12:34:02"));
        assertThrows(IllegalArgumentException.class, () -> ResponderBackend.parseIpv4("10.0.2"));
        assertThrows(IllegalArgumentException.class, () -> ResponderBackend.parseIpv4("10.0.2.256"));
        assertThrows(IllegalArgumentException.class, () -> ResponderBackend.parseMac("52:54:00:12:34"));
        assertThrows(IllegalArgumentException.class, () -> ResponderBackend.parseMac("52:54:00:12:34:zz"));
        assertThrows(IllegalArgumentException.class, () -> ResponderBackend.of("10.0.2.2", "01:00:5e:00:00:01"),
            "a multicast MAC is refused");
    }

    @Test
    void shouldComputeRfc1071ExampleChecksum()
    {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum (with carries folded) to ddf2
        final byte[] words = {0x00, 0x01, (byte)0xf2, 0x03, (byte)0xf4, (byte)0xf5, (byte)0xf6, (byte)0xf7};
        assertEquals(~0xddf2 & 0xFFFF, ResponderBackend.checksum(MemorySegment.ofArray(words), 0, words.length));
        assertEquals(independentChecksum(new byte[] {1, 2, 3}, 0, 3),
            ResponderBackend.checksum(MemorySegment.ofArray(new byte[] {1, 2, 3}), 0, 3), "odd length");
    }

    @Test
    void shouldAllocateNothingPerFrameAfterWarmUp()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled(),
            "this JVM does not count allocated bytes per thread");
        final MemorySegment arp = packet(arpRequest(OUR_IP));
        final MemorySegment ping = packet(echoRequest(1400, OUR_IP));
        final MemorySegment other = packet(echoRequest(56, new byte[] {10, 0, 2, 9}));
        final int arpLength = (int)arp.byteSize() - NetBackend.FRAME_OFFSET;
        final int pingLength = (int)ping.byteSize() - NetBackend.FRAME_OFFSET;
        final int otherLength = (int)other.byteSize() - NetBackend.FRAME_OFFSET;
        final long tid = Thread.currentThread().threadId();
        // the JIT may still compile during a batch; a path that allocates does so in every batch
        final long[] allocated = new long[4];
        for (int batch = -2; batch < allocated.length; batch++)
        {
            final long before = threads.getThreadAllocatedBytes(tid);
            // bound: 20 000 frames per batch
            for (int i = 0; i < 20_000; i++)
            {
                responder.transmit(0, arp, arpLength);
                responder.transmit(0, ping, pingLength);
                responder.transmit(0, other, otherLength);
                responder.receive(0, in);
                responder.receive(0, in);
            }
            final long after = threads.getThreadAllocatedBytes(tid);
            if (batch >= 0)
            {
                allocated[batch] = after - before;
                if (allocated[batch] == 0)
                {
                    assertEquals(0, responder.replyDrops());
                    return;
                }
            }
        }
        fail("every batch allocated: bytes=" + Arrays.toString(allocated));
    }

    private static MemorySegment packet(final byte[] frame)
    {
        final byte[] packet = new byte[NetBackend.FRAME_OFFSET + frame.length];
        System.arraycopy(frame, 0, packet, NetBackend.FRAME_OFFSET, frame.length);
        return MemorySegment.ofArray(packet);
    }
}
