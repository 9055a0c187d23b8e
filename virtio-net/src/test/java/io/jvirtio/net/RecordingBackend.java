package io.jvirtio.net;

import io.jvirtio.net.backend.NetBackend;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/** A backend for tests: keeps every transmitted packet, and offers queued packets for receive. */
final class RecordingBackend implements NetBackend
{
    final List<byte[]> transmitted = new ArrayList<>();
    final ArrayDeque<byte[]> toReceive = new ArrayDeque<>();
    int receiveCalls;

    @Override
    public void start(final int queuePairs, final RxWakeup wakeup)
    {
    }

    @Override
    public void transmit(final int pair, final MemorySegment packet, final int frameLength)
    {
        transmitted.add(packet.asSlice(0, FRAME_OFFSET + frameLength).toArray(ValueLayout.JAVA_BYTE));
    }

    @Override
    public int receive(final int pair, final MemorySegment packet)
    {
        receiveCalls++;
        final byte[] next = toReceive.poll();
        if (next == null)
        {
            return NO_FRAME;
        }
        MemorySegment.copy(MemorySegment.ofArray(next), 0, packet, 0, next.length);
        return next.length - FRAME_OFFSET;
    }

    @Override
    public void stop()
    {
        toReceive.clear();
    }

    /** Queues a packet: a header with {@code gsoType} and {@code flags}, then {@code frameLength} patterned bytes. */
    void offer(final int frameLength, final int flags, final int gsoType, final int seed)
    {
        final byte[] packet = new byte[FRAME_OFFSET + frameLength];
        packet[0] = (byte)flags;
        packet[1] = (byte)gsoType;
        if (gsoType != 0)
        {
            // gso_size 1448, little-endian
            packet[NetHeaderLayout.GSO_SIZE_OFFSET] = (byte)0xA8;
            packet[NetHeaderLayout.GSO_SIZE_OFFSET + 1] = 0x05;
        }
        for (int i = 0; i < frameLength; i++)
        {
            packet[FRAME_OFFSET + i] = (byte)(seed + i * 7);
        }
        toReceive.add(packet);
    }
}
