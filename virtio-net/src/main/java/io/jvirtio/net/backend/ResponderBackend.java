package io.jvirtio.net.backend;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A backend that plays one host on the wire: it answers ARP requests (RFC 826) and ICMP echo requests (RFC 792) for
 * one configured IPv4 address and MAC, so that a guest's plain {@code ping} works against it. Every other frame is
 * dropped and counted. A pure reflector cannot do this: the guest would get its own ARP request back.
 * <p>
 * A reply is built in a per-pair scratch packet (the request copied, then rewritten in place) and queued through an
 * {@link EchoBackend} ring on the same pair, so replies keep their order and a guest that never refills its RX queue
 * only ever fills a bounded ring. Nothing is allocated per frame. Requests are checked before they are answered: an
 * IPv4 header checksum (RFC 791) or ICMP checksum that does not verify, a truncated header or a fragment is dropped
 * and counted as malformed or bad-checksum; the reply's checksums are computed afresh.
 * <p>
 * Thread safety: as {@link NetBackend}; counters from any thread.
 */
public final class ResponderBackend implements NetBackend
{
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int MAC_LENGTH = 6;
    private static final int ETH_HEADER = 14;
    private static final int ETH_TYPE = 12;
    private static final int ETHERTYPE_IPV4 = 0x0800;
    private static final int ETHERTYPE_ARP = 0x0806;
    /** ARP for IPv4 over Ethernet: htype, ptype, hlen, plen, oper, sha, spa, tha, tpa (RFC 826). */
    private static final int ARP_LENGTH = 28;
    private static final int ARP_OPER = 6;
    private static final int ARP_SHA = 8;
    private static final int ARP_SPA = 14;
    private static final int ARP_THA = 18;
    private static final int ARP_TPA = 24;
    private static final int ARP_REQUEST = 1;
    private static final int ARP_REPLY = 2;
    private static final int IPV4_MIN_HEADER = 20;
    private static final int IP_TOTAL_LENGTH = 2;
    private static final int IP_FRAGMENT = 6;
    private static final int IP_TTL = 8;
    private static final int IP_PROTOCOL = 9;
    private static final int IP_CHECKSUM = 10;
    private static final int IP_SOURCE = 12;
    private static final int IP_DESTINATION = 16;
    private static final int PROTOCOL_ICMP = 1;
    /** More-fragments flag and fragment offset: a fragment is not answered. */
    private static final int FRAGMENT_MASK = 0x3FFF;
    private static final int ICMP_HEADER = 8;
    private static final int ICMP_ECHO_REPLY = 0;
    private static final int ICMP_ECHO_REQUEST = 8;
    private static final int ICMP_CHECKSUM = 2;
    private static final int REPLY_TTL = 64;
    /** The largest frame answered: the largest IPv4 datagram behind an Ethernet header. */
    private static final int MAX_FRAME = ETH_HEADER + 65_535;

    private final int ipv4;
    private final long mac;
    private final EchoBackend replies;
    private final AtomicLong arpReplies = new AtomicLong();
    private final AtomicLong echoReplies = new AtomicLong();
    private final AtomicLong ignored = new AtomicLong();
    private final AtomicLong malformed = new AtomicLong();
    private final AtomicLong badChecksum = new AtomicLong();
    private MemorySegment[] scratch = new MemorySegment[0];

    /**
     * @param ipv4 the address answered, as a big-endian int ({@code 10.0.2.2} is {@code 0x0A000202}).
     * @param mac  the MAC answered from, in the low 48 bits, first octet most significant.
     */
    public ResponderBackend(final int ipv4, final long mac)
    {
        if ((mac >>> 48) != 0 || (mac & (1L << 40)) != 0)
        {
            throw new IllegalArgumentException("responder mac must be a 48-bit unicast address: mac=0x"
                + Long.toHexString(mac));
        }
        this.ipv4 = ipv4;
        this.mac = mac;
        this.replies = EchoBackend.plain();
    }

    /**
     * @param ipv4 dotted quad, e.g. {@code 10.0.2.2}.
     * @param mac  six colon-separated hex octets, e.g. {@code 52:54:00:12:34:02}.
     * @return a responder for that address.
     * @throws IllegalArgumentException if either does not parse.
     */
    public static ResponderBackend of(final String ipv4, final String mac)
    {
        return new ResponderBackend(parseIpv4(ipv4), parseMac(mac));
    }

    /** @return {@code a.b.c.d} as a big-endian int. */
    public static int parseIpv4(final String text)
    {
        final String[] parts = text.split("\\.", -1);
        if (parts.length != 4)
        {
            throw new IllegalArgumentException("ipv4 address must be a dotted quad: address=" + text);
        }
        int value = 0;
        // bound: four octets
        for (final String part : parts)
        {
            final int octet = parseNumber(part, 10, 3, text);
            if (octet > 255)
            {
                throw new IllegalArgumentException("ipv4 octet over 255: address=" + text);
            }
            value = value << 8 | octet;
        }
        return value;
    }

    /** @return {@code aa:bb:cc:dd:ee:ff} in the low 48 bits. */
    public static long parseMac(final String text)
    {
        final String[] parts = text.split(":", -1);
        if (parts.length != MAC_LENGTH)
        {
            throw new IllegalArgumentException("mac address must be six hex octets: mac=" + text);
        }
        long value = 0;
        // bound: six octets
        for (final String part : parts)
        {
            value = value << 8 | parseNumber(part, 16, 2, text);
        }
        return value;
    }

    private static int parseNumber(final String part, final int radix, final int maxDigits, final String whole)
    {
        if (part.isEmpty() || part.length() > maxDigits)
        {
            throw new IllegalArgumentException("address part has the wrong length: address=" + whole);
        }
        try
        {
            return Integer.parseInt(part, radix);
        }
        catch (final NumberFormatException e)
        {
            throw new IllegalArgumentException("address part is not a number: address=" + whole, e);
        }
    }

    @Override
    public void start(final int queuePairs, final RxWakeup wakeup)
    {
        if (scratch.length < queuePairs)
        {
            final MemorySegment[] grown = new MemorySegment[queuePairs];
            System.arraycopy(scratch, 0, grown, 0, scratch.length);
            for (int p = scratch.length; p < queuePairs; p++)
            {
                grown[p] = Arena.ofAuto().allocate(FRAME_OFFSET + MAX_FRAME, Long.BYTES);
            }
            scratch = grown;
        }
        replies.start(queuePairs, wakeup);
    }

    @Override
    public void transmit(final int pair, final MemorySegment packet, final int frameLength)
    {
        if (frameLength < ETH_HEADER || frameLength > MAX_FRAME || FRAME_OFFSET + frameLength > packet.byteSize())
        {
            malformed.getAndIncrement();
            return;
        }
        final int type = Short.toUnsignedInt(packet.get(U16, FRAME_OFFSET + ETH_TYPE));
        final int replyLength = switch (type)
        {
            case ETHERTYPE_ARP -> arp(pair, packet, frameLength);
            case ETHERTYPE_IPV4 -> icmp(pair, packet, frameLength);
            default -> -1;
        };
        if (replyLength == -1)
        {
            ignored.getAndIncrement();
        }
        else if (replyLength > 0)
        {
            replies.transmit(pair, scratch[pair], replyLength);
        }
    }

    /** @return the reply's frame length, 0 if the request was dropped as malformed, -1 if it is not for us. */
    private int arp(final int pair, final MemorySegment packet, final int frameLength)
    {
        final long arp = FRAME_OFFSET + ETH_HEADER;
        if (frameLength < ETH_HEADER + ARP_LENGTH)
        {
            malformed.getAndIncrement();
            return 0;
        }
        if (packet.get(U32, arp) != 0x0001_0800 || packet.get(U16, arp + 4) != 0x0604)
        {
            malformed.getAndIncrement();
            return 0;
        }
        if (packet.get(U16, arp + ARP_OPER) != ARP_REQUEST || packet.get(U32, arp + ARP_TPA) != ipv4)
        {
            return -1;
        }
        final MemorySegment reply = scratch[pair];
        final int length = ETH_HEADER + ARP_LENGTH;
        clearHeader(reply);
        MemorySegment.copy(packet, FRAME_OFFSET, reply, FRAME_OFFSET, length);
        final long f = FRAME_OFFSET;
        MemorySegment.copy(packet, arp + ARP_SHA, reply, f, MAC_LENGTH);
        putMac(reply, f + MAC_LENGTH, mac);
        reply.set(U16, arp + ARP_OPER, (short)ARP_REPLY);
        putMac(reply, arp + ARP_SHA, mac);
        reply.set(U32, arp + ARP_SPA, ipv4);
        MemorySegment.copy(packet, arp + ARP_SHA, reply, arp + ARP_THA, MAC_LENGTH + Integer.BYTES);
        arpReplies.getAndIncrement();
        return length;
    }

    /** @return the reply's frame length, 0 if the request was dropped as malformed, -1 if it is not for us. */
    private int icmp(final int pair, final MemorySegment packet, final int frameLength)
    {
        final long ip = FRAME_OFFSET + ETH_HEADER;
        if (frameLength < ETH_HEADER + IPV4_MIN_HEADER)
        {
            malformed.getAndIncrement();
            return 0;
        }
        final int versionIhl = Byte.toUnsignedInt(packet.get(ValueLayout.JAVA_BYTE, ip));
        final int headerLength = (versionIhl & 0x0F) * 4;
        final int totalLength = Short.toUnsignedInt(packet.get(U16, ip + IP_TOTAL_LENGTH));
        if (versionIhl >>> 4 != 4 || headerLength < IPV4_MIN_HEADER || totalLength < headerLength
            || totalLength > frameLength - ETH_HEADER)
        {
            malformed.getAndIncrement();
            return 0;
        }
        if (packet.get(U32, ip + IP_DESTINATION) != ipv4
            || packet.get(ValueLayout.JAVA_BYTE, ip + IP_PROTOCOL) != PROTOCOL_ICMP)
        {
            return -1;
        }
        final long icmp = ip + headerLength;
        final int icmpLength = totalLength - headerLength;
        if ((packet.get(U16, ip + IP_FRAGMENT) & FRAGMENT_MASK) != 0 || icmpLength < ICMP_HEADER)
        {
            malformed.getAndIncrement();
            return 0;
        }
        if (checksum(packet, ip, headerLength) != 0 || checksum(packet, icmp, icmpLength) != 0)
        {
            badChecksum.getAndIncrement();
            return 0;
        }
        if (packet.get(ValueLayout.JAVA_BYTE, icmp) != ICMP_ECHO_REQUEST)
        {
            return -1;
        }
        final MemorySegment reply = scratch[pair];
        final int length = ETH_HEADER + totalLength;
        clearHeader(reply);
        MemorySegment.copy(packet, FRAME_OFFSET, reply, FRAME_OFFSET, length);
        final long f = FRAME_OFFSET;
        MemorySegment.copy(packet, f + MAC_LENGTH, reply, f, MAC_LENGTH);
        putMac(reply, f + MAC_LENGTH, mac);
        reply.set(ValueLayout.JAVA_BYTE, ip + IP_TTL, (byte)REPLY_TTL);
        reply.set(U32, ip + IP_DESTINATION, packet.get(U32, ip + IP_SOURCE));
        reply.set(U32, ip + IP_SOURCE, ipv4);
        reply.set(U16, ip + IP_CHECKSUM, (short)0);
        reply.set(U16, ip + IP_CHECKSUM, (short)checksum(reply, ip, headerLength));
        reply.set(ValueLayout.JAVA_BYTE, icmp, (byte)ICMP_ECHO_REPLY);
        reply.set(U16, icmp + ICMP_CHECKSUM, (short)0);
        reply.set(U16, icmp + ICMP_CHECKSUM, (short)checksum(reply, icmp, icmpLength));
        echoReplies.getAndIncrement();
        return length;
    }

    /**
     * The Internet checksum (RFC 1071): the one's complement of the one's complement sum of the 16-bit big-endian
     * words, an odd last octet padded with zero. Over a range holding its own correct checksum it is 0.
     *
     * @return the checksum, 0..0xFFFF.
     */
    public static int checksum(final MemorySegment bytes, final long offset, final int length)
    {
        long sum = 0;
        final long end = offset + (length & ~1);
        // bound: length / 2 words, length at most 65 535
        for (long at = offset; at < end; at += 2)
        {
            sum += Short.toUnsignedInt(bytes.get(U16, at));
        }
        if ((length & 1) != 0)
        {
            sum += Byte.toUnsignedInt(bytes.get(ValueLayout.JAVA_BYTE, end)) << 8;
        }
        // bound: a sum of at most 32 768 16-bit words folds in at most two rounds
        while ((sum >>> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int)(~sum & 0xFFFF);
    }

    /** Zeroes the reply's 12-byte virtio_net_hdr: no checksum or GSO hints, without a slice object. */
    private static void clearHeader(final MemorySegment packet)
    {
        packet.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 0L);
        packet.set(ValueLayout.JAVA_INT_UNALIGNED, Long.BYTES, 0);
    }

    private static void putMac(final MemorySegment bytes, final long at, final long value)
    {
        bytes.set(U16, at, (short)(value >>> 32));
        bytes.set(U32, at + 2, (int)value);
    }

    @Override
    public int receive(final int pair, final MemorySegment packet)
    {
        return replies.receive(pair, packet);
    }

    @Override
    public void stop()
    {
        replies.stop();
    }

    /** @return ARP replies queued for the guest. */
    public long arpReplies()
    {
        return arpReplies.get();
    }

    /** @return ICMP echo replies queued for the guest. */
    public long echoReplies()
    {
        return echoReplies.get();
    }

    /** @return well-formed frames not answered: other EtherTypes, other addresses, other ARP or ICMP messages. */
    public long ignored()
    {
        return ignored.get();
    }

    /** @return frames dropped as truncated or with impossible header fields, and IPv4 fragments. */
    public long malformed()
    {
        return malformed.get();
    }

    /** @return ICMP echo requests dropped because their IPv4 header or ICMP checksum did not verify. */
    public long badChecksum()
    {
        return badChecksum.get();
    }

    /** @return replies dropped because the pair's reply ring was full or the device's buffer too small. */
    public long replyDrops()
    {
        return replies.dropped();
    }
}
