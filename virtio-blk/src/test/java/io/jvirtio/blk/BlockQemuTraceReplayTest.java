package io.jvirtio.blk;

import io.jvirtio.blk.backend.MemoryBlockBackend;
import io.jvirtio.bus.vm.VmConfig;
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
 * Linux's virtio_blk driver, as recorded from a guest under QEMU 7.2 (src/test/resources/qemu-traces), replayed
 * against jvirtio's transports with a {@link BlockDevice} on a disk of the recorded size: the device must reach
 * DRIVER_OK with the features and the queue layout Linux set up, and every register the spec fixes must read as
 * QEMU's did.
 * <p>
 * Thread safety: JUnit runs each test on one thread, which plays the guest.
 */
public final class BlockQemuTraceReplayTest
{
    /** The recorded guest had 256 MiB; its rings lie below that. */
    private static final long GUEST_RAM = 512L << 20;
    /** The recorded disk's size: a 64 MiB raw file (a fresh recording must use the same). */
    public static final long DISK_BYTES = 64L << 20;
    private static final long SECTORS = DISK_BYTES / 512;

    @ParameterizedTest
    @ValueSource(strings = {"blk-mmio", "blk-pci"})
    void shouldStartTheWayLinuxStartedQemusDevice(final String fixture) throws IOException
    {
        System.out.println(fixture + ": " + replayAndCheck(load(fixture)).summary());
    }

    /**
     * Replays {@code trace} against a {@link BlockDevice} on a disk of the recorded size with QEMU's queue size on
     * the trace's transport, and asserts what this class promises. The real-guest tier calls it on traces it records
     * afresh.
     *
     * @return what the replay saw, for the caller to print.
     */
    public static TransportTraceReplay.Result replayAndCheck(final TransportTrace trace)
    {
        assertEquals(2, trace.deviceId());
        final int queueSize = TransportTraceReplay.qemuQueueSize(trace);
        try (VirtioMachine machine = VirtioMachine.create(VmConfig.defaults().withMemoryBytes(GUEST_RAM));
            MemoryBlockBackend disk = new MemoryBlockBackend(SECTORS, false, "replay"))
        {
            final BlockDevice device = new BlockDevice(disk,
                BlockDeviceConfig.defaults().withQueueSize(queueSize, queueSize - 2));
            // capacity (0-7) and blk_size (20-23) are configured as QEMU's were
            final TransportTraceReplay.Result result = TransportTraceReplay.replay(trace, machine, device,
                offset -> offset < 8 || offset >= BlockConfigLayout.BLK_SIZE_OFFSET
                    && offset < BlockConfigLayout.BLK_SIZE_OFFSET + 4);
            assertTrue(result.mismatches().isEmpty(), () -> "fixed registers differ:\n" + result.summary());
            assertTrue(result.driverOk(), () -> "no DRIVER_OK:\n" + result.summary());
            assertEquals(result.driverFeatures(), result.activeFeatures(), "negotiated features");
            assertEquals(1, result.recordedQueues().size(), "one request queue");
            assertEquals(result.recordedQueues(), result.activeQueues(), "queue layout");
            return result;
        }
    }

    private static TransportTrace load(final String fixture) throws IOException
    {
        try (InputStream in = BlockQemuTraceReplayTest.class.getResourceAsStream("/qemu-traces/" + fixture + ".trace"))
        {
            assertNotNull(in, fixture);
            return TransportTrace.parse(new String(in.readAllBytes(), StandardCharsets.US_ASCII));
        }
    }
}
