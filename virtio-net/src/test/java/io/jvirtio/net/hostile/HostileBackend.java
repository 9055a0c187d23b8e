package io.jvirtio.net.hostile;

import io.jvirtio.net.backend.NetBackend;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A backend for the hostile-guest tests: keeps every packet the device transmitted (header and frame) and hands the
 * device the packets a test offers, waking the pair's worker as a backend with its own I/O thread does. A real
 * backend may be put {@link #behind(NetBackend) behind} it: it then also gets every transmitted frame, and the device
 * receives from it when no offered packet waits.
 * <p>
 * Thread safety: {@link #offer} and the readers from the test thread; the {@link NetBackend} methods from the
 * device's worker, as that interface says.
 */
final class HostileBackend implements NetBackend
{
    final ConcurrentLinkedQueue<byte[]> transmitted = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<byte[]> toReceive = new ConcurrentLinkedQueue<>();
    private volatile RxWakeup wakeup;
    private volatile NetBackend behind;

    @Override
    public void start(final int queuePairs, final RxWakeup rxWakeup)
    {
        this.wakeup = rxWakeup;
    }

    @Override
    public void transmit(final int pair, final MemorySegment packet, final int frameLength)
    {
        transmitted.add(packet.asSlice(0, FRAME_OFFSET + frameLength).toArray(ValueLayout.JAVA_BYTE));
        final NetBackend next = behind;
        if (next != null)
        {
            next.transmit(pair, packet, frameLength);
        }
    }

    @Override
    public int receive(final int pair, final MemorySegment packet)
    {
        final byte[] next = toReceive.poll();
        if (next == null)
        {
            final NetBackend real = behind;
            return real == null ? NO_FRAME : real.receive(pair, packet);
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

    /**
     * Starts {@code backend} for one pair with this backend's wake-up and puts it behind this one (test thread, after
     * the device started); null takes it away, unstopped, so that its counters can still be read.
     */
    void behind(final NetBackend backend)
    {
        if (backend != null)
        {
            backend.start(1, wakeup);
        }
        behind = backend;
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
