package io.jvirtio.net.backend;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The echo backend's bounded per-pair ring: order, wrap, drops when full, MAC swap, and stop. */
class EchoBackendTest
{
    private static final int RING = 70_000;

    private final MemorySegment out = MemorySegment.ofArray(new byte[70_000]);
    private final MemorySegment in = MemorySegment.ofArray(new byte[70_000]);

    private static void fill(final MemorySegment packet, final int frameLength, final int seed)
    {
        for (int i = 0; i < NetBackend.FRAME_OFFSET + frameLength; i++)
        {
            packet.set(ValueLayout.JAVA_BYTE, i, (byte)(seed + 3 * i));
        }
    }

    private byte[] packet(final MemorySegment segment, final int frameLength)
    {
        return segment.asSlice(0, NetBackend.FRAME_OFFSET + frameLength).toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void shouldReturnFramesInOrderAcrossManyRingWraps()
    {
        final EchoBackend echo = new EchoBackend(RING, false);
        echo.start(1, (final int pair) ->
        {
        });
        // bound: 399 frames of up to 3000 bytes wrap the 70 000-byte ring many times
        for (int i = 0; i < 399; i++)
        {
            final int length = 1 + (i * 613) % 3000;
            fill(out, length, i);
            echo.transmit(0, out, length);
            if (i % 3 == 2)
            {
                for (int j = i - 2; j <= i; j++)
                {
                    final int expected = 1 + (j * 613) % 3000;
                    fill(out, expected, j);
                    assertEquals(expected, echo.receive(0, in));
                    assertArrayEquals(packet(out, expected), packet(in, expected), "frame " + j);
                }
            }
        }
        assertEquals(NetBackend.NO_FRAME, echo.receive(0, in));
        assertEquals(0, echo.dropped());
    }

    @Test
    void shouldDropAndCountWhenRingIsFull()
    {
        final EchoBackend echo = new EchoBackend(RING, false);
        echo.start(2, (final int pair) ->
        {
        });
        fill(out, 30_000, 1);
        echo.transmit(0, out, 30_000);
        echo.transmit(0, out, 30_000);
        echo.transmit(0, out, 30_000);
        assertEquals(1, echo.dropped());
        assertEquals(2, echo.queued(0));
        assertEquals(0, echo.queued(1), "pairs have their own rings");
        echo.stop();
        assertEquals(NetBackend.NO_FRAME, echo.receive(0, in), "stop discards");
    }

    @Test
    void shouldDropFrameLargerThanDeviceBuffer()
    {
        final EchoBackend echo = new EchoBackend(RING, false);
        echo.start(1, (final int pair) ->
        {
        });
        fill(out, 200, 1);
        echo.transmit(0, out, 200);
        assertEquals(NetBackend.NO_FRAME, echo.receive(0, MemorySegment.ofArray(new byte[100])));
        assertEquals(1, echo.dropped());
        assertEquals(0, echo.queued(0));
    }

    @Test
    void shouldSwapDestinationAndSourceMacs()
    {
        final EchoBackend echo = new EchoBackend(RING, true);
        echo.start(1, (final int pair) ->
        {
        });
        fill(out, 60, 0);
        echo.transmit(0, out, 60);
        assertEquals(60, echo.receive(0, in));
        final byte[] sent = packet(out, 60);
        final byte[] got = packet(in, 60);
        for (int i = 0; i < 6; i++)
        {
            assertEquals(sent[12 + i], got[18 + i]);
            assertEquals(sent[18 + i], got[12 + i]);
        }
        for (int i = 0; i < 12; i++)
        {
            assertEquals(sent[i], got[i], "header untouched");
        }
        for (int i = 24; i < sent.length; i++)
        {
            assertEquals(sent[i], got[i], "payload untouched");
        }
    }

    @Test
    void shouldRefuseRingTooSmallForLargestFrame()
    {
        assertThrows(IllegalArgumentException.class, () -> new EchoBackend(65_000, false));
    }
}
