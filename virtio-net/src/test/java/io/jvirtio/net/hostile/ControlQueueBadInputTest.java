package io.jvirtio.net.hostile;

import io.jvirtio.net.NetConfig;
import io.jvirtio.net.NetCounter;
import io.jvirtio.net.NetFeatures;
import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.machine.TransportKind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MAC;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MAC_TABLE_SET;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MQ;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_RX;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_RX_PROMISC;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_ERR;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_OK;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_CTRL_RX;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_CTRL_VQ;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MQ;
import static io.jvirtio.net.NetFeatures.bit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * virtio-checklist §6 "virtio-net" control-queue items (§5.1.6.5), through the guest driver and the real exit path on
 * virtio-pci and virtio-mmio: framing, MAC tables, MQ and RSS, offloads and VLAN. A command that can be answered is
 * answered VIRTIO_NET_ERR and counted, and changes nothing; a chain that cannot be answered is completed with used
 * length 0 and counted. RSS, CTRL_GUEST_OFFLOADS and CTRL_VLAN are not offered: the offer is checked to lack them
 * and their commands to be refused as unsupported.
 */
class ControlQueueBadInputTest
{
    private static final int MAX_PAIRS = 2;
    private static final long FEATURES = bit(VIRTIO_NET_F_CTRL_VQ) | bit(VIRTIO_NET_F_CTRL_RX) | bit(VIRTIO_NET_F_MQ);
    /** virtio-v1.2 §5.1.6.5.7: RSS_CONFIG in the MQ class; §5.1.6.5.3 VLAN class; §5.1.6.5.6.1 GUEST_OFFLOADS. */
    private static final int VIRTIO_NET_CTRL_MQ_RSS_CONFIG = 1;
    private static final int VIRTIO_NET_CTRL_VLAN = 2;
    private static final int VIRTIO_NET_CTRL_VLAN_ADD = 0;
    private static final int VIRTIO_NET_CTRL_GUEST_OFFLOADS = 5;
    private static final int VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET = 0;

    private static NetGuest guest(final TransportKind kind)
    {
        return new NetGuest(kind, FEATURES,
            NetConfig.defaults().withQueueSize(NetGuest.QUEUE_SIZE).withQueuePairs(MAX_PAIRS));
    }

    private static byte[] le(final int bytes, final long value)
    {
        final ByteBuffer buffer = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value);
        final byte[] out = new byte[bytes];
        System.arraycopy(buffer.array(), 0, out, 0, bytes);
        return out;
    }

    private static byte[] head(final int commandClass, final int command)
    {
        return new byte[] {(byte)commandClass, (byte)command};
    }

    /** Sends a command that must be answered ERR and counted under {@code counter}. */
    private static void assertRefused(final NetGuest guest, final NetCounter counter, final byte[]... parts)
    {
        final long before = guest.count(counter);
        final int pairs = guest.device.activeQueuePairs();
        final long[] answer = guest.command(1, parts);
        assertEquals(VIRTIO_NET_ERR, answer[0], "ack");
        assertEquals(1, answer[1], "used length: the ack byte");
        assertEquals(before + 1, guest.count(counter), counter.name());
        assertEquals(pairs, guest.device.activeQueuePairs(), "a refused command changes nothing");
    }

    /** Sends a chain that cannot be answered: completed with 0, counted, ack untouched. */
    private static void assertUnanswered(final NetGuest guest, final int ackLength, final byte[]... parts)
    {
        final long before = guest.count(NetCounter.CTRL_MISSING_HEADER);
        final long[] answer = guest.command(ackLength, parts);
        assertEquals(-1, answer[0], "no ack is written");
        assertEquals(0, answer[1], "used length");
        assertEquals(before + 1, guest.count(NetCounter.CTRL_MISSING_HEADER));
    }

    private static byte[] macTable(final long entries, final int macs)
    {
        return NetGuest.concat(le(4, entries), new byte[6 * macs]);
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void ctrlFewerThanTwoHeaderBytes(final TransportKind kind)
    {
        try (NetGuest guest = guest(kind))
        {
            assertUnanswered(guest, 1, new byte[] {VIRTIO_NET_CTRL_RX});
            assertUnanswered(guest, 1);
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void ctrlNoWritableAckByte(final TransportKind kind)
    {
        try (NetGuest guest = guest(kind))
        {
            assertTrue(guest.device.rxFilter().promiscuous(), "promiscuous after reset, as QEMU starts");
            assertUnanswered(guest, 0, head(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC), new byte[] {0});
            assertTrue(guest.device.rxFilter().promiscuous(), "an unanswerable command is not applied");
            guest.checkHealthy();
        }
    }

    /**
     * A descriptor is either readable or writable, so "all in one descriptor" is as far as the format allows: class,
     * command and data in one readable descriptor with the ack after it (must work); and everything in one writable
     * descriptor, or in one readable one, which cannot be answered.
     */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void ctrlHeaderDataAndAckInOneDescriptor(final TransportKind kind)
    {
        try (NetGuest guest = guest(kind))
        {
            final long[] answer = guest.command(1, new byte[] {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1});
            assertEquals(VIRTIO_NET_OK, answer[0]);
            assertTrue(guest.device.rxFilter().promiscuous());
            assertUnanswered(guest, 0, new byte[] {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0, 0x7F});
            final long everything = guest.buffer(4);
            final int head = guest.post(guest.ctrlIndex, new long[] {everything}, new long[] {4}, 0, 1);
            assertEquals(0, guest.awaitUsed(guest.ctrlIndex, head));
            assertTrue(guest.device.rxFilter().promiscuous(), "nothing was applied");
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void ctrlUnknownClassOrCommand(final TransportKind kind)
    {
        try (NetGuest guest = guest(kind))
        {
            assertRefused(guest, NetCounter.CTRL_UNSUPPORTED, head(0xFF, 0), new byte[] {1});
            assertRefused(guest, NetCounter.CTRL_UNSUPPORTED, head(VIRTIO_NET_CTRL_RX, 0xFF), new byte[] {1});
            assertRefused(guest, NetCounter.CTRL_UNSUPPORTED, head(VIRTIO_NET_CTRL_MAC, 0xFF), new byte[] {1});
            assertRefused(guest, NetCounter.CTRL_UNSUPPORTED, head(VIRTIO_NET_CTRL_MQ, 0xFF), le(2, 1));
            assertRefused(guest, NetCounter.CTRL_UNSUPPORTED, head(0x80, 0x80));
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void ctrlMacTableEntriesAllOnes(final TransportKind kind)
    {
        try (NetGuest guest = guest(kind))
        {
            assertRefused(guest, NetCounter.CTRL_MALFORMED, head(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET),
                macTable(0xFFFF_FFFFL, 2), macTable(0, 0));
            assertRefused(guest, NetCounter.CTRL_MALFORMED, head(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET),
                macTable(0, 0), macTable(0xFFFF_FFFFL, 2));
            assertEquals(0, guest.device.rxFilter().unicastCount());
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void ctrlMacTableEntriesTimesSixOverflowing32Bits(final TransportKind kind)
    {
        try (NetGuest guest = guest(kind))
        {
            // 0x2AAAAAAB * 6 = 0x1_0000_0002: two bytes in 32-bit arithmetic, which the payload could "hold"
            assertRefused(guest, NetCounter.CTRL_MALFORMED, head(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET),
                le(4, 0x2AAA_AAABL), new byte[2], macTable(0, 0));
            assertEquals(0, guest.device.rxFilter().unicastCount());
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void ctrlMacTableSecondLengthMismatch(final TransportKind kind)
    {
        try (NetGuest guest = guest(kind))
        {
            final byte[] set = head(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET);
            assertRefused(guest, NetCounter.CTRL_MALFORMED, set, macTable(1, 1), macTable(2, 1));
            assertRefused(guest, NetCounter.CTRL_MALFORMED, set, macTable(1, 1), macTable(1, 2));
            assertRefused(guest, NetCounter.CTRL_MALFORMED, set, macTable(1, 1));
            assertRefused(guest, NetCounter.CTRL_MALFORMED, set, macTable(1, 1), le(2, 0));
            assertEquals(0, guest.device.rxFilter().unicastCount(), "no half-applied table");
            assertEquals(VIRTIO_NET_OK, guest.command(1, set, macTable(1, 1), macTable(1, 1))[0]);
            assertEquals(1, guest.device.rxFilter().unicastCount());
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void ctrlVqPairsSetZeroOrAboveMax(final TransportKind kind)
    {
        try (NetGuest guest = guest(kind))
        {
            final byte[] set = head(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET);
            for (final int pairs : new int[] {0, MAX_PAIRS + 1, 0x8000, 0xFFFF})
            {
                assertRefused(guest, NetCounter.CTRL_BAD_VQ_PAIRS, set, le(2, pairs));
            }
            assertRefused(guest, NetCounter.CTRL_MALFORMED, set, le(4, MAX_PAIRS));
            assertEquals(1, guest.device.activeQueuePairs());
            assertEquals(VIRTIO_NET_OK, guest.command(1, set, le(2, MAX_PAIRS))[0]);
            assertEquals(MAX_PAIRS, guest.device.activeQueuePairs());
            guest.checkHealthy();
        }
    }

    /**
     * {@code struct virtio_net_rss_config} (§5.1.6.5.7.1): hash_types, indirection_table_mask, unclassified_queue,
     * indirection_table[mask + 1], max_tx_vq, hash_key_length, hash_key_data.
     */
    static byte[] rssConfig(final int mask, final int unclassified, final int entry, final int keyLength)
    {
        final ByteBuffer b = ByteBuffer.allocate(4 + 2 + 2 + 2 * (mask + 1) + 2 + 1 + keyLength)
            .order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x3F).putShort((short)mask).putShort((short)unclassified);
        for (int i = 0; i <= mask; i++)
        {
            b.putShort((short)entry);
        }
        b.putShort((short)1).put((byte)keyLength);
        return b.array();
    }

    /** Every RSS item: the offer lacks RSS (and HASH_REPORT), so the command is refused whatever it carries. */
    private static void assertRssRefused(final TransportKind kind, final byte[] config)
    {
        try (NetGuest guest = guest(kind))
        {
            assertFalse(guest.offered(NetFeatures.VIRTIO_NET_F_RSS), "RSS is not offered");
            assertFalse(guest.offered(NetFeatures.VIRTIO_NET_F_HASH_REPORT), "HASH_REPORT is not offered");
            assertRefused(guest, NetCounter.CTRL_UNSUPPORTED, head(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_RSS_CONFIG),
                config);
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void ctrlRssMaskPlusOneNotPowerOfTwoOrOverMax(final TransportKind kind)
    {
        assertRssRefused(kind, rssConfig(2, 0, 0, 40));
        assertRssRefused(kind, rssConfig(0xFFFF, 0, 0, 40));
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void ctrlRssIndirectionEntryBeyondActiveQueues(final TransportKind kind)
    {
        assertRssRefused(kind, rssConfig(127, 0, 0xFFFF, 40));
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void ctrlRssKeyLengthOver40(final TransportKind kind)
    {
        assertRssRefused(kind, rssConfig(127, 0, 0, 255));
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void ctrlRssUnclassifiedQueueOutOfRange(final TransportKind kind)
    {
        assertRssRefused(kind, rssConfig(127, 0xFFFF, 0, 40));
    }

    /** A driver that accepts RSS although it was not offered fails FEATURES_OK (§2.2.1, §3.1.1 step 6). */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void ctrlRssAcceptedWithoutOfferFailsFeaturesOk(final TransportKind kind)
    {
        try (NetGuest guest = guest(kind))
        {
            guest.checkHealthy();
            guest.driver.reset();
            guest.driver.transport().writeStatus(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
            guest.driver.transport().writeDriverFeatures(guest.features | bit(NetFeatures.VIRTIO_NET_F_RSS));
            guest.driver.transport().writeStatus(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER
                | DeviceStatus.FEATURES_OK);
            assertEquals(0, guest.driver.transport().readStatus() & DeviceStatus.FEATURES_OK);
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void ctrlGuestOffloadsEnablingUnnegotiatedBits(final TransportKind kind)
    {
        try (NetGuest guest = guest(kind))
        {
            assertFalse(guest.offered(NetFeatures.VIRTIO_NET_F_CTRL_GUEST_OFFLOADS));
            assertRefused(guest, NetCounter.CTRL_UNSUPPORTED,
                head(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET), le(8, -1L));
            guest.checkHealthy();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
    void ctrlVlanVidAtLeast4096(final TransportKind kind)
    {
        try (NetGuest guest = guest(kind))
        {
            assertFalse(guest.offered(NetFeatures.VIRTIO_NET_F_CTRL_VLAN));
            for (final int vid : new int[] {4096, 0xFFFF})
            {
                assertRefused(guest, NetCounter.CTRL_UNSUPPORTED, head(VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD),
                    le(2, vid));
            }
            guest.checkHealthy();
        }
    }
}
