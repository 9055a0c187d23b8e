package io.jvirtio.net;

import io.jvirtio.bus.event.ParkingIdleStrategy;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.net.backend.EchoBackend;
import io.jvirtio.virtio.machine.VirtioMachine;
import io.jvirtio.virtio.testkit.TransportTrace;
import io.jvirtio.virtio.testkit.TransportTraceReplay;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Linux's virtio_net driver, as recorded from a guest under QEMU 7.2 (src/test/resources/qemu-traces), replayed
 * against jvirtio's transports with a {@link NetDevice} configured as QEMU's device was (MAC, MTU, one queue pair,
 * link up): the device must reach DRIVER_OK with the features and the queue layout Linux set up, and every register
 * the spec fixes must read as QEMU's did.
 * <p>
 * Thread safety: JUnit runs each test on one thread, which plays the guest.
 */
public final class NetQemuTraceReplayTest
{
    /** The recorded guest had 256 MiB; its rings lie below that. */
    private static final long GUEST_RAM = 512L << 20;

    @ParameterizedTest
    @ValueSource(strings = {"net-mmio", "net-pci"})
    void shouldStartTheWayLinuxStartedQemusDevice(final String fixture) throws IOException
    {
        System.out.println(fixture + ": " + replayAndCheck(load(fixture)).summary());
    }

    /**
     * Replays {@code trace} against a {@link NetDevice} configured as QEMU's device was (MAC, MTU, one queue pair,
     * link up, QEMU's queue size on the trace's transport) and asserts what this class promises. The real-guest tier
     * calls it on traces it records afresh.
     *
     * @return what the replay saw, for the caller to print.
     */
    public static TransportTraceReplay.Result replayAndCheck(final TransportTrace trace)
    {
        assertEquals(1, trace.deviceId());
        final NetConfig config = NetConfig.defaults().withQueueSize(TransportTraceReplay.qemuQueueSize(trace));
        try (VirtioMachine machine = VirtioMachine.create(VmConfig.defaults().withMemoryBytes(GUEST_RAM)))
        {
            final NetDevice device = new NetDevice(config, new EchoBackend(1 << 20, false),
                ParkingIdleStrategy.INSTANCE);
            // mac (0-5), status (6-7), max_virtqueue_pairs (8-9) and mtu (10-11) are configured as QEMU's were
            final TransportTraceReplay.Result result = TransportTraceReplay.replay(trace, machine, device,
                offset -> offset < 12);
            assertTrue(result.mismatches().isEmpty(), () -> "fixed registers differ:\n" + result.summary());
            assertTrue(result.driverOk(), () -> "no DRIVER_OK:\n" + result.summary());
            assertEquals(result.driverFeatures(), result.activeFeatures(), "negotiated features");
            assertEquals(3, result.recordedQueues().size(), "rx, tx and control queue");
            assertEquals(result.recordedQueues(), result.activeQueues(), "queue layout");
            return result;
        }
    }

    private static TransportTrace load(final String fixture) throws IOException
    {
        try (InputStream in = NetQemuTraceReplayTest.class.getResourceAsStream("/qemu-traces/" + fixture + ".trace"))
        {
            assertNotNull(in, fixture);
            return TransportTrace.parse(new String(in.readAllBytes(), StandardCharsets.US_ASCII));
        }
    }
}
