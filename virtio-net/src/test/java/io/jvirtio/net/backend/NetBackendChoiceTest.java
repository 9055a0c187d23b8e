package io.jvirtio.net.backend;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every backend name parses to its backend; bad names and addresses fail in one line. */
class NetBackendChoiceTest
{
    @Test
    void shouldMakeEachBackendByName()
    {
        assertInstanceOf(EchoBackend.class, NetBackendChoice.parse("echo"));
        assertInstanceOf(EchoBackend.class, NetBackendChoice.parse("echo-swap"));
        assertInstanceOf(ResponderBackend.class, NetBackendChoice.parse("responder"));
        assertInstanceOf(ResponderBackend.class, NetBackendChoice.parse("responder:192.168.7.1"));
        assertInstanceOf(ResponderBackend.class, NetBackendChoice.parse("responder:192.168.7.1,02:00:00:00:00:01"));
        final NetBackend udp = NetBackendChoice.parse("udp:127.0.0.1:9");
        try
        {
            assertInstanceOf(UdpBackend.class, udp);
        }
        finally
        {
            ((UdpBackend)udp).close();
        }
    }

    @Test
    void shouldSwapMacsOnlyForEchoSwap()
    {
        final MemorySegment packet = MemorySegment.ofArray(new byte[NetBackend.FRAME_OFFSET + 60]);
        packet.set(ValueLayout.JAVA_BYTE, NetBackend.FRAME_OFFSET, (byte)1);
        final NetBackend swap = NetBackendChoice.parse("echo-swap");
        swap.start(1, (final int pair) ->
        {
        });
        swap.transmit(0, packet, 60);
        final MemorySegment back = MemorySegment.ofArray(new byte[NetBackend.FRAME_OFFSET + 60]);
        assertEquals(60, swap.receive(0, back));
        assertEquals(1, back.get(ValueLayout.JAVA_BYTE, NetBackend.FRAME_OFFSET + 6));
    }

    @Test
    void shouldRefuseUnknownNamesAndBadArguments()
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> NetBackendChoice.parse("tap"));
        assertTrue(e.getMessage().endsWith("backend=tap"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NetBackendChoice.parse("echo:x"));
        assertThrows(IllegalArgumentException.class, () -> NetBackendChoice.parse("responder:10.0.2"));
        assertThrows(IllegalArgumentException.class, () -> NetBackendChoice.parse("udp:9"));
        assertThrows(IllegalArgumentException.class, () -> NetBackendChoice.parse("udp:localhost:x"));
        assertThrows(IllegalArgumentException.class, () -> NetBackendChoice.parse("udp:localhost:70000"));
    }
}
