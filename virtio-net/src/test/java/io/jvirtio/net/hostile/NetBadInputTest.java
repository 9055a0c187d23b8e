package io.jvirtio.net.hostile;

import io.jvirtio.net.NetConfig;
import io.jvirtio.net.NetCounter;
import io.jvirtio.net.NetDevice;
import io.jvirtio.virtio.machine.TransportKind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;

import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_HOST_TSO4;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_HOST_TSO6;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MTU;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_CSUM;
import static io.jvirtio.net.NetFeatures.bit;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_F_NEEDS_CSUM;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_ECN;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_TCPV4;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_TCPV6;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_UDP;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_UDP_L4;
import static io.jvirtio.net.hostile.NetGuest.HEADER;
import static io.jvirtio.net.hostile.NetGuest.frame;
import static io.jvirtio.net.hostile.NetGuest.header;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * virtio-checklist §6 "virtio-net", the transmit items, each through the guest driver and the real exit path on
 * virtio-pci and virtio-mmio: the outcome §5.1.6.2 and the checklist prescribe (drop and count, or carry through and
 * count), every chain completed with used length 0, and the host healthy afterwards ({@link NetGuest#checkHealthy}).
 */
class NetBadInputTest
{
    /** Everything offered except the TSO features some items need absent. */
    private static final long ALL = NetDevice.OFFERED_FEATURES;
    /** VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4 and _IPV6 (virtio 1.4 §5.1.6.2), which this device never offers. */
    private static final int GSO_UDP_TUNNEL_IPV4 = 0x20;
    private static final int GSO_UDP_TUNNEL_IPV6 = 0x40;

    /** Transmits one packet that must be dropped and counted under {@code counter}. */
    private static void assertDropped(final NetGuest guest, final NetCounter counter, final byte[]... parts)
    {
        final long before = guest.count(counter);
        final int sent = guest.backend.transmitted.size();
        assertEquals(0, guest.transmit(parts), "a TX chain is completed with used length 0");
        assertEquals(before + 1, guest.count(counter), counter.name());
        assertEquals(sent, guest.backend.transmitted.size(), "the dropped frame reached the backend");
    }

    /** Transmits one packet that must reach the backend; @return what the backend got (header and frame). */
    private static byte[] assertDelivered(final NetGuest guest, final byte[]... parts)
    {
        final int sent = guest.backend.transmitted.size();
        assertEquals(0, guest.transmit(parts));
        guest.await(() -> guest.backend.transmitted.size() > sent, "the frame reaching the backend");
        return guest.backend.transmitted.stream().skip(sent).findFirst().orElseThrow();
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void txHeaderShorterThanHeaderLength(final TransportKind kind)
    {
        try (NetGuest guest = new NetGuest(kind, ALL))
        {
            assertDropped(guest, NetCounter.TX_HEADER_TOO_SHORT, new byte[HEADER - 1]);
            assertDropped(guest, NetCounter.TX_HEADER_TOO_SHORT, new byte[1], new byte[2], new byte[3]);
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void txHeaderSplitAcrossOneByteDescriptors(final TransportKind kind)
    {
        try (NetGuest guest = new NetGuest(kind, ALL))
        {
            final byte[] header = header(0, 0, 0, 0, 0, 0);
            final byte[][] parts = new byte[HEADER + 1][];
            for (int i = 0; i < HEADER; i++)
            {
                parts[i] = new byte[] {header[i]};
            }
            final byte[] frame = frame(100, 9);
            parts[HEADER] = frame;
            final byte[] got = assertDelivered(guest, parts);
            assertArrayEquals(frame, Arrays.copyOfRange(got, HEADER, got.length), "the frame must arrive intact");
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void txGsoTypeNotNegotiated(final TransportKind kind)
    {
        try (NetGuest guest = new NetGuest(kind, ALL & ~bit(VIRTIO_NET_F_HOST_TSO4) & ~bit(VIRTIO_NET_F_HOST_TSO6)))
        {
            for (final int gso : new int[] {VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6})
            {
                assertDropped(guest, NetCounter.TX_GSO_NOT_NEGOTIATED,
                    header(VIRTIO_NET_HDR_F_NEEDS_CSUM, gso, 54, 1448, 34, 16), frame(200, 1));
            }
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void txGsoEcnUdpOrTunnelCombination(final TransportKind kind)
    {
        try (NetGuest guest = new NetGuest(kind, ALL))
        {
            final int[] types = {VIRTIO_NET_HDR_GSO_UDP, VIRTIO_NET_HDR_GSO_UDP_L4,
                VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN,
                VIRTIO_NET_HDR_GSO_TCPV4 | GSO_UDP_TUNNEL_IPV4, VIRTIO_NET_HDR_GSO_TCPV6 | GSO_UDP_TUNNEL_IPV6, 0xFF};
            for (final int gso : types)
            {
                assertDropped(guest, NetCounter.TX_GSO_NOT_NEGOTIATED,
                    header(VIRTIO_NET_HDR_F_NEEDS_CSUM, gso, 54, 1448, 34, 16), frame(200, gso));
            }
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void txCsumStartOrOffsetPastEndOfFrame(final TransportKind kind)
    {
        try (NetGuest guest = new NetGuest(kind, ALL))
        {
            assertDropped(guest, NetCounter.TX_CSUM_OUT_OF_FRAME,
                header(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 99, 0), frame(100, 2));
            assertDropped(guest, NetCounter.TX_CSUM_OUT_OF_FRAME,
                header(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 65), frame(100, 3));
            assertDropped(guest, NetCounter.TX_CSUM_OUT_OF_FRAME,
                header(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 0xFFFF, 0xFFFF), frame(100, 4));
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void txNeedsCsumWithoutCsumNegotiated(final TransportKind kind)
    {
        try (NetGuest guest = new NetGuest(kind, ALL & ~bit(VIRTIO_NET_F_CSUM) & ~bit(VIRTIO_NET_F_HOST_TSO4)
            & ~bit(VIRTIO_NET_F_HOST_TSO6)))
        {
            assertDropped(guest, NetCounter.TX_CSUM_NOT_NEGOTIATED,
                header(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 16), frame(100, 5));
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void txHdrLenBeyondFrame(final TransportKind kind)
    {
        try (NetGuest guest = new NetGuest(kind, ALL))
        {
            final long before = guest.count(NetCounter.TX_HDR_LEN_BEYOND_FRAME);
            final byte[] frame = frame(100, 6);
            final byte[] got = assertDelivered(guest, header(0, 0, 0xFFFF, 0, 0, 0), frame);
            assertEquals(before + 1, guest.count(NetCounter.TX_HDR_LEN_BEYOND_FRAME), "hdr_len is a hint: counted");
            assertArrayEquals(frame, Arrays.copyOfRange(got, HEADER, got.length));
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void txGsoSizeZero(final TransportKind kind)
    {
        try (NetGuest guest = new NetGuest(kind, ALL))
        {
            assertDropped(guest, NetCounter.TX_GSO_SIZE_ZERO,
                header(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 54, 0, 34, 16), frame(3000, 7));
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void txFrameOver64KiB(final TransportKind kind)
    {
        try (NetGuest guest = new NetGuest(kind, ALL))
        {
            // with GSO the limit is 64 KiB plus an Ethernet header; the frame is given in 4 KiB descriptors
            final byte[][] parts = new byte[18][];
            parts[0] = header(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448, 34, 16);
            for (int i = 1; i < parts.length; i++)
            {
                parts[i] = frame(4096, i);
            }
            assertDropped(guest, NetCounter.TX_FRAME_TOO_LARGE, parts);
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void txFrameOverMtu(final TransportKind kind)
    {
        try (NetGuest guest = new NetGuest(kind, ALL | bit(VIRTIO_NET_F_MTU), NetConfig.defaults()
            .withQueueSize(NetGuest.QUEUE_SIZE).withMtu(1500)))
        {
            assertDropped(guest, NetCounter.TX_FRAME_TOO_LARGE, header(0, 0, 0, 0, 0, 0), frame(1500 + 14 + 1, 8));
            assertDelivered(guest, header(0, 0, 0, 0, 0, 0), frame(1500 + 14, 8));
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void txNumBuffersNonZero(final TransportKind kind)
    {
        try (NetGuest guest = new NetGuest(kind, ALL))
        {
            final long before = guest.count(NetCounter.TX_NUM_BUFFERS_NONZERO);
            final byte[] got = assertDelivered(guest, header(0, 0, 0, 0, 0, 0, 0xFFFF), frame(64, 9));
            assertEquals(before + 1, guest.count(NetCounter.TX_NUM_BUFFERS_NONZERO));
            assertEquals(0, got[HEADER - 2] | got[HEADER - 1], "num_buffers is ignored: the backend sees 0");
            guest.checkHealthy();
        }
    }
}
