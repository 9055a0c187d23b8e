package io.jvirtio.virtio.vhostuser;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.event.LinuxEventFd;
import io.jvirtio.bus.linux.Libc;
import io.jvirtio.bus.testing.AllocationProbe;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.transport.LoopbackDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The vhost-user back-end driven by an in-JVM front-end over a real socket: negotiation, the memory table shared by
 * memfd, a LoopbackDevice round trip through real eventfds, GET_VRING_BASE after traffic, config access, and
 * reconnection after the front-end goes away.
 */
class VhostUserBackendTest
{
    private static final int RING = 0;
    private static final int SIZE = 16;
    private static final long RING_BASE = 0x1000;
    private static final long BUFFERS = 0x8000;
    private static final long WAIT_SECONDS = 10;

    @TempDir
    Path dir;

    private LoopbackDevice device;
    private VhostUserServer server;
    private Path path;

    @BeforeEach
    void startServer() throws IOException
    {
        assumeTrue(Libc.isAvailable(), Libc.unavailableReason());
        device = new LoopbackDevice();
        path = dir.resolve("vhost.sock");
        server = VhostUserServer.listen(new VhostUserBackend(device, 1, 1, new VhostUserCounters()), path,
            VhostUserServer.Listener.NONE);
        server.start();
    }

    @AfterEach
    void stopServer()
    {
        if (server != null)
        {
            server.close();
        }
    }

    private static SplitQueueConfig ringConfig(final long features)
    {
        return SplitQueueConfig.contiguous(RING_BASE, SIZE, VirtioFeatures.has(features,
            VirtioFeatures.VIRTIO_F_EVENT_IDX), false);
    }

    /** Posts {@code payload} readable and as many bytes writable, kicks, waits for the call, returns the echo. */
    private static byte[] roundTrip(final FrontEnd front, final SplitQueueDriver driver, final LinuxEventFd kick,
        final LinuxEventFd call, final byte[] payload) throws InterruptedException
    {
        front.memory.copyIn(BUFFERS, payload, 0, payload.length);
        front.memory.fill(BUFFERS + 0x1000, payload.length, (byte)0);
        final int head = driver.post(new long[] {BUFFERS, BUFFERS + 0x1000},
            new long[] {payload.length, payload.length}, 1, 1);
        assertTrue(head >= 0);
        driver.publish();
        kick.signal();
        int used = SplitQueueDriver.NOTHING_USED;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        // bound: the failure timeout
        while (used == SplitQueueDriver.NOTHING_USED && System.nanoTime() < deadline)
        {
            call.read(100, TimeUnit.MILLISECONDS);
            used = driver.reap();
        }
        assertEquals(head, used, "the chain came back used");
        assertEquals(payload.length, driver.reapedLength());
        final byte[] back = new byte[payload.length];
        front.memory.copyOut(BUFFERS + 0x1000, back, 0, back.length);
        return back;
    }

    @Test
    void shouldOfferDeviceFeaturesWithVersion1AndProtocolFeatures() throws IOException
    {
        try (FrontEnd front = new FrontEnd(path))
        {
            final long features = front.getU64(VhostUserRequest.GET_FEATURES);
            assertEquals(device.deviceFeatures() | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1)
                | FrontEnd.PROTOCOL_FEATURES_BIT, features);
            final long protocol = front.getU64(VhostUserRequest.GET_PROTOCOL_FEATURES);
            assertEquals(VirtioFeatures.bit(VhostUserProtocolFeature.MQ)
                | VirtioFeatures.bit(VhostUserProtocolFeature.REPLY_ACK)
                | VirtioFeatures.bit(VhostUserProtocolFeature.CONFIG), protocol);
        }
    }

    @Test
    void shouldCopyChainThroughLoopbackWhenRingIsStarted() throws Exception
    {
        try (FrontEnd front = new FrontEnd(path);
            LinuxEventFd kick = LinuxEventFd.create(false);
            LinuxEventFd call = LinuxEventFd.create(false))
        {
            final long features = front.negotiate();
            assertEquals(1, front.getU64(VhostUserRequest.GET_QUEUE_NUM));
            front.setMemTable();
            final SplitQueueConfig config = ringConfig(features);
            final SplitQueueDriver driver = new SplitQueueDriver(front.memory, config);
            front.startRing(RING, config, kick, call);
            assertTrue(server.backend().isActive(), "one ring runs: the loopback device is active");
            assertEquals(features & ~FrontEnd.PROTOCOL_FEATURES_BIT, device.activatedFeatures());
            final byte[] payload = "vhost-user round trip".getBytes(StandardCharsets.US_ASCII);
            assertArrayEquals(payload, roundTrip(front, driver, kick, call, payload));
            assertEquals(1, device.chains());
        }
    }

    @Test
    void shouldAnswerLastAvailIndexWhenRingIsStoppedAfterTraffic() throws Exception
    {
        try (FrontEnd front = new FrontEnd(path);
            LinuxEventFd kick = LinuxEventFd.create(false);
            LinuxEventFd call = LinuxEventFd.create(false))
        {
            final long features = front.negotiate();
            front.setMemTable();
            final SplitQueueConfig config = ringConfig(features);
            final SplitQueueDriver driver = new SplitQueueDriver(front.memory, config);
            front.startRing(RING, config, kick, call);
            final int chains = 21;
            for (int i = 0; i < chains; i++)
            {
                roundTrip(front, driver, kick, call, new byte[] {(byte)i, 1, 2, 3});
            }
            final long resets = device.resets();
            assertEquals(chains, front.getVringBase(RING), "GET_VRING_BASE answers last_avail_idx");
            assertFalse(server.backend().isActive(), "a stopped ring deactivates the device");
            assertEquals(resets + 1, device.resets());

            // restart from the answered base, as QEMU does after a stop: the ring goes on where it was
            front.call(VhostUserRequest.SET_VRING_BASE, FrontEnd.state(RING, chains));
            front.call(VhostUserRequest.SET_VRING_KICK, FrontEnd.u64(RING), kick.fd());
            front.call(VhostUserRequest.SET_VRING_ENABLE, FrontEnd.state(RING, 1));
            assertTrue(server.backend().isActive());
            assertArrayEquals(new byte[] {9, 8, 7}, roundTrip(front, driver, kick, call, new byte[] {9, 8, 7}));
            assertEquals(chains + 1, front.getVringBase(RING));
        }
    }

    @Test
    void shouldReadAndWriteDeviceConfigWhenConfigIsNegotiated() throws IOException
    {
        try (FrontEnd front = new FrontEnd(path))
        {
            front.negotiate();
            final byte[] write = new byte[VhostUserMessageLayout.CONFIG_HEADER_LENGTH + 4];
            final MemorySegment w = MemorySegment.ofArray(write);
            w.set(ValueLayout.JAVA_INT_UNALIGNED, 0, 4);
            w.set(ValueLayout.JAVA_INT_UNALIGNED, 4, 4);
            w.set(ValueLayout.JAVA_INT_UNALIGNED, 12, 0x0BAD_CAFE);
            front.call(VhostUserRequest.SET_CONFIG, write);

            final byte[] read = new byte[VhostUserMessageLayout.CONFIG_HEADER_LENGTH + 8];
            MemorySegment.ofArray(read).set(ValueLayout.JAVA_INT_UNALIGNED, 4, 8);
            front.send(VhostUserRequest.GET_CONFIG, read);
            final MemorySegment reply =
                MemorySegment.ofArray(front.reply(VhostUserRequest.GET_CONFIG));
            assertEquals(LoopbackDevice.CONFIG_MAGIC, reply.get(ValueLayout.JAVA_INT_UNALIGNED, 12));
            assertEquals(0x0BAD_CAFE, reply.get(ValueLayout.JAVA_INT_UNALIGNED, 16));
        }
    }

    @Test
    void shouldServeNextConnectionWhenFrontEndGoesAway() throws Exception
    {
        final VhostUserCounters counters = server.counters();
        final long resets;
        try (FrontEnd front = new FrontEnd(path);
            LinuxEventFd kick = LinuxEventFd.create(false);
            LinuxEventFd call = LinuxEventFd.create(false))
        {
            final long features = front.negotiate();
            front.setMemTable();
            final SplitQueueConfig config = ringConfig(features);
            front.startRing(RING, config, kick, call);
            roundTrip(front, new SplitQueueDriver(front.memory, config), kick, call, new byte[] {1});
            resets = device.resets();
        }
        awaitDisconnections(counters, 1);
        assertFalse(server.backend().isActive(), "the device is reset when the front-end goes away");
        assertEquals(resets + 1, device.resets());
        try (FrontEnd again = new FrontEnd(path);
            LinuxEventFd kick = LinuxEventFd.create(false);
            LinuxEventFd call = LinuxEventFd.create(false))
        {
            final long features = again.negotiate();
            again.setMemTable();
            final SplitQueueConfig config = ringConfig(features);
            again.startRing(RING, config, kick, call);
            assertArrayEquals(new byte[] {4, 2}, roundTrip(again, new SplitQueueDriver(again.memory, config), kick,
                call, new byte[] {4, 2}));
        }
        awaitDisconnections(counters, 2);
        assertEquals(2, counters.get(VhostUserCounter.CONNECTIONS));
    }

    static void awaitDisconnections(final VhostUserCounters counters, final long expected)
        throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        // bound: the failure timeout
        while (counters.get(VhostUserCounter.DISCONNECTIONS) < expected && System.nanoTime() < deadline)
        {
            Thread.sleep(5);
        }
        assertEquals(expected, counters.get(VhostUserCounter.DISCONNECTIONS));
    }

    @Test
    void shouldSignalCallWithoutAllocatingWhenQueueIsNotified()
    {
        final VhostUserCounters counters = new VhostUserCounters();
        final CallInterrupt interrupt = new CallInterrupt(2, counters);
        // the call eventfd is a JVM eventfd here, so that what is measured is the back-end's own path: the
        // LinuxEventFd write behind it is a downcall whose temporaries C2 does not always scalar-replace (seen: 40
        // bytes per signal in some runs, 0 in others), a property of LinuxEventFd, not of this class
        try (EventFd call = EventFds.jvm())
        {
            interrupt.setCall(1, call);
            // warm-up: the first calls run interpreted; the probe then stops at the first batch that is 0
            for (int i = 0; i < 200_000; i++)
            {
                interrupt.signalQueue(1);
            }
            final long allocated = AllocationProbe.leastAllocated(200, () ->
            {
                for (int i = 0; i < 10_000; i++)
                {
                    interrupt.signalQueue(1);
                }
            });
            assertEquals(0, allocated, "signalQueue is on the data path");
            assertTrue(call.tryRead() > 0);
            interrupt.signalQueue(0);
            assertEquals(1, counters.get(VhostUserCounter.CALL_DROPPED), "ring 0 has no call fd");
            interrupt.signalConfig();
            assertEquals(1, counters.get(VhostUserCounter.CONFIG_CHANGE_NOT_SENT));
        }
    }
}
