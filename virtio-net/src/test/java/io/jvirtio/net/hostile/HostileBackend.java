package io.jvirtio.net.hostile;

import io.jvirtio.net.backend.NetBackend;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A backend for the hostile-guest tests: keeps every packet the device transmitted (header and frame) and hands the
 * device the packets a test offers, waking the pair's worker as a backend with its own I/O thread does.
 * <p>
 * Thread safety: {@link #offer} and the readers from the test thread; the {@link NetBackend} methods from the
 * device's worker, as that interface says.
 */
final class HostileBackend implements NetBackend
{
    final ConcurrentLinkedQueue<byte[]> transmitted = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<byte[]> toReceive = new ConcurrentLinkedQueue<>();
    private volatile RxWakeup wakeup;

    @Override
    public void start(final int queuePairs, final RxWakeup rxWakeup)
    {
        this.wakeup = rxWakeup;
    }

    @Override
    public void transmit(final int pair, final MemorySegment packet, final int frameLength)
    {
        transmitted.add(packet.asSlice(0, FRAME_OFFSET + frameLength).toArray(ValueLayout.JAVA_BYTE));
    }

    @Override
    public int receive(final int pair, final MemorySegment packet)
    {
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

    /** Queues a packet (a 12-byte header, then the frame) for pair 0 and wakes its worker. */
    void offer(final byte[] packet)
    {
        toReceive.add(packet);
        final RxWakeup w = wakeup;
        if (w != null)
        {
            w.framesAvailable(0);
        }
    }

    /** Drops the packets offered and not yet taken by the device (test thread). */
    void clear()
    {
        toReceive.clear();
    }

    /** @return packets offered and not yet taken by the device. */
    int waiting()
    {
        return toReceive.size();
    }
}
