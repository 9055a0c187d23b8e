package io.jvirtio.net;

import io.jvirtio.bus.event.BackoffIdleStrategy;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The device's data path allocates nothing: after warm-up, 100 000 frames through TX, the echo backend and RX
 * allocate zero bytes on the worker thread, as the JVM's per-thread allocation counter reports for that thread.
 */
class NetAllocationTest
{
    private static final int FRAMES = 100_000;
    private static final int MEASURED_BATCHES = 3;

    @ParameterizedTest(name = "mergeable={0}")
    @CsvSource({"false", "true"})
    void shouldAllocateNothingOnWorkerThreadAfterWarmUp(final boolean mergeable)
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        try (EchoHarness h = new EchoHarness(1, mergeable, true, new BackoffIdleStrategy()))
        {
            h.run(FRAMES / 2);
            final long tid = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals(NetDevice.workerName(0)))
                .findFirst().orElseThrow().threadId();
            // the JIT may still recompile or deoptimize once during a batch; a data path that allocates does so for
            // every frame, in every batch, so one clean batch among a few proves the path allocation-free
            final long[] allocated = new long[MEASURED_BATCHES];
            for (int batch = 0; batch < MEASURED_BATCHES; batch++)
            {
                final long before = threads.getThreadAllocatedBytes(tid);
                assertEquals(FRAMES, h.run(FRAMES));
                final long after = threads.getThreadAllocatedBytes(tid);
                allocated[batch] = after - before;
                if (allocated[batch] == 0)
                {
                    return;
                }
            }
            fail("every batch of " + FRAMES + " frames allocated on the worker: bytes=" + Arrays.toString(allocated));
        }
    }
}
