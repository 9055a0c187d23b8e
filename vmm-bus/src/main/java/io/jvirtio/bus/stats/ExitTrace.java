package io.jvirtio.bus.stats;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.wire.DocumentContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A trace of every exit, appended to a Chronicle Queue in a directory: the analogue of recording the
 * {@code kvm_exit} and {@code kvm_fast_mmio} tracepoints (arch/x86/kvm/vmx/vmx.c) for later analysis with
 * {@link ExitTraceReader}. Give it to {@link ExitStats}, which writes a session record and then one exit record per
 * exit, in the fixed binary layout of {@link ExitTraceLayout}, through Chronicle's raw document API (no method
 * writer, no proxy): each vCPU appends through its own appender on its own thread.
 * <p>
 * Chronicle's usage analytics and its start-up banner are switched off: the queue is opened through
 * {@link ChronicleQueues}, whose static initializer sets the properties before any Chronicle class initialises.
 * <p>
 * Thread safety: {@link #open} and {@link #close()} on any thread; {@link #close()} only after the vCPUs that record
 * into it have stopped. The per-vCPU writers are confined to their vCPU's thread.
 */
public final class ExitTrace implements AutoCloseable
{
    private final Path directory;
    private final ChronicleQueue queue;

    private ExitTrace(final Path directory, final ChronicleQueue queue)
    {
        this.directory = directory;
        this.queue = queue;
    }

    /**
     * Opens the trace in {@code directory}, creating the directory if needed. An existing trace there is appended
     * to: its next session starts with the next {@link ExitStats}.
     *
     * @param directory where the queue's files go.
     * @return the open trace.
     * @throws UncheckedIOException if the directory cannot be created.
     */
    public static ExitTrace open(final Path directory)
    {
        try
        {
            Files.createDirectories(directory);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot create the exit trace directory: dir=" + directory, e);
        }
        return new ExitTrace(directory, openQueue(directory, false));
    }

    /** @return the directory the trace is written to. */
    public Path directory()
    {
        return directory;
    }

    /** Closes the queue; records written after this are dropped and counted as trace write failures. */
    @Override
    public void close()
    {
        queue.close();
    }

    /** Opens the trace's queue through {@link ChronicleQueues}, which switches the analytics off first. */
    static ChronicleQueue openQueue(final Path directory, final boolean readOnly)
    {
        return ChronicleQueues.open(directory, readOnly);
    }

    /** Writes a session record on the calling thread; see {@link ExitTraceLayout}. */
    void writeSession(final int vcpuCount, final long startNanos)
    {
        try (ExcerptAppender appender = queue.createAppender();
            DocumentContext dc = appender.writingDocument())
        {
            final Bytes<?> bytes = dc.wire().bytes();
            bytes.writeByte(ExitTraceLayout.KIND_SESSION);
            bytes.writeInt(ExitTraceLayout.MAGIC);
            bytes.writeInt(ExitTraceLayout.VERSION);
            bytes.writeInt(vcpuCount);
            bytes.writeLong(startNanos);
        }
    }

    /** @return a writer for one vCPU; its appender is created on the first write, on the vCPU's thread. */
    Writer writer(final int vcpuId)
    {
        return new Writer(vcpuId);
    }

    /**
     * Appends one vCPU's exit records. Confined to that vCPU's thread, which Chronicle requires of an appender.
     */
    final class Writer
    {
        private final int vcpuId;
        private ExcerptAppender appender;
        private boolean failed;

        private Writer(final int vcpuId)
        {
            this.vcpuId = vcpuId;
        }

        /**
         * Appends one exit record; see {@link ExitTraceLayout}.
         *
         * @return false if the record was not written: the queue failed (it is closed, or the disk is full), now or
         *         before; after the first failure nothing more is attempted, so a broken trace costs the vCPU nothing.
         */
        boolean write(
            final long timeNanos, final ExitReason reason, final ExitPath path, final long address, final long nanos)
        {
            if (failed)
            {
                return false;
            }
            try
            {
                ExcerptAppender a = appender;
                if (a == null)
                {
                    a = queue.createAppender();
                    appender = a;
                }
                try (DocumentContext dc = a.writingDocument())
                {
                    final Bytes<?> bytes = dc.wire().bytes();
                    bytes.writeByte(ExitTraceLayout.KIND_EXIT);
                    bytes.writeByte((byte)reason.code());
                    bytes.writeByte((byte)path.code());
                    bytes.writeInt(vcpuId);
                    bytes.writeLong(timeNanos);
                    bytes.writeLong(address);
                    bytes.writeLong(nanos);
                }
                return true;
            }
            catch (final RuntimeException e)
            {
                failed = true;
                return false;
            }
        }
    }
}
