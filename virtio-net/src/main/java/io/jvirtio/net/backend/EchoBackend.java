package io.jvirtio.net.backend;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A backend that sends every TX frame back to the guest on the same queue pair, byte for byte with its header, or
 * with the Ethernet destination and source MACs swapped (as a reflector on the wire would answer).
 * <p>
 * Each pair has its own bounded byte ring of records {@code [le32 length | header | frame]}, 4-byte aligned, filled
 * by {@link #transmit} and drained by {@link #receive}. Both run on the pair's worker thread (the
 * {@link NetBackend} contract), so the ring needs no synchronization. A frame that does not fit the ring is dropped
 * and counted ({@link #dropped()}): the guest's RX queue being full never makes memory grow.
 * <p>
 * Thread safety: as {@link NetBackend}; counters from any thread.
 */
public final class EchoBackend implements NetBackend
{
    /** Ring bytes per pair unless configured: room for about 160 full-size 1514-byte frames. */
    public static final int DEFAULT_RING_BYTES = 256 * 1024;

    private static final int RECORD_HEADER = Integer.BYTES;
    private static final int WRAP_MARKER = -1;
    private static final int MAC_LENGTH = 6;

    private final int ringBytes;
    private final boolean swapMacs;
    private final AtomicLong echoed = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private Ring[] rings = new Ring[0];

    /**
     * @param ringBytes bytes of ring per queue pair, at least 64 KiB + 16 so that the largest frame fits.
     * @param swapMacs  swap the destination and source MAC addresses of every echoed frame.
     */
    public EchoBackend(final int ringBytes, final boolean swapMacs)
    {
        if (ringBytes < 65_536 + 16)
        {
            throw new IllegalArgumentException("echo ring must hold a 64 KiB frame: ringBytes=" + ringBytes);
        }
        this.ringBytes = ringBytes;
        this.swapMacs = swapMacs;
    }

    /** @return an echo with {@link #DEFAULT_RING_BYTES} per pair that leaves the MACs alone. */
    public static EchoBackend plain()
    {
        return new EchoBackend(DEFAULT_RING_BYTES, false);
    }

    @Override
    public void start(final int queuePairs, final RxWakeup wakeup)
    {
        if (rings.length < queuePairs)
        {
            final Ring[] grown = new Ring[queuePairs];
            System.arraycopy(rings, 0, grown, 0, rings.length);
            for (int p = rings.length; p < queuePairs; p++)
            {
                grown[p] = new Ring(Arena.ofAuto().allocate(ringBytes, Long.BYTES));
            }
            rings = grown;
        }
        for (final Ring ring : rings)
        {
            ring.clear();
        }
    }

    @Override
    public void transmit(final int pair, final MemorySegment packet, final int frameLength)
    {
        final Ring ring = rings[pair];
        final int packetLength = FRAME_OFFSET + frameLength;
        final int at = ring.reserve(packetLength);
        if (at < 0)
        {
            dropped.getAndIncrement();
            return;
        }
        final MemorySegment bytes = ring.bytes;
        bytes.set(ValueLayout.JAVA_INT_UNALIGNED, at, frameLength);
        MemorySegment.copy(packet, 0, bytes, at + RECORD_HEADER, packetLength);
        if (swapMacs && frameLength >= 2 * MAC_LENGTH)
        {
            final long frame = at + RECORD_HEADER + FRAME_OFFSET;
            // bound: six octets
            for (int i = 0; i < MAC_LENGTH; i++)
            {
                final byte dst = bytes.get(ValueLayout.JAVA_BYTE, frame + i);
                bytes.set(ValueLayout.JAVA_BYTE, frame + i, bytes.get(ValueLayout.JAVA_BYTE, frame + MAC_LENGTH + i));
                bytes.set(ValueLayout.JAVA_BYTE, frame + MAC_LENGTH + i, dst);
            }
        }
        echoed.getAndIncrement();
    }

    @Override
    public int receive(final int pair, final MemorySegment packet)
    {
        final Ring ring = rings[pair];
        final int at = ring.peek();
        if (at < 0)
        {
            return NO_FRAME;
        }
        final MemorySegment bytes = ring.bytes;
        final int frameLength = bytes.get(ValueLayout.JAVA_INT_UNALIGNED, at);
        final int packetLength = FRAME_OFFSET + frameLength;
        if (packetLength > packet.byteSize())
        {
            ring.release(packetLength);
            dropped.getAndIncrement();
            return NO_FRAME;
        }
        MemorySegment.copy(bytes, at + RECORD_HEADER, packet, 0, packetLength);
        ring.release(packetLength);
        return frameLength;
    }

    @Override
    public void stop()
    {
        for (final Ring ring : rings)
        {
            ring.clear();
        }
    }

    /** @return frames queued for echo. */
    public long echoed()
    {
        return echoed.get();
    }

    /** @return frames dropped because a pair's ring was full or the device's buffer too small. */
    public long dropped()
    {
        return dropped.get();
    }

    /** @return packets waiting in pair {@code pair}'s ring (from that pair's worker thread, or while stopped). */
    public int queued(final int pair)
    {
        return pair < rings.length ? rings[pair].records : 0;
    }

    /** One pair's ring: records never wrap; the space at the end that a record does not fit is skipped. */
    private static final class Ring
    {
        private final MemorySegment bytes;
        private final int capacity;
        private int readPos;
        private int writePos;
        private int used;
        private int records;

        Ring(final MemorySegment bytes)
        {
            this.bytes = bytes;
            this.capacity = (int)bytes.byteSize();
        }

        void clear()
        {
            readPos = 0;
            writePos = 0;
            used = 0;
            records = 0;
        }

        private static int recordLength(final int packetLength)
        {
            return (RECORD_HEADER + packetLength + 3) & ~3;
        }

        /** @return where the record goes, or -1 if it does not fit. */
        int reserve(final int packetLength)
        {
            final int length = recordLength(packetLength);
            final int waste = writePos + length > capacity ? capacity - writePos : 0;
            if (length > capacity || used + waste + length > capacity)
            {
                return -1;
            }
            if (waste > 0)
            {
                if (waste >= RECORD_HEADER)
                {
                    bytes.set(ValueLayout.JAVA_INT_UNALIGNED, writePos, WRAP_MARKER);
                }
                used += waste;
                writePos = 0;
            }
            final int at = writePos;
            writePos = at + length == capacity ? 0 : at + length;
            used += length;
            records++;
            return at;
        }

        /** @return where the oldest record starts, or -1 if the ring is empty. */
        int peek()
        {
            if (records == 0)
            {
                return -1;
            }
            if (capacity - readPos < RECORD_HEADER
                || bytes.get(ValueLayout.JAVA_INT_UNALIGNED, readPos) == WRAP_MARKER)
            {
                used -= capacity - readPos;
                readPos = 0;
            }
            return readPos;
        }

        void release(final int packetLength)
        {
            final int length = recordLength(packetLength);
            readPos = readPos + length == capacity ? 0 : readPos + length;
            used -= length;
            records--;
            if (records == 0)
            {
                clear();
            }
        }
    }
}
