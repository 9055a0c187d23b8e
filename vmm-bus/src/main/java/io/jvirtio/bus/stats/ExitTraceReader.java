package io.jvirtio.bus.stats;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.wire.DocumentContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongSupplier;
import java.util.stream.Stream;

/**
 * Reads an exit trace written through {@link ExitTrace}: record by record with {@link #read}, or as statistics with
 * {@link #replay}, which feeds every exit through a fresh {@link ExitStats} so that the result equals what the live
 * statistics would have sampled at the last exit, table for table.
 * <p>
 * A trace file is input from outside the process: every record is checked for its kind, its exact length, its magic
 * and version (session records), its reason and path codes, and a vCPU index within its session. A record that fails
 * a check is skipped and counted in {@link Counts#malformedRecords()}; nothing in a trace can make the reader throw
 * or allocate beyond one {@link ExitStats} of at most {@link ExitStats#MAX_VCPUS} vCPUs.
 * <p>
 * Thread safety: stateless; any thread, each call reading on its own.
 */
public final class ExitTraceReader
{
    private static final String QUEUE_FILE_SUFFIX = ".cq4";
    /** Tells {@link #read(Path, ExitTraceListener, long)} to read up to the last index present when it opens. */
    private static final long LAST_INDEX_AT_OPEN = Long.MIN_VALUE;

    private ExitTraceReader()
    {
    }

    /**
     * What a read found. Thread safety: immutable; any thread.
     *
     * @param sessions         valid session records.
     * @param exits            valid exit records, delivered to the listener.
     * @param malformedRecords records skipped because a check failed, including exit records outside a valid session.
     */
    public record Counts(long sessions, long exits, long malformedRecords)
    {
    }

    /**
     * The statistics rebuilt from a trace. Thread safety: immutable; any thread.
     *
     * @param snapshot the statistics: cumulative over the whole trace, and its interval is the time the sessions
     *                 covered (each from its start to its last exit, summed).
     * @param counts   what the read found.
     */
    public record Replay(ExitStatsSnapshot snapshot, Counts counts)
    {
    }

    /**
     * Delivers every valid record of the trace in {@code directory} to {@code listener}, in order, up to the last
     * record present when the read starts: a trace that is still being written is read as of that moment.
     *
     * @return what was found.
     * @throws IllegalArgumentException if {@code directory} holds no queue files.
     */
    public static Counts read(final Path directory, final ExitTraceListener listener)
    {
        return read(directory, listener, LAST_INDEX_AT_OPEN).counts();
    }

    /** One pass over a trace: what it found, and the index of the last document it considered. */
    private record Pass(Counts counts, long lastIndex)
    {
    }

    private static Pass read(final Path directory, final ExitTraceListener listener, final long lastIndexOrAtOpen)
    {
        requireTrace(directory);
        long sessions = 0;
        long exits = 0;
        long malformed = 0;
        int sessionVcpus = 0;
        try (ChronicleQueue queue = ExitTrace.openQueue(directory, true);
            ExcerptTailer tailer = queue.createTailer())
        {
            final long lastIndex = lastIndexOrAtOpen == LAST_INDEX_AT_OPEN ? queue.lastIndex() : lastIndexOrAtOpen;
            // Bounded: each iteration consumes one document, and only documents up to lastIndex count, so a trace
            // that is still being written cannot keep the reader going.
            while (true)
            {
                try (DocumentContext dc = tailer.readingDocument())
                {
                    if (!dc.isPresent() || dc.index() > lastIndex)
                    {
                        break;
                    }
                    if (dc.isMetaData())
                    {
                        continue;
                    }
                    final Bytes<?> bytes = dc.wire().bytes();
                    final long start = bytes.readPosition();
                    final long length = bytes.readRemaining();
                    final byte kind = length > 0 ? bytes.readByte(start) : 0;
                    if (kind == ExitTraceLayout.KIND_SESSION && length == ExitTraceLayout.SESSION_LENGTH)
                    {
                        final int magic = bytes.readInt(start + ExitTraceLayout.SESSION_MAGIC_OFFSET);
                        final int version = bytes.readInt(start + ExitTraceLayout.SESSION_VERSION_OFFSET);
                        final int vcpus = bytes.readInt(start + ExitTraceLayout.SESSION_VCPU_COUNT_OFFSET);
                        if (magic == ExitTraceLayout.MAGIC && version == ExitTraceLayout.VERSION
                            && vcpus >= 1 && vcpus <= ExitStats.MAX_VCPUS)
                        {
                            sessionVcpus = vcpus;
                            sessions++;
                            listener.onSession(bytes.readLong(start + ExitTraceLayout.SESSION_START_NANOS_OFFSET),
                                vcpus);
                        }
                        else
                        {
                            sessionVcpus = 0;
                            malformed++;
                        }
                    }
                    else if (kind == ExitTraceLayout.KIND_EXIT && length == ExitTraceLayout.EXIT_LENGTH)
                    {
                        final ExitReason reason =
                            ExitReason.fromCode(bytes.readByte(start + ExitTraceLayout.EXIT_REASON_OFFSET));
                        final ExitPath path =
                            ExitPath.fromCode(bytes.readByte(start + ExitTraceLayout.EXIT_PATH_OFFSET));
                        final int vcpu = bytes.readInt(start + ExitTraceLayout.EXIT_VCPU_OFFSET);
                        if (reason != null && path != null && vcpu >= 0 && vcpu < sessionVcpus)
                        {
                            exits++;
                            listener.onExit(bytes.readLong(start + ExitTraceLayout.EXIT_TIME_OFFSET), vcpu, reason,
                                path, bytes.readLong(start + ExitTraceLayout.EXIT_ADDRESS_OFFSET),
                                bytes.readLong(start + ExitTraceLayout.EXIT_NANOS_OFFSET));
                        }
                        else
                        {
                            malformed++;
                        }
                    }
                    else
                    {
                        malformed++;
                    }
                }
            }
            return new Pass(new Counts(sessions, exits, malformed), lastIndex);
        }
    }

    /**
     * Rebuilds the statistics of the trace in {@code directory}: two passes, one for the largest vCPU count of its
     * sessions, one feeding every exit to an {@link ExitStats} of that size, on a virtual clock that lays the
     * sessions end to end. With one session, the result equals a live {@link ExitStats#sample()} taken at the last
     * exit.
     *
     * @return the statistics and what the read found.
     * @throws IllegalArgumentException if {@code directory} holds no queue files.
     */
    public static Replay replay(final Path directory)
    {
        final SessionScan scan = new SessionScan();
        final long lastIndex = read(directory, scan, LAST_INDEX_AT_OPEN).lastIndex();
        final VirtualClock clock = new VirtualClock();
        final ExitStats stats = new ExitStats(Math.max(1, scan.maxVcpus), null, clock);
        final Counts counts = read(directory, new ExitTraceListener()
        {
            @Override
            public void onSession(final long startNanos, final int vcpuCount)
            {
                clock.startSession(startNanos);
            }

            @Override
            public void onExit(
                final long timeNanos,
                final int vcpuId,
                final ExitReason reason,
                final ExitPath path,
                final long address,
                final long nanos)
            {
                clock.advanceTo(timeNanos);
                stats.vcpu(vcpuId).record(reason, path, address, nanos);
            }
        }, lastIndex).counts();
        return new Replay(stats.sample(), counts);
    }

    private static void requireTrace(final Path directory)
    {
        boolean found = false;
        if (Files.isDirectory(directory))
        {
            try (Stream<Path> files = Files.list(directory))
            {
                found = files.anyMatch(f -> f.getFileName().toString().endsWith(QUEUE_FILE_SUFFIX));
            }
            catch (final IOException e)
            {
                throw new UncheckedIOException("cannot list the exit trace directory: dir=" + directory, e);
            }
        }
        if (!found)
        {
            throw new IllegalArgumentException("no exit trace in directory: dir=" + directory);
        }
    }

    /** First pass of {@link #replay}: the largest vCPU count of any session. */
    private static final class SessionScan implements ExitTraceListener
    {
        int maxVcpus;

        @Override
        public void onSession(final long startNanos, final int vcpuCount)
        {
            maxVcpus = Math.max(maxVcpus, vcpuCount);
        }

        @Override
        public void onExit(
            final long timeNanos,
            final int vcpuId,
            final ExitReason reason,
            final ExitPath path,
            final long address,
            final long nanos)
        {
        }
    }

    /**
     * The replay's clock: starts at 0 and covers each session from its start to its last exit, the sessions laid end
     * to end, so that clocks of different runs (each {@link System#nanoTime()} has its own origin) never mix.
     */
    private static final class VirtualClock implements LongSupplier
    {
        private long now;
        private long sessionBase;
        private long sessionStart;

        void startSession(final long startNanos)
        {
            sessionBase = now;
            sessionStart = startNanos;
        }

        void advanceTo(final long timeNanos)
        {
            now = Math.max(now, sessionBase + (timeNanos - sessionStart));
        }

        @Override
        public long getAsLong()
        {
            return now;
        }
    }
}
