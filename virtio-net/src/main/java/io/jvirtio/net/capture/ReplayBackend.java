package io.jvirtio.net.capture;

import io.jvirtio.net.backend.NetBackend;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link NetBackend} that feeds a capture's TX frames to the guest as RX traffic, for throughput tests: every
 * active queue pair receives the whole recorded sequence (frames of all pairs, in recorded order) from its own
 * cursor, once or looping. What the guest transmits is counted and discarded.
 * <p>
 * The frames are loaded once, at {@link #load}, into one off-heap buffer; {@link #receive} only copies from it, so
 * nothing is allocated per frame. A recorded header is replayed with its frame; without one the header is zeros.
 * <p>
 * Thread safety: as {@link NetBackend}; counters from any thread.
 */
public final class ReplayBackend implements NetBackend
{
    /** The most bytes of frames a replay holds unless configured: 256 MiB. */
    public static final long DEFAULT_MAX_BYTES = 256L << 20;

    private final MemorySegment frames;
    private final long[] offsets;
    private final int[] lengths;
    private final boolean loop;
    private final AtomicLong replayed = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong discarded = new AtomicLong();
    private int[] cursors = new int[0];

    private ReplayBackend(final MemorySegment frames, final long[] offsets, final int[] lengths, final boolean loop)
    {
        this.frames = frames;
        this.offsets = offsets;
        this.lengths = lengths;
        this.loop = loop;
    }

    /**
     * Loads the TX frames of a capture, at most {@link #DEFAULT_MAX_BYTES} of them.
     *
     * @param captureDirectory a directory written by {@link CapturingBackend}.
     * @param loop             start again from the first frame after the last.
     * @return the replay.
     */
    public static ReplayBackend load(final Path captureDirectory, final boolean loop)
    {
        return load(captureDirectory, loop, DEFAULT_MAX_BYTES);
    }

    /**
     * Loads the TX frames of a capture.
     *
     * @param captureDirectory a directory written by {@link CapturingBackend}.
     * @param loop             start again from the first frame after the last.
     * @param maxBytes         the most bytes of packets (header and frame) to hold.
     * @return the replay.
     * @throws IllegalArgumentException if the capture's TX packets need more than {@code maxBytes}.
     */
    public static ReplayBackend load(final Path captureDirectory, final boolean loop, final long maxBytes)
    {
        final List<CapturedFrame> tx = new ArrayList<>();
        final long[] total = new long[1];
        CaptureReader.read(captureDirectory, frame ->
        {
            if (frame.direction() == CaptureDirection.TX)
            {
                total[0] += FRAME_OFFSET + frame.frame().length;
                if (total[0] > maxBytes)
                {
                    throw new IllegalArgumentException("capture too large to replay: dir=" + captureDirectory
                        + ", maxBytes=" + maxBytes);
                }
                tx.add(frame);
            }
        });
        final MemorySegment frames = Arena.ofAuto().allocate(Math.max(1, total[0]), Long.BYTES);
        final long[] offsets = new long[tx.size()];
        final int[] lengths = new int[tx.size()];
        long at = 0;
        for (int i = 0; i < tx.size(); i++)
        {
            final CapturedFrame frame = tx.get(i);
            final byte[] header = frame.header();
            MemorySegment.copy(MemorySegment.ofArray(header), 0, frames, at, header.length);
            MemorySegment.copy(MemorySegment.ofArray(frame.frame()), 0, frames, at + FRAME_OFFSET,
                frame.frame().length);
            offsets[i] = at;
            lengths[i] = frame.frame().length;
            at += FRAME_OFFSET + frame.frame().length;
        }
        return new ReplayBackend(frames, offsets, lengths, loop);
    }

    /** @return the number of TX frames loaded. */
    public int frameCount()
    {
        return lengths.length;
    }

    @Override
    public void start(final int queuePairs, final RxWakeup wakeup)
    {
        if (cursors.length < queuePairs)
        {
            cursors = new int[queuePairs];
        }
        Arrays.fill(cursors, 0);
        if (lengths.length != 0)
        {
            // bound: queuePairs, at most 64
            for (int p = 0; p < queuePairs; p++)
            {
                wakeup.framesAvailable(p);
            }
        }
    }

    @Override
    public void transmit(final int pair, final MemorySegment packet, final int frameLength)
    {
        discarded.getAndIncrement();
    }

    @Override
    public int receive(final int pair, final MemorySegment packet)
    {
        final int[] c = cursors;
        if (pair < 0 || pair >= c.length)
        {
            return NO_FRAME;
        }
        // bound: one pass over the frames, skipping those too long for the device's buffer
        for (int tries = 0; tries < lengths.length; tries++)
        {
            int next = c[pair];
            if (next == lengths.length)
            {
                if (!loop)
                {
                    return NO_FRAME;
                }
                next = 0;
            }
            c[pair] = next + 1;
            final int length = lengths[next];
            if (FRAME_OFFSET + (long)length > packet.byteSize())
            {
                dropped.getAndIncrement();
                continue;
            }
            MemorySegment.copy(frames, offsets[next], packet, 0, FRAME_OFFSET + length);
            replayed.getAndIncrement();
            return length;
        }
        return NO_FRAME;
    }

    @Override
    public void stop()
    {
        Arrays.fill(cursors, 0);
    }

    /** @return frames handed to the guest. */
    public long replayed()
    {
        return replayed.get();
    }

    /** @return frames skipped because the device's buffer was too small for them. */
    public long dropped()
    {
        return dropped.get();
    }

    /** @return frames the guest transmitted, discarded. */
    public long discarded()
    {
        return discarded.get();
    }
}
