package io.jvirtio.bus.stats;

import io.jvirtio.bus.testing.AllocationProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hot-path rule: {@link VcpuExitStats#record} allocates nothing on the vCPU thread once warm, measured with the
 * JVM's per-thread allocation counter.
 * <p>
 * With tracing on, the record path itself allocates nothing either, but Chronicle Queue's appender allocates a few
 * hundred bytes now and then on the writing thread: 0 bytes in most windows of 100 000 exits, 200 to 1 700 bytes in
 * about one in ten, in step with the queue file growing by another chunk of some tens of MB. So the traced test
 * bounds the average below one byte per exit, which any per-exit allocation (16 bytes at least) breaks.
 */
class ExitStatsAllocationTest
{
    private static final int WARM_UP = 200_000;
    private static final int MEASURED = 100_000;
    /** Copied once: values() returns a fresh array on every call. */
    private static final ExitReason[] REASONS = ExitReason.values();
    private static final ExitPath[] PATHS = ExitPath.values();

    @Test
    void shouldAllocateNothingPerExitWhenTracingIsOff()
    {
        final ExitStats stats = new ExitStats(1);
        final VcpuExitStats vcpu = stats.vcpu(0);
        recordExits(vcpu, WARM_UP);

        assertEquals(0, allocatedBy(vcpu, MEASURED, 3), "bytes allocated by " + MEASURED + " record calls");
        assertEquals(0, (vcpu.exits() - WARM_UP) % MEASURED, "every record call counted");
    }

    @Test
    void shouldAllocateLessThanOneBytePerExitWhenTracingIsOn(@TempDir final Path dir)
    {
        try (ExitTrace trace = ExitTrace.open(dir))
        {
            final ExitStats stats = new ExitStats(1, trace, System::nanoTime);
            final VcpuExitStats vcpu = stats.vcpu(0);
            recordExits(vcpu, WARM_UP);

            final long allocated = allocatedBy(vcpu, MEASURED, 1);
            System.out.println("traced record calls: " + MEASURED + ", bytes allocated: " + allocated);
            assertTrue(allocated < MEASURED, "bytes allocated by " + MEASURED + " traced record calls: " + allocated);
            assertEquals(0, vcpu.traceWriteFailures());
        }
        assertEquals(WARM_UP + MEASURED, ExitTraceReader.read(dir, new ExitTraceListener()
        {
            @Override
            public void onSession(final long startNanos, final int vcpuCount)
            {
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
        }).exits());
    }

    /** @return the fewest bytes this thread allocated in one of up to {@code attempts} batches of {@code n} calls. */
    private static long allocatedBy(final VcpuExitStats vcpu, final int n, final int attempts)
    {
        return AllocationProbe.leastAllocated(attempts, () -> recordExits(vcpu, n));
    }

    private static void recordExits(final VcpuExitStats vcpu, final int n)
    {
        for (int i = 0; i < n; i++)
        {
            vcpu.record(REASONS[i % REASONS.length], PATHS[i % PATHS.length], 0xfe00_0000L + (i & 0xfff),
                80 + (i & 0x3ff));
        }
    }
}
