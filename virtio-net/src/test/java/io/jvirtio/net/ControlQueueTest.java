package io.jvirtio.net;

import io.jvirtio.virtio.queue.SplitQueueDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MAC;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MAC_ADDR_SET;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MAC_TABLE_SET;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MQ;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_RX;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_RX_ALLMULTI;
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
 * The control queue: checklist item 24 and every control-queue entry of the bad-input list (framing, MAC tables,
 * VQ_PAIRS_SET), each answered as the spec says and counted.
 */
class ControlQueueTest
{
    private static final int MAX_PAIRS = 4;
    private static final int CTRL = 2 * MAX_PAIRS;
    private static final long FEATURES = bit(VIRTIO_NET_F_CTRL_VQ) | bit(VIRTIO_NET_F_CTRL_RX) | bit(VIRTIO_NET_F_MQ);

    private final NetCounters counters = new NetCounters();
    private final RxFilter filter = new RxFilter();
    private final AtomicInteger activePairs = new AtomicInteger(1);
    private NetRig rig;
    private ControlQueue control;
    private SplitQueueDriver driver;
    private long ackAddr;
    private long usedLength;

    @BeforeEach
    void setUp()
    {
        setUp(FEATURES);
    }

    private void setUp(final long features)
    {
        if (rig != null)
        {
            rig.close();
        }
        rig = new NetRig(CTRL + 1, 64, features);
        driver = rig.drivers[CTRL];
        control = new ControlQueue(rig.queues[CTRL], CTRL, features, MAX_PAIRS, activePairs, filter, counters,
            rig.interrupt, rig.host);
    }

    @AfterEach
    void tearDown()
    {
        rig.close();
    }

    /** Sends a command made of the given readable parts, each its own descriptor, and returns the ack. */
    private int command(final byte[]... parts)
    {
        final long[] addrs = new long[parts.length + 1];
        final long[] lens = new long[parts.length + 1];
        for (int i = 0; i < parts.length; i++)
        {
            addrs[i] = rig.put(parts[i]);
            lens[i] = parts[i].length;
        }
        ackAddr = rig.put(new byte[] {(byte)0x5A});
        addrs[parts.length] = ackAddr;
        lens[parts.length] = 1;
        final int head = driver.post(addrs, lens, parts.length, 1);
        driver.publish();
        control.process(64);
        assertEquals(head, driver.reap());
        usedLength = driver.reapedLength();
        return rig.memory.getByte(ackAddr);
    }

    private static byte[] bytes(final int... values)
    {
        final byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++)
        {
            b[i] = (byte)values[i];
        }
        return b;
    }

    private static byte[] macTable(final long entries, final int present)
    {
        final byte[] b = new byte[4 + 6 * present];
        for (int i = 0; i < 4; i++)
        {
            b[i] = (byte)(entries >>> (8 * i));
        }
        for (int e = 0; e < present; e++)
        {
            for (int o = 0; o < 6; o++)
            {
                b[4 + 6 * e + o] = (byte)(0x10 * e + o);
            }
        }
        return b;
    }

    @Test
    void shouldSetPromiscuousAndAllMulticastAndAnswerOkWithUsedLengthOne()
    {
        assertTrue(filter.promiscuous(), "promiscuous after reset");
        assertEquals(VIRTIO_NET_OK, command(bytes(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC), bytes(0)));
        assertEquals(1, usedLength);
        assertFalse(filter.promiscuous());
        assertEquals(VIRTIO_NET_OK, command(bytes(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI), bytes(1)));
        assertTrue(filter.allMulticast());
        assertEquals(2, counters.get(NetCounter.CTRL_OK));
        assertEquals(2, rig.interrupt.queueSignals.get(CTRL));
    }

    @Test
    void shouldWorkWithHeaderAndDataInOneDescriptor()
    {
        assertEquals(VIRTIO_NET_OK, command(bytes(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0)));
        assertFalse(filter.promiscuous());
    }

    @Test
    void shouldWorkWithHeaderSplitAcrossDescriptors()
    {
        assertEquals(VIRTIO_NET_OK, command(bytes(VIRTIO_NET_CTRL_MQ), bytes(VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 3),
            bytes(0)));
        assertEquals(3, activePairs.get());
    }

    @Test
    void shouldAnswerErrForRxModeValueOtherThanZeroOrOneOrWrongSize()
    {
        assertEquals(VIRTIO_NET_ERR, command(bytes(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC), bytes(2)));
        assertEquals(VIRTIO_NET_ERR, command(bytes(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC), bytes(0, 0)));
        assertEquals(VIRTIO_NET_ERR, command(bytes(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC)));
        assertTrue(filter.promiscuous(), "unchanged");
        assertEquals(3, counters.get(NetCounter.CTRL_MALFORMED));
    }

    @Test
    void shouldAnswerErrForUnknownClassOrCommandAndUnnegotiatedOnes()
    {
        assertEquals(VIRTIO_NET_ERR, command(bytes(0x42, 0), bytes(0)));
        assertEquals(VIRTIO_NET_ERR, command(bytes(VIRTIO_NET_CTRL_RX, 5), bytes(1)));
        assertEquals(VIRTIO_NET_ERR, command(bytes(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET),
            bytes(1, 2, 3, 4, 5, 6)));
        assertEquals(VIRTIO_NET_ERR, command(bytes(VIRTIO_NET_CTRL_MQ, 1), bytes(1, 0)));
        assertEquals(4, counters.get(NetCounter.CTRL_UNSUPPORTED));
        setUp(bit(VIRTIO_NET_F_CTRL_VQ));
        assertEquals(VIRTIO_NET_ERR, command(bytes(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC), bytes(0)));
        assertEquals(VIRTIO_NET_ERR, command(bytes(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET), bytes(2, 0)));
        assertEquals(6, counters.get(NetCounter.CTRL_UNSUPPORTED), "without CTRL_RX and MQ");
        assertEquals(1, activePairs.get());
    }

    @Test
    void shouldCompleteWithZeroWhenFewerThanTwoHeaderBytes()
    {
        command(bytes(VIRTIO_NET_CTRL_RX));
        assertEquals(0, usedLength);
        assertEquals(0x5A, rig.memory.getByte(ackAddr), "ack not written");
        assertEquals(1, counters.get(NetCounter.CTRL_MISSING_HEADER));
    }

    @Test
    void shouldCompleteWithZeroWhenNoWritableAckByte()
    {
        final int head = driver.post(new long[] {rig.put(bytes(0, 0, 0))}, new long[] {3}, 1, 0);
        driver.publish();
        control.process(64);
        assertEquals(head, driver.reap());
        assertEquals(0, driver.reapedLength());
        assertEquals(1, counters.get(NetCounter.CTRL_MISSING_HEADER));
        assertTrue(filter.promiscuous());
    }

    @Test
    void shouldSetMacTablesWhenLengthsAddUp()
    {
        final int ack = command(bytes(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET), macTable(2, 2),
            macTable(1, 1));
        assertEquals(VIRTIO_NET_OK, ack);
        assertEquals(2, filter.unicastCount());
        assertEquals(1, filter.multicastCount());
        assertEquals(0x10_11_12_13_14_15L, filter.unicast(1));
        assertEquals(0x00_01_02_03_04_05L, filter.multicast(0));
    }

    @Test
    void shouldAnswerErrForHugeEntryCountsWithoutOverflowOrLooping()
    {
        assertEquals(VIRTIO_NET_ERR, command(bytes(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET),
            macTable(0xFFFF_FFFFL, 1), macTable(0, 0)));
        assertEquals(VIRTIO_NET_ERR, command(bytes(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET),
            macTable(0x2AAA_AAABL, 1), macTable(0, 0)));
        assertEquals(2, counters.get(NetCounter.CTRL_MALFORMED));
        assertEquals(0, filter.unicastCount());
    }

    @Test
    void shouldAnswerErrWhenSecondTableLengthMismatchesOrBytesTrail()
    {
        final byte[] header = bytes(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET);
        assertEquals(VIRTIO_NET_ERR, command(header, macTable(1, 1), macTable(2, 1)));
        assertEquals(VIRTIO_NET_ERR, command(header, macTable(1, 1), macTable(1, 1), bytes(0)));
        assertEquals(VIRTIO_NET_ERR, command(header, macTable(1, 1)));
        assertEquals(VIRTIO_NET_ERR, command(header, macTable(1, 1), bytes(0, 0)));
        assertEquals(4, counters.get(NetCounter.CTRL_MALFORMED));
        assertEquals(0, filter.unicastCount(), "nothing applied from a refused command");
    }

    @Test
    void shouldAcceptOversizedTableAndMarkOverflow()
    {
        final int entries = RxFilter.MAC_TABLE_ENTRIES + 6;
        assertEquals(VIRTIO_NET_OK, command(bytes(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET),
            macTable(entries, entries), macTable(0, 0)));
        assertEquals(RxFilter.MAC_TABLE_ENTRIES, filter.unicastCount());
        assertTrue(filter.unicastOverflow());
        assertFalse(filter.multicastOverflow());
        assertEquals(1, counters.get(NetCounter.CTRL_MAC_TABLE_OVERFLOW));
    }

    @Test
    void shouldReportBrokenControlRingOnceWithoutThrowing()
    {
        driver.raw().availIdx(65);
        assertFalse(control.process(64));
        assertFalse(control.process(64));
        assertEquals(1, counters.get(NetCounter.QUEUES_BROKEN));
        assertEquals(1, rig.host.needsReset.get());
    }

    @Test
    void shouldRefuseVqPairsSetOutsideOneToMax()
    {
        final byte[] header = bytes(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET);
        assertEquals(VIRTIO_NET_ERR, command(header, bytes(0, 0)));
        assertEquals(VIRTIO_NET_ERR, command(header, bytes(MAX_PAIRS + 1, 0)));
        assertEquals(VIRTIO_NET_ERR, command(header, bytes(0xFF, 0xFF)));
        assertEquals(3, counters.get(NetCounter.CTRL_BAD_VQ_PAIRS));
        assertEquals(VIRTIO_NET_ERR, command(header, bytes(2)));
        assertEquals(1, counters.get(NetCounter.CTRL_MALFORMED), "one byte is not a le16");
        assertEquals(1, activePairs.get());
        assertEquals(VIRTIO_NET_OK, command(header, bytes(MAX_PAIRS, 0)));
        assertEquals(MAX_PAIRS, activePairs.get());
    }
}
