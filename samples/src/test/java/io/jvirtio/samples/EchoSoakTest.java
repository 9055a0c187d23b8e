package io.jvirtio.samples;

import io.jvirtio.samples.cli.Programs;
import io.jvirtio.virtio.machine.TransportKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CI version of {@code ./jvirtio soak-echo}: a fixed number of frames, every one back once, intact and in order;
 * and the frame format catches what the soak claims to catch.
 */
class EchoSoakTest
{
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldEchoEveryFrameOnceIntactAndInOrderWhenSoakedWithMixedSizes() throws InterruptedException
    {
        final EchoSoak.Result r = EchoSoak.run(20_000, 7, TransportKind.PCI, new PrintWriter(new StringWriter()));
        assertEquals(20_000, r.frames());
        assertEquals(0, r.lost(), "lost");
        assertEquals(0, r.duplicated(), "duplicated");
        assertEquals(0, r.reordered(), "reordered");
        assertEquals(0, r.corrupted(), "corrupted");
        assertTrue(r.clean());
    }

    @Test
    void shouldMixSizesFromMinToMaxWhenSeeded()
    {
        int smallest = Integer.MAX_VALUE;
        int largest = 0;
        for (long s = 0; s < 10_000; s++)
        {
            final int length = EchoSoak.frameLength(7, (int)(s & 1), s);
            smallest = Math.min(smallest, length);
            largest = Math.max(largest, length);
        }
        assertEquals(EchoSoak.MIN_FRAME, smallest);
        assertEquals(EchoSoak.MAX_FRAME, largest);
        assertEquals(EchoSoak.frameLength(7, 1, 12_345), EchoSoak.frameLength(7, 1, 12_345), "deterministic");
    }

    @Test
    void shouldChangeChecksumWhenOnePayloadByteFlips()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment frame = arena.allocate(2048);
            final int length = EchoSoak.buildFrame(frame, 7, 1, 99);
            final long before = EchoSoak.checksum(frame, length);
            frame.set(ValueLayout.JAVA_BYTE, length - 1, (byte)(frame.get(ValueLayout.JAVA_BYTE, length - 1) ^ 1));
            assertNotEquals(before, EchoSoak.checksum(frame, length));
        }
    }

    @Test
    void shouldPrintJsonAndExitZeroWhenRunAsProgram()
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final int status = Programs.run(new String[]{"soak-echo", "--frames", "2000", "--json"},
            new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        final String[] lines = out.toString(StandardCharsets.UTF_8).strip().split("\n");
        assertEquals(0, status, String.join("\n", lines));
        assertTrue(lines[lines.length - 1].contains("\"lost\":0,\"duplicated\":0,\"reordered\":0,\"corrupted\":0"),
            lines[lines.length - 1]);
    }

    @Test
    void shouldRefuseZeroFramesInOneLine()
    {
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int status = Programs.run(new String[]{"soak-echo", "--frames", "0"}, System.out,
            new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(Programs.USAGE, status);
        assertEquals(1, err.toString(StandardCharsets.UTF_8).strip().lines().count());
    }
}
