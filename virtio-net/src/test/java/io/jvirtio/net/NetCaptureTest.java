package io.jvirtio.net;

import io.jvirtio.bus.event.BackoffIdleStrategy;
import io.jvirtio.net.capture.CaptureDirection;
import io.jvirtio.net.capture.CaptureReader;
import io.jvirtio.net.capture.CapturedFrame;
import io.jvirtio.net.capture.CapturingBackend;
import io.jvirtio.net.backend.NetBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A capture around the echo backend of a running device records every frame both ways, byte for byte. */
class NetCaptureTest
{
    private static final int FRAMES = 300;

    @Test
    void shouldRecordEveryFrameBothWaysWhenCapturingEchoRoundTrip(@TempDir final Path dir)
    {
        final int pairs = 2;
        final CapturingBackend capture;
        final CapturingBackend[] opened = new CapturingBackend[1];
        try (EchoHarness h = new EchoHarness(pairs, false, true, new BackoffIdleStrategy(), false, echo ->
        {
            opened[0] = CapturingBackend.open(echo, dir, true);
            return opened[0];
        }))
        {
            assertEquals((long)pairs * FRAMES, h.run(FRAMES));
        }
        capture = opened[0];
        capture.close();
        assertEquals(2L * pairs * FRAMES, capture.captured());
        assertEquals(0, capture.failures());

        final List<CapturedFrame> frames = new ArrayList<>();
        final CaptureReader.Counts counts = CaptureReader.read(dir, frames::add);
        assertEquals(new CaptureReader.Counts(2L * pairs * FRAMES, 0), counts);
        final long[][] seq = new long[pairs][2];
        for (final CapturedFrame frame : frames)
        {
            final int p = frame.pair();
            final int d = frame.direction() == CaptureDirection.TX ? 0 : 1;
            final long s = seq[p][d]++;
            assertEquals(NetBackend.FRAME_OFFSET, frame.header().length);
            assertEquals(EchoHarness.frameLength(s), frame.frame().length, "pair=" + p + " dir=" + d + " seq=" + s);
            for (int i = 0; i < frame.frame().length; i++)
            {
                if (frame.frame()[i] != EchoHarness.pattern(p, s, i))
                {
                    throw new AssertionError("captured frame differs: pair=" + p + ", dir=" + d + ", seq=" + s
                        + ", offset=" + i);
                }
            }
        }
        for (int p = 0; p < pairs; p++)
        {
            assertEquals(FRAMES, seq[p][0], "tx frames of pair " + p);
            assertEquals(FRAMES, seq[p][1], "rx frames of pair " + p);
        }
    }
}
