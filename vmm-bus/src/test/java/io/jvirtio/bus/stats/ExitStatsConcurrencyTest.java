package io.jvirtio.bus.stats;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Live reading while vCPU threads record: nothing torn, nothing lost, nothing counted twice. */
class ExitStatsConcurrencyTest
{
    private static final int VCPUS = 2;
    private static final int EXITS_PER_VCPU = 200_000;
    private static final long FAILURE_TIMEOUT_SECONDS = 60;

    @Test
    void shouldAccountForEveryExitWhenSampledWhileVcpusRecord() throws InterruptedException
    {
        final ExitStats stats = new ExitStats(VCPUS);
        final CountDownLatch halfway = new CountDownLatch(VCPUS);
        final Thread[] vcpus = new Thread[VCPUS];
        for (int v = 0; v < VCPUS; v++)
        {
            final VcpuExitStats recorder = stats.vcpu(v);
            vcpus[v] = new Thread(() -> record(recorder, halfway), "vcpu-" + v);
            vcpus[v].start();
        }
        assertTrue(halfway.await(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS), "vcpus did not get halfway");

        final long[] lastReason = new long[ExitReason.values().length];
        final long[] lastPath = new long[ExitPath.values().length];
        final long[] intervalReason = new long[ExitReason.values().length];
        final long[] intervalPath = new long[ExitPath.values().length];
        final long[] intervalPathLatencies = new long[ExitPath.values().length];
        long intervalTotalLatencies = 0;
        int samples = 0;
        boolean running = true;
        // Bounded: ends when both vCPU threads have ended, one last sample after that.
        while (running)
        {
            running = vcpus[0].isAlive() || vcpus[1].isAlive();
            final long liveExits = stats.exits();
            assertTrue(liveExits >= EXITS_PER_VCPU && liveExits <= VCPUS * EXITS_PER_VCPU, "live=" + liveExits);
            final ExitStatsSnapshot snapshot = stats.sample();
            samples++;
            for (final ExitReason reason : ExitReason.values())
            {
                final ExitStatsSnapshot.Row row = snapshot.reason(reason);
                assertTrue(row.count() >= lastReason[reason.ordinal()], "a count went backwards: " + reason);
                assertEquals(row.count() - lastReason[reason.ordinal()], row.intervalCount());
                lastReason[reason.ordinal()] = row.count();
                intervalReason[reason.ordinal()] += row.intervalCount();
            }
            for (final ExitPath path : ExitPath.values())
            {
                final ExitStatsSnapshot.Row row = snapshot.path(path);
                assertTrue(row.count() >= lastPath[path.ordinal()], "a count went backwards: " + path);
                lastPath[path.ordinal()] = row.count();
                intervalPath[path.ordinal()] += row.intervalCount();
                intervalPathLatencies[path.ordinal()] += row.intervalLatency().count();
            }
            intervalTotalLatencies += snapshot.total().intervalLatency().count();
        }
        for (final Thread vcpu : vcpus)
        {
            vcpu.join(TimeUnit.SECONDS.toMillis(FAILURE_TIMEOUT_SECONDS));
            assertFalse(vcpu.isAlive());
        }

        final long all = (long)VCPUS * EXITS_PER_VCPU;
        assertTrue(samples >= 1);
        assertEquals(all, stats.exits());
        assertEquals(all, intervalTotalLatencies, "every latency landed in exactly one interval histogram");
        final ExitStatsSnapshot last = stats.sample();
        assertEquals(all, last.total().latency().count(), "the cumulative histograms hold every latency");
        assertEquals(0, last.total().intervalCount(), "nothing left over after the vCPUs stopped");
        for (final ExitReason reason : ExitReason.values())
        {
            final long expected = VCPUS * expectedCount(ExitReason.values().length, reason.ordinal());
            assertEquals(expected, stats.count(reason), reason.name());
            assertEquals(expected, intervalReason[reason.ordinal()], "interval counts add up: " + reason);
            assertEquals(expected, last.reason(reason).latency().count(), "histogram: " + reason);
        }
        for (final ExitPath path : ExitPath.values())
        {
            final long expected = VCPUS * expectedCount(ExitPath.values().length, path.ordinal());
            assertEquals(expected, stats.count(path), path.name());
            assertEquals(expected, intervalPath[path.ordinal()], "interval counts add up: " + path);
            assertEquals(expected, intervalPathLatencies[path.ordinal()], "interval histograms add up: " + path);
            assertEquals(expected * 100, last.path(path).totalNanos(), "latency sum: " + path);
            for (final ExitStatsSnapshot vcpu : last.vcpus())
            {
                assertEquals(expected / VCPUS, vcpu.path(path).count(), "vcpu " + vcpu.vcpuId() + ": " + path);
            }
        }
    }

    private static void record(final VcpuExitStats recorder, final CountDownLatch halfway)
    {
        final ExitReason[] reasons = ExitReason.values();
        final ExitPath[] paths = ExitPath.values();
        for (int i = 0; i < EXITS_PER_VCPU; i++)
        {
            recorder.record(reasons[i % reasons.length], paths[i % paths.length], i, 100);
            if (i == EXITS_PER_VCPU / 2)
            {
                halfway.countDown();
            }
        }
    }

    /** @return how many i in [0, EXITS_PER_VCPU) have i % modulus == residue. */
    private static long expectedCount(final int modulus, final int residue)
    {
        return (EXITS_PER_VCPU - residue + modulus - 1) / modulus;
    }
}
