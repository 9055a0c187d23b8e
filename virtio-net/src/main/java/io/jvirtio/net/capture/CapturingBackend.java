package io.jvirtio.net.capture;

import io.jvirtio.bus.stats.ChronicleQueues;
import io.jvirtio.net.backend.NetBackend;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.wire.DocumentContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link NetBackend} decorator that records every frame in both directions (TX from the guest as it is handed to
 * the wrapped backend, RX to the guest as the wrapped backend hands it out) into a Chronicle Queue, one document per
 * frame in the layout of {@link CaptureLayout}, written through the raw document API
 * ({@code appender.writingDocument()}, then fixed-field writes and one copy of the frame bytes).
 * <p>
 * RX frames are recorded as the backend returns them: a frame the device then drops (no RX buffers, too long for
 * them) is still in the capture. Recording never changes what the wrapped backend sees or returns. A frame that
 * cannot be recorded (the queue failed, the capture is closed) is counted in {@link #failures()} and still passed
 * on. Nothing is allocated per frame beyond what Chronicle does (it allocates nothing in steady state).
 * <p>
 * Each pair appends through its own appender, created on the pair's worker thread at its first frame (Chronicle
 * confines an appender to one thread); at {@link #stop} the appenders are released so that the next workers,
 * which are new threads, can take them over.
 * <p>
 * Thread safety: as {@link NetBackend}; {@link #close()} on the control thread after the device has been reset;
 * counters from any thread.
 */
public final class CapturingBackend implements NetBackend, AutoCloseable
{
    /** The most queue pairs {@link NetBackend#start} is given. */
    private static final int MAX_PAIRS = 64;

    private final NetBackend inner;
    private final Path directory;
    private final boolean headers;
    private final ChronicleQueue queue;
    private final long epochMinusNano;
    private final ExcerptAppender[] appenders = new ExcerptAppender[MAX_PAIRS];
    private final AtomicLong captured = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile boolean closed;

    private CapturingBackend(final NetBackend inner, final Path directory, final boolean headers,
        final ChronicleQueue queue)
    {
        this.inner = inner;
        this.directory = directory;
        this.headers = headers;
        this.queue = queue;
        // epoch time = nanoTime + offset, fixed once: reading the wall clock per frame would allocate an Instant
        this.epochMinusNano = System.currentTimeMillis() * 1_000_000L - System.nanoTime();
    }

    /**
     * Opens (or appends to) the capture in {@code directory}, creating the directory if needed.
     *
     * @param inner     the backend whose frames are recorded.
     * @param directory where the queue's files go.
     * @param headers   record the 12-byte virtio_net_hdr with each frame.
     * @return the decorator; close it after the device has been reset.
     * @throws UncheckedIOException if the directory cannot be created.
     */
    public static CapturingBackend open(final NetBackend inner, final Path directory, final boolean headers)
    {
        try
        {
            Files.createDirectories(directory);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot create the capture directory: dir=" + directory, e);
        }
        return new CapturingBackend(inner, directory, headers, ChronicleQueues.open(directory, false));
    }

    /** @return the directory the capture is written to. */
    public Path directory()
    {
        return directory;
    }

    /** @return the wrapped backend. */
    public NetBackend inner()
    {
        return inner;
    }

    @Override
    public void start(final int queuePairs, final RxWakeup wakeup)
    {
        if (queuePairs > MAX_PAIRS)
        {
            throw new IllegalArgumentException("too many queue pairs to capture: queuePairs=" + queuePairs
                + ", max=" + MAX_PAIRS);
        }
        inner.start(queuePairs, wakeup);
    }

    @Override
    public void transmit(final int pair, final MemorySegment packet, final int frameLength)
    {
        record(CaptureDirection.TX, pair, packet, frameLength);
        inner.transmit(pair, packet, frameLength);
    }

    @Override
    public int receive(final int pair, final MemorySegment packet)
    {
        final int length = inner.receive(pair, packet);
        if (length != NO_FRAME)
        {
            record(CaptureDirection.RX, pair, packet, length);
        }
        return length;
    }

    @Override
    public void stop()
    {
        inner.stop();
        // every worker has stopped (the NetBackend contract): the next start's workers are new threads
        for (final ExcerptAppender appender : appenders)
        {
            if (appender != null)
            {
                appender.singleThreadedCheckReset();
            }
        }
    }

    /** Closes the queue; frames that pass after this are counted in {@link #failures()}. */
    @Override
    public void close()
    {
        closed = true;
        queue.close();
    }

    /** @return frames recorded. */
    public long captured()
    {
        return captured.get();
    }

    /** @return frames not recorded: the queue failed or was closed, or the packet was shorter than its frame. */
    public long failures()
    {
        return failures.get();
    }

    private void record(final CaptureDirection direction, final int pair, final MemorySegment packet,
        final int frameLength)
    {
        final long size = packet.byteSize();
        if (closed || pair < 0 || pair >= MAX_PAIRS || frameLength < 0 || FRAME_OFFSET + (long)frameLength > size)
        {
            failures.getAndIncrement();
            return;
        }
        try
        {
            ExcerptAppender appender = appenders[pair];
            if (appender == null)
            {
                appender = queue.createAppender();
                appenders[pair] = appender;
            }
            final int headerLength = headers ? FRAME_OFFSET : 0;
            try (DocumentContext dc = appender.writingDocument())
            {
                final Bytes<?> bytes = dc.wire().bytes();
                bytes.writeByte((byte)direction.code());
                bytes.writeByte((byte)headerLength);
                bytes.writeShort((short)pair);
                bytes.writeInt(frameLength);
                bytes.writeLong(epochMinusNano + System.nanoTime());
                final long from = FRAME_OFFSET - headerLength;
                write(bytes, packet, from, headerLength + frameLength);
            }
            captured.getAndIncrement();
        }
        catch (final RuntimeException e)
        {
            failures.getAndIncrement();
        }
    }

    /** Copies {@code length} bytes of {@code packet} from {@code from}, already checked to lie inside it. */
    private static void write(final Bytes<?> bytes, final MemorySegment packet, final long from, final int length)
    {
        if (packet.isNative())
        {
            bytes.unsafeWrite(packet.address() + from, length);
            return;
        }
        int i = 0;
        // bound: the packet's length, checked against its segment; eight bytes at a time in native order both sides
        for (; i + Long.BYTES <= length; i += Long.BYTES)
        {
            bytes.writeLong(packet.get(ValueLayout.JAVA_LONG_UNALIGNED, from + i));
        }
        // bound: fewer than eight bytes left
        for (; i < length; i++)
        {
            bytes.writeByte(packet.get(ValueLayout.JAVA_BYTE, from + i));
        }
    }
}
