package io.jvirtio.net;

import io.jvirtio.bus.event.BackoffIdleStrategy;
import io.jvirtio.net.capture.CapturingBackend;
import io.jvirtio.net.capture.ReplayBackend;
import io.jvirtio.net.driver.NetQueuePairDriver;
import io.jvirtio.virtio.VirtioFeatures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A recorded echo session's TX frames, replayed into a device as RX traffic, reach the guest byte for byte. */
class NetReplayTest
{
    private static final int RECORDED = 120;

    @Test
    void shouldDeliverRecordedTxFramesByteForByteWhenReplayed(@TempDir final Path dir)
    {
        record(dir);
        final ReplayBackend replay = ReplayBackend.load(dir, false);
        assertEquals(RECORDED, replay.frameCount());
        assertEquals(RECORDED, receiveAndCheck(replay, RECORDED));
        assertEquals(RECORDED, replay.replayed());
        assertEquals(0, replay.dropped());
    }

    @Test
    void shouldStartAgainFromFirstFrameWhenLooping(@TempDir final Path dir)
    {
        record(dir);
        final ReplayBackend replay = ReplayBackend.load(dir, true);
        final int frames = 2 * RECORDED + 17;
        assertEquals(frames, receiveAndCheck(replay, frames));
        assertTrue(replay.replayed() >= frames, "the loop goes on until the device is reset");
    }

    @Test
    void shouldRefuseCaptureLargerThanLimit(@TempDir final Path dir)
    {
        record(dir);
        final IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class,
                () -> ReplayBackend.load(dir, false, 1000));
        assertEquals("capture too large to replay: dir=" + dir + ", maxBytes=1000", e.getMessage());
    }

    /** Records {@link #RECORDED} echoed frames on pair 0. */
    private static void record(final Path dir)
    {
        final CapturingBackend[] opened = new CapturingBackend[1];
        try (EchoHarness h = new EchoHarness(1, false, false, new BackoffIdleStrategy(), false, echo ->
        {
            opened[0] = CapturingBackend.open(echo, dir, true);
            return opened[0];
        }))
        {
            assertEquals(RECORDED, h.run(RECORDED));
        }
        opened[0].close();
    }

    /** Runs a device with {@code replay} and checks {@code frames} received frames against the recorded pattern. */
    private static long receiveAndCheck(final ReplayBackend replay, final int frames)
    {
        final long features = VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1);
        final MemorySegment dst = Arena.ofAuto().allocate(NetQueuePair.MAX_FRAME);
        try (NetRig rig = new NetRig(3, 256, features))
        {
            final NetDevice device = new NetDevice(NetConfig.defaults(), replay, new BackoffIdleStrategy());
            device.attach(rig.host);
            device.activate(rig.context());
            final NetQueuePairDriver net = rig.pairDriver(0, 1526, 1514, false);
            long received = 0;
            final long deadline = System.nanoTime() + EchoHarness.TIMEOUT_NANOS;
            try
            {
                // bound: the failure timeout
                while (received < frames)
                {
                    if (net.fillRx() > 0 && net.rxNeedsKick())
                    {
                        rig.kicks[0].signal();
                    }
                    final int n = net.receive(dst, 0);
                    if (n == NetQueuePairDriver.NO_FRAME)
                    {
                        assertTrue(System.nanoTime() < deadline, "replay stalled: received=" + received);
                        Thread.onSpinWait();
                        continue;
                    }
                    final long seq = received % RECORDED;
                    assertEquals(EchoHarness.frameLength(seq), n, "seq=" + seq);
                    for (int i = 0; i < n; i++)
                    {
                        if (dst.get(ValueLayout.JAVA_BYTE, i) != EchoHarness.pattern(0, seq, i))
                        {
                            throw new AssertionError("replayed frame differs: seq=" + seq + ", offset=" + i);
                        }
                    }
                    received++;
                }
            }
            finally
            {
                device.reset();
            }
            assertEquals(0, device.workerErrors(0));
            return received;
        }
    }
}
