package io.jvirtio.net;

import io.jvirtio.bus.event.ParkingIdleStrategy;
import io.jvirtio.net.backend.UdpBackend;
import io.jvirtio.net.driver.NetQueuePairDriver;
import io.jvirtio.virtio.VirtioFeatures;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

import static io.jvirtio.net.NetFeatures.bit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Two devices, each with a UDP backend on 127.0.0.1, talking to each other: every frame one guest sends arrives at
 * the other guest as one datagram's worth, byte for byte and in order, in both directions at once.
 */
class UdpLoopbackTest
{
    private static final int FRAMES = 300;
    private static final int WINDOW = 16;
    private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(60);
    private static final long FEATURES = VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1)
        | bit(NetFeatures.VIRTIO_NET_F_MTU) | bit(NetFeatures.VIRTIO_NET_F_MAC)
        | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_EVENT_IDX);

    /** One guest: its rings, its device with a UDP backend, and its driver. */
    private static final class Side implements AutoCloseable
    {
        final NetRig rig = new NetRig(2, 64, FEATURES);
        final UdpBackend udp = UdpBackend.loopback(null);
        final NetDevice device = new NetDevice(NetConfig.defaults().withQueueSize(64), udp,
            ParkingIdleStrategy.INSTANCE);
        final NetQueuePairDriver driver = rig.pairDriver(0, 1526, 1514, false);
        final MemorySegment src = Arena.ofAuto().allocate(1514);
        final MemorySegment dst = Arena.ofAuto().allocate(1514);
        final int id;
        long sent;
        long received;

        Side(final int id)
        {
            this.id = id;
            device.attach(rig.host);
            device.activate(rig.context());
            driver.fillRx();
            rig.kicks[0].signal();
        }

        void step(final Side peer)
        {
            if (sent < FRAMES && sent - peer.received < WINDOW)
            {
                final int length = frameLength(sent);
                for (int i = 0; i < length; i++)
                {
                    src.set(ValueLayout.JAVA_BYTE, i, pattern(id, sent, i));
                }
                if (driver.send(src, 0, length))
                {
                    sent++;
                    if (driver.txNeedsKick())
                    {
                        rig.kicks[1].signal();
                    }
                }
            }
            driver.reapTx();
            for (int n = driver.receive(dst, 0); n != NetQueuePairDriver.NO_FRAME; n = driver.receive(dst, 0))
            {
                assertEquals(frameLength(received), n, "frame length, in order");
                for (int i = 0; i < n; i++)
                {
                    if (dst.get(ValueLayout.JAVA_BYTE, i) != pattern(peer.id, received, i))
                    {
                        fail("frame differs: from=" + peer.id + ", seq=" + received + ", offset=" + i);
                    }
                }
                assertEquals(0, driver.rxHeader().flags(), "no metadata over udp");
                received++;
            }
            if (driver.fillRx() > 0 && driver.rxNeedsKick())
            {
                rig.kicks[0].signal();
            }
        }

        @Override
        public void close()
        {
            device.reset();
            udp.close();
            rig.close();
        }
    }

    static int frameLength(final long seq)
    {
        return 60 + (int)((seq * 211) % 1455);
    }

    static byte pattern(final int side, final long seq, final int i)
    {
        return (byte)(side * 101 + seq * 17 + i * 3);
    }

    @Test
    void shouldCarryFramesBetweenTwoDevicesOverLoopbackInBothDirections()
    {
        try (Side a = new Side(1);
            Side b = new Side(2))
        {
            a.udp.remote(b.udp.localAddress());
            b.udp.remote(a.udp.localAddress());
            assertEquals("127.0.0.1", a.udp.localAddress().getAddress().getHostAddress());
            final long deadline = System.nanoTime() + TIMEOUT_NANOS;
            while (a.received < FRAMES || b.received < FRAMES)
            {
                a.step(b);
                b.step(a);
                assertTrue(System.nanoTime() < deadline, "timed out: a.received=" + a.received
                    + ", b.received=" + b.received + ", rxDropped=" + a.udp.rxDropped() + "/" + b.udp.rxDropped());
                Thread.onSpinWait();
            }
            assertEquals(FRAMES, a.udp.sent());
            assertEquals(FRAMES, b.udp.received());
            assertEquals(0, a.udp.txDropped() + b.udp.txDropped() + a.udp.rxDropped() + b.udp.rxDropped());
            assertEquals(FRAMES, a.device.counters().get(NetCounter.RX_FRAMES));
        }
    }
}
