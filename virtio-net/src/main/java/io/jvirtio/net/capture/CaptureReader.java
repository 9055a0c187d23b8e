package io.jvirtio.net.capture;

import io.jvirtio.bus.stats.ChronicleQueues;
import io.jvirtio.net.backend.NetBackend;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.wire.DocumentContext;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Reads a capture written by {@link CapturingBackend}, in order, from the start. Records that are not frames (too
 * short, an unknown direction, lengths that disagree with the record's size) are skipped and counted.
 * <p>
 * Thread safety: stateless; each call opens its own read-only queue on the calling thread.
 */
public final class CaptureReader
{
    private CaptureReader()
    {
    }

    /**
     * What one read found.
     *
     * @param frames  frames passed to the consumer.
     * @param skipped records that were not well-formed frames.
     */
    public record Counts(long frames, long skipped)
    {
    }

    /**
     * Passes every frame of the capture in {@code directory} to {@code action}, in recorded order.
     *
     * @param directory a capture directory.
     * @param action    called once per frame, on this thread.
     * @return what was read.
     * @throws IllegalArgumentException if the directory holds no queue.
     */
    public static Counts read(final Path directory, final Consumer<CapturedFrame> action)
    {
        if (!Files.isDirectory(directory))
        {
            throw new IllegalArgumentException("no capture in directory: dir=" + directory);
        }
        long frames = 0;
        long skipped = 0;
        try (ChronicleQueue queue = ChronicleQueues.open(directory, true);
            ExcerptTailer tailer = queue.createTailer())
        {
            // bound: the queue's documents, each read once; the queue is read-only so it does not grow under us
            while (true)
            {
                try (DocumentContext dc = tailer.readingDocument())
                {
                    if (!dc.isPresent())
                    {
                        break;
                    }
                    final CapturedFrame frame = decode(dc.wire().bytes());
                    if (frame == null)
                    {
                        skipped++;
                    }
                    else
                    {
                        frames++;
                        action.accept(frame);
                    }
                }
            }
        }
        return new Counts(frames, skipped);
    }

    /** @return the frame in {@code bytes}, or null if the record is not one. */
    private static CapturedFrame decode(final Bytes<?> bytes)
    {
        if (bytes.readRemaining() < CaptureLayout.LENGTH)
        {
            return null;
        }
        final CaptureDirection direction = CaptureDirection.ofCode(bytes.readByte());
        final int headerLength = bytes.readByte();
        final int pair = bytes.readShort() & 0xFFFF;
        final int frameLength = bytes.readInt();
        final long timeNanos = bytes.readLong();
        if (direction == null || (headerLength != 0 && headerLength != NetBackend.FRAME_OFFSET)
            || frameLength < 0 || frameLength > CaptureLayout.MAX_FRAME_LENGTH
            || bytes.readRemaining() != (long)headerLength + frameLength)
        {
            return null;
        }
        final byte[] header = new byte[headerLength];
        final byte[] frame = new byte[frameLength];
        bytes.read(header);
        bytes.read(frame);
        return new CapturedFrame(direction, pair, timeNanos, header, frame);
    }
}
