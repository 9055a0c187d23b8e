package io.jvirtio.bus.stats;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExitStatsTest
{
    private static final long SECOND = 1_000_000_000L;

    @Test
    void shouldCountPerVcpuAndSumOverVcpus()
    {
        final ExitStats stats = new ExitStats(2, null, new ManualClock(0));
        final VcpuExitStats vcpu0 = stats.vcpu(0);
        final VcpuExitStats vcpu1 = stats.vcpu(1);
        for (int i = 0; i < 3; i++)
        {
            vcpu0.record(ExitReason.EPT_MISCONFIG, ExitPath.FAST_MMIO, 0xfe00_3000L, 100);
        }
        vcpu0.record(ExitReason.HLT, ExitPath.HLT, 0, 5_000);
        vcpu1.record(ExitReason.IO_INSTRUCTION, ExitPath.PIO_KERNEL, 0xc050, 200);
        vcpu1.record(ExitReason.IO_INSTRUCTION, ExitPath.PIO_KERNEL, 0xc050, 220);
        vcpu1.record(ExitReason.EPT_MISCONFIG, ExitPath.MMIO_USERSPACE, 0xfe00_0000L, 3_000);

        assertEquals(3, vcpu0.count(ExitReason.EPT_MISCONFIG));
        assertEquals(1, vcpu1.count(ExitReason.EPT_MISCONFIG));
        assertEquals(4, stats.count(ExitReason.EPT_MISCONFIG));
        assertEquals(0, vcpu0.count(ExitReason.IO_INSTRUCTION));
        assertEquals(2, stats.count(ExitReason.IO_INSTRUCTION));
        assertEquals(0, stats.count(ExitReason.NPF));
        assertEquals(3, stats.count(ExitPath.FAST_MMIO));
        assertEquals(1, stats.count(ExitPath.MMIO_USERSPACE));
        assertEquals(2, stats.count(ExitPath.PIO_KERNEL));
        assertEquals(1, stats.count(ExitPath.HLT));
        assertEquals(4, vcpu0.exits());
        assertEquals(3, vcpu1.exits());
        assertEquals(7, stats.exits());
        assertEquals(300, vcpu0.totalNanos(ExitReason.EPT_MISCONFIG));
        assertEquals(3_300, vcpu0.totalNanos(ExitReason.EPT_MISCONFIG) + vcpu1.totalNanos(ExitReason.EPT_MISCONFIG));
        assertEquals(420, vcpu1.totalNanos(ExitPath.PIO_KERNEL));

        final ExitStatsSnapshot snapshot = stats.sample();
        assertEquals(ExitStatsSnapshot.ALL_VCPUS, snapshot.vcpuId());
        assertEquals(2, snapshot.vcpus().size());
        assertEquals(7, snapshot.exits());
        assertEquals(4, snapshot.reason(ExitReason.EPT_MISCONFIG).count());
        assertEquals(4.0 / 7, snapshot.reason(ExitReason.EPT_MISCONFIG).share(), 1e-12);
        assertEquals(3_300, snapshot.reason(ExitReason.EPT_MISCONFIG).totalNanos());
        assertEquals(3, snapshot.vcpus().get(0).reason(ExitReason.EPT_MISCONFIG).count());
        assertEquals(0.75, snapshot.vcpus().get(0).reason(ExitReason.EPT_MISCONFIG).share(), 1e-12);
        assertEquals(1, snapshot.vcpus().get(1).reason(ExitReason.EPT_MISCONFIG).count());
        assertEquals(1, snapshot.vcpus().get(1).vcpuId());
        assertEquals(2, snapshot.path(ExitPath.PIO_KERNEL).latency().count(), "the histogram saw both port exits");
        assertEquals(7, snapshot.total().latency().count(), "the total sums every reason's histogram");
        assertEquals(8_720, snapshot.total().totalNanos());
        for (final ExitStatsSnapshot.Row row : snapshot.reasons())
        {
            long perVcpu = 0;
            for (final ExitStatsSnapshot vcpu : snapshot.vcpus())
            {
                perVcpu += vcpu.reasons().get(snapshot.reasons().indexOf(row)).count();
            }
            assertEquals(row.count(), perVcpu, "VM-wide row is the sum of the vCPUs' rows: " + row.name());
        }
    }

    @Test
    void shouldRunTheExampleInTheClassComment()
    {
        final ByteArrayOutputStream printed = new ByteArrayOutputStream();
        final PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

        final ExitStats stats = new ExitStats(2);
        final ExitRecorder vcpu0 = stats.vcpu(0);
        vcpu0.record(ExitReason.EPT_MISCONFIG, ExitPath.FAST_MMIO, 0xfe00_3000L, 850);
        final ExitStatsSnapshot now = stats.sample();
        ExitStatsTable.print(now, out);

        final String fastMmio = printed.toString(StandardCharsets.UTF_8).lines()
            .filter(l -> l.startsWith("FAST_MMIO ")).findFirst().orElseThrow();
        assertEquals(List.of("FAST_MMIO", "1", "100.00"), List.of(fastMmio.split(" +")).subList(0, 3));
    }

    @Test
    void shouldReportPercentilesOfKnownLatencies()
    {
        final ExitStats stats = new ExitStats(1, null, new ManualClock(0));
        final VcpuExitStats vcpu = stats.vcpu(0);
        // 1..100 ns: below 256, so two significant digits hold every value exactly.
        for (int nanos = 1; nanos <= 100; nanos++)
        {
            vcpu.record(ExitReason.EPT_MISCONFIG, ExitPath.FAST_MMIO, 0x1000, nanos);
        }
        final ExitStatsSnapshot.Latency latency = stats.sample().path(ExitPath.FAST_MMIO).latency();
        assertEquals(100, latency.count());
        assertEquals(1, latency.minNanos());
        assertEquals(50, latency.p50Nanos());
        assertEquals(99, latency.p99Nanos());
        assertEquals(100, latency.maxNanos());
        assertEquals(50.5, latency.meanNanos(), 1e-9);
    }

    @Test
    void shouldKeepLargeLatenciesWithinOnePercent()
    {
        final ExitStats stats = new ExitStats(1, null, new ManualClock(0));
        stats.vcpu(0).record(ExitReason.IO_INSTRUCTION, ExitPath.PIO_USERSPACE, 0x3f8, 1_234_567);
        final ExitStatsSnapshot.Latency latency = stats.sample().reason(ExitReason.IO_INSTRUCTION).latency();
        assertTrue(Math.abs(latency.maxNanos() - 1_234_567) <= 12_346, "max=" + latency.maxNanos());
        assertTrue(latency.maxNanos() >= 1_234_567, "max is the highest equivalent value: " + latency.maxNanos());
    }

    @Test
    void shouldClampAndCountLatencyOutOfRange()
    {
        final ExitStats stats = new ExitStats(1, null, new ManualClock(0));
        final VcpuExitStats vcpu = stats.vcpu(0);
        vcpu.record(ExitReason.HLT, ExitPath.HLT, 0, -5);
        vcpu.record(ExitReason.HLT, ExitPath.HLT, 0, Long.MAX_VALUE);
        vcpu.record(ExitReason.HLT, ExitPath.HLT, 0, ExitStats.HIGHEST_TRACKABLE_NANOS);

        assertEquals(2, vcpu.latencyOutOfRange());
        assertEquals(2, stats.latencyOutOfRange());
        assertEquals(3, stats.count(ExitPath.HLT), "a clamped exit is still counted");
        assertEquals(2 * ExitStats.HIGHEST_TRACKABLE_NANOS, vcpu.totalNanos(ExitReason.HLT), "sums the clamped values");
        final ExitStatsSnapshot snapshot = stats.sample();
        assertEquals(2, snapshot.latencyOutOfRange());
        assertEquals(0, snapshot.path(ExitPath.HLT).latency().minNanos());
        assertTrue(snapshot.path(ExitPath.HLT).latency().maxNanos() >= ExitStats.HIGHEST_TRACKABLE_NANOS);
    }

    @Test
    void shouldReportIntervalCountsLatenciesAndRatesSinceLastSample()
    {
        final ManualClock clock = new ManualClock(7 * SECOND);
        final ExitStats stats = new ExitStats(1, null, clock);
        final VcpuExitStats vcpu = stats.vcpu(0);
        for (int i = 0; i < 10; i++)
        {
            vcpu.record(ExitReason.EPT_MISCONFIG, ExitPath.FAST_MMIO, 0x1000, 10);
        }
        clock.advance(SECOND);
        final ExitStatsSnapshot first = stats.sample();
        assertEquals(SECOND, first.intervalNanos());
        assertEquals(10, first.path(ExitPath.FAST_MMIO).intervalCount());
        assertEquals(10.0, first.path(ExitPath.FAST_MMIO).ratePerSecond(), 1e-9);

        for (int i = 0; i < 5; i++)
        {
            vcpu.record(ExitReason.EPT_MISCONFIG, ExitPath.FAST_MMIO, 0x1000, 200);
        }
        clock.advance(SECOND / 2);
        final ExitStatsSnapshot second = stats.sample();
        final ExitStatsSnapshot.Row row = second.path(ExitPath.FAST_MMIO);
        assertEquals(SECOND / 2, second.intervalNanos());
        assertEquals(15, row.count());
        assertEquals(5, row.intervalCount());
        assertEquals(10.0, row.ratePerSecond(), 1e-9);
        assertEquals(5, row.intervalLatency().count());
        assertEquals(200, row.intervalLatency().p50Nanos(), "the interval holds only the new exits");
        assertEquals(15, row.latency().count());
        assertEquals(10, row.latency().p50Nanos(), "the cumulative median is still the first batch");
        assertEquals(200, row.latency().maxNanos());
        assertEquals(10.0, second.total().ratePerSecond(), 1e-9);

        final ExitStatsSnapshot idle = stats.sample();
        assertEquals(0, idle.intervalNanos());
        assertEquals(0, idle.total().intervalCount());
        assertEquals(0.0, idle.total().ratePerSecond(), "no rate over an empty interval");
        assertSame(ExitStatsSnapshot.Latency.NONE, idle.total().intervalLatency());
    }

    @Test
    void shouldRejectVcpuCountOrIndexOutOfRange()
    {
        final IllegalArgumentException tooFew = assertThrows(IllegalArgumentException.class, () -> new ExitStats(0));
        assertEquals("vcpu count out of range: vcpuCount=0, max=1024", tooFew.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ExitStats(ExitStats.MAX_VCPUS + 1));
        final ExitStats stats = new ExitStats(2);
        final IndexOutOfBoundsException ex = assertThrows(IndexOutOfBoundsException.class, () -> stats.vcpu(2));
        assertEquals("no such vcpu: vcpuId=2, vcpuCount=2", ex.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> stats.vcpu(-1));
    }

    @Test
    void shouldMapEveryCodeBackToItsConstant()
    {
        final Set<Integer> reasonCodes = new HashSet<>();
        for (final ExitReason reason : ExitReason.values())
        {
            assertSame(reason, ExitReason.fromCode(reason.code()));
            assertTrue(reason.code() >= 1 && reason.code() <= 127 && reasonCodes.add(reason.code()), reason.name());
        }
        final Set<Integer> pathCodes = new HashSet<>();
        for (final ExitPath path : ExitPath.values())
        {
            assertSame(path, ExitPath.fromCode(path.code()));
            assertTrue(path.code() >= 1 && path.code() <= 127 && pathCodes.add(path.code()), path.name());
        }
        assertNull(ExitReason.fromCode(0));
        assertNull(ExitReason.fromCode(-1));
        assertNull(ExitReason.fromCode(200));
        assertNull(ExitPath.fromCode(0));
        assertNull(ExitPath.fromCode(-128));
        assertEquals(49, ExitReason.EPT_MISCONFIG.vmxExitReason());
        assertEquals(0x400, ExitReason.NPF.svmExitCode());
        assertEquals(-1, ExitReason.NPF.vmxExitReason());
    }
}
