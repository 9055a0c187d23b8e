package io.jvirtio.bus.stats;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.wire.DocumentContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExitTraceTest
{
    private static final long START = 1_000_000L;
    private static final long END = 251_000_000L;

    /** One exit as the listener saw it. */
    private record Exit(long time, int vcpu, ExitReason reason, ExitPath path, long address, long nanos)
    {
    }

    /** Collects every record of a read. */
    private static class Collector implements ExitTraceListener
    {
        final List<Long> sessionStarts = new ArrayList<>();
        final List<Integer> sessionVcpus = new ArrayList<>();
        final List<Exit> exits = new ArrayList<>();

        @Override
        public void onSession(final long startNanos, final int vcpuCount)
        {
            sessionStarts.add(startNanos);
            sessionVcpus.add(vcpuCount);
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
            exits.add(new Exit(timeNanos, vcpuId, reason, path, address, nanos));
        }
    }

    /** Records a deterministic mix of every reason and path on vCPU {@code vcpuId}'s own thread. */
    private static void runVcpu(final ExitStats stats, final int vcpuId, final int exits) throws InterruptedException
    {
        final Thread vcpu = new Thread(() ->
        {
            final VcpuExitStats recorder = stats.vcpu(vcpuId);
            final ExitPath[] paths = ExitPath.values();
            final ExitReason[] reasons = ExitReason.values();
            for (int i = 0; i < exits; i++)
            {
                final ExitPath path = paths[(i * 7 + vcpuId) % paths.length];
                final ExitReason reason = reasons[(i + vcpuId) % reasons.length];
                final long nanos = i % 1000 == 999 ? -1 : 50 + (i * 31L + vcpuId * 17L) % 20_000;
                recorder.record(reason, path, 0xfe00_0000L + i * 4L, nanos);
            }
        }, "vcpu-" + vcpuId);
        vcpu.start();
        vcpu.join(TimeUnit.SECONDS.toMillis(60));
        assertFalse(vcpu.isAlive(), "vcpu thread did not finish");
    }

    @Test
    void shouldRebuildIdenticalStatisticsWhenTraceIsReplayed(@TempDir final Path dir) throws InterruptedException
    {
        final ManualClock clock = new ManualClock(START);
        final ExitStatsSnapshot live;
        try (ExitTrace trace = ExitTrace.open(dir))
        {
            final ExitStats stats = new ExitStats(2, trace, clock);
            clock.set(END);
            runVcpu(stats, 0, 5_000);
            runVcpu(stats, 1, 3_000);
            live = stats.sample();
            assertEquals(0, stats.traceWriteFailures());
        }

        final ExitTraceReader.Replay replay = ExitTraceReader.replay(dir);
        assertEquals(new ExitTraceReader.Counts(1, 8_000, 0), replay.counts());
        assertEquals(8_000, live.exits());
        assertEquals(8, live.latencyOutOfRange(), "negative latencies were traced unclamped and clamped again");
        assertEquals(END - START, replay.snapshot().intervalNanos());
        assertEquals(live, replay.snapshot());
        assertEquals(ExitStatsTable.table(live), ExitStatsTable.table(replay.snapshot()));
        assertEquals(ExitStatsTable.summary(live), ExitStatsTable.summary(replay.snapshot()));
    }

    @Test
    void shouldDeliverEveryFieldOfEveryRecordInOrder(@TempDir final Path dir)
    {
        final ManualClock clock = new ManualClock(42);
        try (ExitTrace trace = ExitTrace.open(dir))
        {
            final ExitStats stats = new ExitStats(3, trace, clock);
            clock.set(100);
            stats.vcpu(2).record(ExitReason.NPF, ExitPath.FAST_MMIO, 0xfebf_f000L, 700);
            clock.set(200);
            stats.vcpu(0).record(ExitReason.IO_INSTRUCTION, ExitPath.PIO_USERSPACE, 0xcf8, 4_000);
            clock.set(300);
            stats.vcpu(1).record(ExitReason.EPT_MISCONFIG, ExitPath.DECODE_FAILURE, -1L, Long.MIN_VALUE);
        }
        final Collector collector = new Collector();
        final ExitTraceReader.Counts counts = ExitTraceReader.read(dir, collector);

        assertEquals(new ExitTraceReader.Counts(1, 3, 0), counts);
        assertEquals(List.of(42L), collector.sessionStarts);
        assertEquals(List.of(3), collector.sessionVcpus);
        assertEquals(List.of(
            new Exit(100, 2, ExitReason.NPF, ExitPath.FAST_MMIO, 0xfebf_f000L, 700),
            new Exit(200, 0, ExitReason.IO_INSTRUCTION, ExitPath.PIO_USERSPACE, 0xcf8, 4_000),
            new Exit(300, 1, ExitReason.EPT_MISCONFIG, ExitPath.DECODE_FAILURE, -1L, Long.MIN_VALUE)),
            collector.exits);
    }

    @Test
    void shouldSkipAndCountMalformedRecords(@TempDir final Path dir)
    {
        try (ChronicleQueue queue = ExitTrace.openQueue(dir, false);
            ExcerptAppender appender = queue.createAppender())
        {
            exit(appender, 0, ExitReason.HLT.code(), ExitPath.HLT.code()); // before any session
            session(appender, ExitTraceLayout.MAGIC + 1, 2);                // wrong magic
            exit(appender, 0, ExitReason.HLT.code(), ExitPath.HLT.code()); // still no valid session
            session(appender, ExitTraceLayout.MAGIC, ExitStats.MAX_VCPUS + 1); // too many vCPUs
            session(appender, ExitTraceLayout.MAGIC, 2);
            exit(appender, 1, ExitReason.HLT.code(), ExitPath.HLT.code()); // valid
            exit(appender, 2, ExitReason.HLT.code(), ExitPath.HLT.code()); // vCPU outside the session
            exit(appender, -1, ExitReason.HLT.code(), ExitPath.HLT.code()); // negative vCPU
            exit(appender, 0, 99, ExitPath.HLT.code());                     // unknown reason
            exit(appender, 0, ExitReason.HLT.code(), 0);                    // unknown path
            try (DocumentContext dc = appender.writingDocument())
            {
                dc.wire().bytes().writeByte((byte)7).writeLong(1);         // unknown kind
            }
            try (DocumentContext dc = appender.writingDocument())
            {
                dc.wire().bytes().writeByte(ExitTraceLayout.KIND_EXIT).writeLong(1); // short exit record
            }
            try (DocumentContext dc = appender.writingDocument())
            {
                dc.wire().bytes().writeInt(0); // an empty-looking document is not trusted either
            }
            exit(appender, 0, ExitReason.EPT_MISCONFIG.code(), ExitPath.UNHANDLED.code()); // valid
        }
        final Collector collector = new Collector();
        final ExitTraceReader.Counts counts = ExitTraceReader.read(dir, collector);
        assertEquals(new ExitTraceReader.Counts(1, 2, 11), counts);
        assertEquals(List.of(ExitPath.HLT, ExitPath.UNHANDLED), collector.exits.stream().map(Exit::path).toList());
    }

    @Test
    void shouldReadTraceAsOfTheMomentTheReadStarts(@TempDir final Path dir)
    {
        final ManualClock clock = new ManualClock(0);
        try (ExitTrace trace = ExitTrace.open(dir))
        {
            final ExitStats stats = new ExitStats(1, trace, clock);
            for (int i = 0; i < 10; i++)
            {
                stats.vcpu(0).record(ExitReason.HLT, ExitPath.HLT, 0, 100);
            }
        }
        try (ChronicleQueue queue = ExitTrace.openQueue(dir, false);
            ExcerptAppender appender = queue.createAppender())
        {
            // The "VM" keeps writing while the report reads: one new exit for every exit read.
            final Collector growing = new Collector()
            {
                @Override
                public void onExit(
                    final long timeNanos,
                    final int vcpuId,
                    final ExitReason reason,
                    final ExitPath path,
                    final long address,
                    final long nanos)
                {
                    super.onExit(timeNanos, vcpuId, reason, path, address, nanos);
                    if (exits.size() < 1_000)
                    {
                        exit(appender, 0, ExitReason.HLT.code(), ExitPath.HLT.code());
                    }
                }
            };
            assertEquals(new ExitTraceReader.Counts(1, 10, 0), ExitTraceReader.read(dir, growing));
        }
        assertEquals(new ExitTraceReader.Counts(1, 20, 0), ExitTraceReader.replay(dir).counts());
    }

    @Test
    void shouldLaySessionsEndToEndWhenTraceIsReopened(@TempDir final Path dir)
    {
        for (int run = 0; run < 2; run++)
        {
            // Each run has its own clock origin, as two JVMs' nanoTime would.
            final ManualClock clock = new ManualClock(run == 0 ? 5_000 : 900_000_000);
            try (ExitTrace trace = ExitTrace.open(dir))
            {
                final ExitStats stats = new ExitStats(run + 1, trace, clock);
                clock.advance(1_000);
                stats.vcpu(run).record(ExitReason.EPT_MISCONFIG, ExitPath.MMIO_KERNEL, 0x1000, 300);
                clock.advance(2_000);
                stats.vcpu(0).record(ExitReason.EPT_MISCONFIG, ExitPath.MMIO_KERNEL, 0x1000, 300);
            }
        }
        final ExitTraceReader.Replay replay = ExitTraceReader.replay(dir);
        assertEquals(new ExitTraceReader.Counts(2, 4, 0), replay.counts());
        assertEquals(6_000, replay.snapshot().intervalNanos(), "two sessions of 3 us each");
        assertEquals(2, replay.snapshot().vcpus().size(), "sized for the largest session");
        assertEquals(4, replay.snapshot().path(ExitPath.MMIO_KERNEL).count());
        assertEquals(3, replay.snapshot().vcpus().get(0).exits());
        assertEquals(1, replay.snapshot().vcpus().get(1).exits());
    }

    @Test
    void shouldCountTraceWriteFailuresWhenTraceIsClosedUnderIt(@TempDir final Path dir)
    {
        final ExitTrace trace = ExitTrace.open(dir);
        final ExitStats stats = new ExitStats(1, trace, System::nanoTime);
        stats.vcpu(0).record(ExitReason.HLT, ExitPath.HLT, 0, 10);
        trace.close();
        stats.vcpu(0).record(ExitReason.HLT, ExitPath.HLT, 0, 10);
        stats.vcpu(0).record(ExitReason.HLT, ExitPath.HLT, 0, 10);

        assertEquals(3, stats.count(ExitReason.HLT), "counting goes on without the trace");
        assertEquals(2, stats.traceWriteFailures());
        assertEquals(2, stats.sample().traceWriteFailures());
        assertEquals(1, ExitTraceReader.read(dir, new Collector()).exits());
    }

    @Test
    void shouldRefuseDirectoryWithoutTrace(@TempDir final Path dir) throws Exception
    {
        final IllegalArgumentException empty =
            assertThrows(IllegalArgumentException.class, () -> ExitTraceReader.replay(dir));
        assertEquals("no exit trace in directory: dir=" + dir, empty.getMessage());
        final Path missing = dir.resolve("missing");
        assertThrows(IllegalArgumentException.class, () -> ExitTraceReader.read(missing, new Collector()));
        assertFalse(Files.exists(missing), "reading creates nothing");
    }

    @Test
    void shouldSwitchOffChronicleAnalyticsWhenQueueClassInitialises() throws Exception
    {
        final String analytics = System.getProperty("chronicle.analytics.disable");
        final String announcer = System.getProperty("chronicle.announcer.disable");
        System.clearProperty("chronicle.analytics.disable");
        System.clearProperty("chronicle.announcer.disable");
        final List<URL> classPath = new ArrayList<>();
        classPath.add(ChronicleQueues.class.getProtectionDomain().getCodeSource().getLocation());
        for (final String entry : System.getProperty("java.class.path").split(File.pathSeparator))
        {
            classPath.add(Path.of(entry).toUri().toURL());
        }
        try (URLClassLoader isolated =
            new URLClassLoader(classPath.toArray(new URL[0]), ClassLoader.getPlatformClassLoader()))
        {
            // A fresh copy of the class, initialised as an embedder's first queue (a trace, a capture) initialises it.
            final Class<?> fresh = Class.forName(ChronicleQueues.class.getName(), true, isolated);
            assertTrue(fresh != ChronicleQueues.class);
            assertEquals("true", System.getProperty("chronicle.analytics.disable"));
            assertEquals("true", System.getProperty("chronicle.announcer.disable"));
        }
        finally
        {
            restore("chronicle.analytics.disable", analytics);
            restore("chronicle.announcer.disable", announcer);
        }
    }

    private static void restore(final String key, final String value)
    {
        if (value == null)
        {
            System.clearProperty(key);
        }
        else
        {
            System.setProperty(key, value);
        }
    }

    private static void session(final ExcerptAppender appender, final int magic, final int vcpus)
    {
        try (DocumentContext dc = appender.writingDocument())
        {
            final Bytes<?> bytes = dc.wire().bytes();
            bytes.writeByte(ExitTraceLayout.KIND_SESSION).writeInt(magic).writeInt(ExitTraceLayout.VERSION)
                .writeInt(vcpus).writeLong(0);
        }
    }

    private static void exit(final ExcerptAppender appender, final int vcpu, final int reason, final int path)
    {
        try (DocumentContext dc = appender.writingDocument())
        {
            final Bytes<?> bytes = dc.wire().bytes();
            bytes.writeByte(ExitTraceLayout.KIND_EXIT).writeByte((byte)reason).writeByte((byte)path).writeInt(vcpu)
                .writeLong(10).writeLong(0x1000).writeLong(100);
        }
    }
}
