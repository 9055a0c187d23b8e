package io.jvirtio.net;

import io.jvirtio.bus.event.ParkingIdleStrategy;
import io.jvirtio.net.backend.EchoBackend;
import io.jvirtio.virtio.VirtioFeatures;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_CSUM;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_CTRL_RX;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_CTRL_VQ;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_GUEST_CSUM;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_GUEST_ECN;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_GUEST_TSO4;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_GUEST_TSO6;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_HOST_ECN;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_HOST_TSO4;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_HOST_TSO6;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MQ;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MRG_RXBUF;
import static io.jvirtio.net.NetFeatures.bit;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The device as the transport sees it: identity, offer, feature dependencies (checklist item 25), configuration
 * space, link status with its config interrupt, the header layout, and reset.
 */
class NetDeviceTest
{
    private static final long VERSION_1 = VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1);

    private final NetDevice device = new NetDevice(
        new NetConfig(0x52_54_00_AB_CD_EFL, 3, 9000, 256, true), EchoBackend.plain(), ParkingIdleStrategy.INSTANCE);

    @Test
    void shouldBeDeviceOneWithControlQueueAfterThreePairs()
    {
        assertEquals(1, device.deviceId());
        assertEquals(7, device.queueCount());
        assertEquals(256, device.queueMaxSize(6));
        assertEquals(12, device.configSize());
    }

    @Test
    void shouldNeverOfferABitWithoutItsDependency()
    {
        assertNull(NetFeatures.dependencyViolation(device.deviceFeatures()));
        assertNull(device.checkFeatures(device.deviceFeatures() | VERSION_1));
        assertEquals(0, device.deviceFeatures() & VERSION_1, "the transport adds VERSION_1");
    }

    @Test
    void shouldRefuseEachFeatureDependencyViolation()
    {
        final long[] broken = {
            bit(VIRTIO_NET_F_GUEST_TSO4),
            bit(VIRTIO_NET_F_GUEST_TSO6),
            bit(VIRTIO_NET_F_HOST_TSO4),
            bit(VIRTIO_NET_F_HOST_TSO6),
            bit(VIRTIO_NET_F_CTRL_RX),
            bit(VIRTIO_NET_F_MQ),
            bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_GUEST_ECN),
            bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_HOST_ECN),
        };
        for (final long features : broken)
        {
            assertNotNull(NetFeatures.dependencyViolation(features), Long.toHexString(features));
        }
        assertNotNull(device.checkFeatures(VERSION_1 | bit(VIRTIO_NET_F_MQ)));
        assertNotNull(device.checkFeatures(VERSION_1 | bit(VIRTIO_NET_F_GUEST_ECN)), "not offered");
        assertNull(device.checkFeatures(VERSION_1 | bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_GUEST_TSO4)));
        assertNull(device.checkFeatures(VERSION_1 | bit(VIRTIO_NET_F_CTRL_VQ) | bit(VIRTIO_NET_F_MQ)));
        assertNull(device.checkFeatures(VERSION_1 | bit(VIRTIO_NET_F_MRG_RXBUF)));
    }

    @Test
    void shouldPresentMacStatusPairsAndMtuLittleEndian()
    {
        assertEquals(0x52, device.readConfig(0, 1));
        assertEquals(0xEF_CD_AB_00_54_52L, device.readConfig(0, 4) | device.readConfig(4, 2) << 32);
        assertEquals(NetConfigLayout.VIRTIO_NET_S_LINK_UP, device.readConfig(NetConfigLayout.STATUS_OFFSET, 2));
        assertEquals(3, device.readConfig(NetConfigLayout.MAX_VIRTQUEUE_PAIRS_OFFSET, 2));
        assertEquals(9000, device.readConfig(NetConfigLayout.MTU_OFFSET, 2));
        assertEquals(9000 >>> 8, device.readConfig(NetConfigLayout.MTU_OFFSET + 1, 1));
        assertEquals(0x2328_0003_0001_EFCDL, device.readConfig(4, 8));
    }

    @Test
    void shouldIgnoreAndCountConfigWrites()
    {
        device.writeConfig(NetConfigLayout.MTU_OFFSET, 2, 68);
        device.writeConfig(0, 1, 0);
        assertEquals(9000, device.readConfig(NetConfigLayout.MTU_OFFSET, 2), "mtu never changes");
        assertEquals(0x52, device.readConfig(0, 1));
        assertEquals(2, device.counters().get(NetCounter.CONFIG_WRITES_IGNORED));
    }

    @Test
    void shouldRaiseConfigInterruptWhenLinkToggles()
    {
        final NetRig.RecordingInterrupt interrupt = new NetRig.RecordingInterrupt();
        device.attach(new NetRig.RecordingHost(interrupt));
        device.setLinkUp(false);
        assertEquals(0, device.readConfig(NetConfigLayout.STATUS_OFFSET, 2));
        assertEquals(1, interrupt.configSignals.get());
        device.setLinkUp(false);
        assertEquals(1, interrupt.configSignals.get(), "no change, no interrupt");
        device.setLinkUp(true);
        assertEquals(NetConfigLayout.VIRTIO_NET_S_LINK_UP, device.readConfig(NetConfigLayout.STATUS_OFFSET, 2));
        assertEquals(2, interrupt.configSignals.get());
        assertEquals(2, device.counters().get(NetCounter.CONFIG_CHANGES));
    }

    @Test
    void shouldRefuseInvalidConfiguration()
    {
        assertThrows(IllegalArgumentException.class, () -> NetConfig.defaults().withMtu(67));
        assertThrows(IllegalArgumentException.class, () -> NetConfig.defaults().withQueuePairs(0));
        assertThrows(IllegalArgumentException.class, () -> NetConfig.defaults().withQueueSize(100));
        assertEquals(NetConfig.MAX_MTU, NetConfig.defaults().withMtu(65535).mtu());
    }

    @Test
    void shouldLayOutHeaderAsTwelveLittleEndianBytes()
    {
        final byte[] bytes = new byte[NetHeaderLayout.LENGTH];
        new NetHeader().wrap(MemorySegment.ofArray(bytes), 0).flags(1).gsoType(4).hdrLen(0x0102).gsoSize(0x0304)
            .csumStart(0x0506).csumOffset(0x0708).numBuffers(0x090A);
        assertArrayEquals(new byte[] {1, 4, 2, 1, 4, 3, 6, 5, 8, 7, 0x0A, 9}, bytes);
        final NetHeader h = new NetHeader().wrap(MemorySegment.ofArray(bytes), 0);
        assertEquals(0x090A, h.numBuffers());
        h.clear();
        assertArrayEquals(new byte[12], bytes);
        assertThrows(IndexOutOfBoundsException.class, () -> h.wrap(MemorySegment.ofArray(new byte[13]), 2));
    }

    @Test
    void shouldPlaceControlQueueAfterFirstPairWithoutMq()
    {
        final long features = VERSION_1 | bit(VIRTIO_NET_F_CTRL_VQ) | bit(VIRTIO_NET_F_CTRL_RX);
        try (NetRig rig = new NetRig(7, 64, features))
        {
            device.attach(rig.host);
            device.activate(rig.context());
            final long ack = rig.put(new byte[] {(byte)0xFF});
            rig.drivers[2].post(new long[] {rig.put(new byte[] {0, 0, 0}), ack}, new long[] {3, 1}, 1, 1);
            rig.drivers[2].publish();
            rig.kicks[2].signal();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (rig.drivers[2].reap() < 0)
            {
                assertTrue(System.nanoTime() < deadline, "control command on queue 2 not answered");
                Thread.onSpinWait();
            }
            assertEquals(ControlLayout.VIRTIO_NET_OK, rig.memory.getByte(ack));
            assertFalse(device.rxFilter().promiscuous(), "applied before the command was used");
            device.reset();
            assertTrue(device.rxFilter().promiscuous(), "reset restores the default filter");
        }
    }

    @Test
    void shouldStopWorkersBeforeResetReturns()
    {
        final long features = VERSION_1 | bit(VIRTIO_NET_F_CTRL_VQ);
        try (NetRig rig = new NetRig(7, 64, features))
        {
            device.attach(rig.host);
            device.activate(rig.context());
            assertEquals(1, device.activeWorkers(), "one pair without MQ");
            device.reset();
            assertEquals(0, device.activeWorkers());
            assertFalse(Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals(NetDevice.workerName(0))), "worker thread gone");
            device.reset();
        }
    }
}
