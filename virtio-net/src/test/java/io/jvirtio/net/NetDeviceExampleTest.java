package io.jvirtio.net;

import io.jvirtio.bus.event.ParkingIdleStrategy;
import io.jvirtio.net.backend.EchoBackend;
import io.jvirtio.net.driver.NetQueuePairDriver;
import io.jvirtio.virtio.VirtioFeatures;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs the example in the {@code io.jvirtio.net} package documentation. */
class NetDeviceExampleTest
{
    @Test
    void shouldRunPackageExample()
    {
        try (NetRig rig = new NetRig(3, 256, VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1)))
        {
            final byte[] bytes = new byte[60];
            for (int i = 0; i < bytes.length; i++)
            {
                bytes[i] = (byte)(i * 5);
            }
            final MemorySegment frame = MemorySegment.ofArray(bytes);
            final MemorySegment received = MemorySegment.ofArray(new byte[1514]);
            final long area = rig.alloc(NetQueuePairDriver.areaLength(256, 256, 1526, 1514), 64);

            final NetDevice device = new NetDevice(NetConfig.defaults(), EchoBackend.plain(),
                ParkingIdleStrategy.INSTANCE);
            device.attach(rig.host);
            device.activate(rig.context());

            final NetQueuePairDriver net = new NetQueuePairDriver(rig.memory, rig.drivers[0], rig.drivers[1], area,
                1526, 1514, false);
            net.fillRx();
            if (net.rxNeedsKick())
            {
                rig.kicks[0].signal();
            }
            net.send(frame, 0, 60);
            if (net.txNeedsKick())
            {
                rig.kicks[1].signal();
            }
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            int length = net.receive(received, 0);
            while (length == NetQueuePairDriver.NO_FRAME)
            {
                assertTrue(System.nanoTime() < deadline, "echo did not come back");
                Thread.onSpinWait();
                length = net.receive(received, 0);
            }

            device.reset();
            assertEquals(60, length);
            assertArrayEquals(bytes, received.asSlice(0, 60).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(1, net.reapTx());
        }
    }
}
