package io.jvirtio.virtio.queue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

import static io.jvirtio.virtio.queue.RingFixture.buffer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The data path allocates nothing: after warm-up, a batch of 100 000 chains through post, publish, kick decision, pop,
 * header read, response write, complete, publish, interrupt decision, notification re-enable and reap allocates zero
 * bytes on the thread that runs them, as the JVM's per-thread allocation counter reports.
 */
class AllocationTest
{
    private static final int N = 256;
    private static final int CHAINS = 100_000;
    private static final int MEASURED_BATCHES = 3;

    private final long[] addrs = {buffer(0), buffer(1), buffer(2)};
    private final long[] lens = {16, 512, 1};
    private final byte[] header = new byte[16];
    private final byte[] response = new byte[513];

    @ParameterizedTest(name = "eventIdx={0}, indirect={1}")
    @CsvSource({"false, false", "true, false", "true, true"})
    void shouldAllocateNothingOnTheDataPathAfterWarmUp(final boolean eventIdx, final boolean indirect)
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        final long tid = Thread.currentThread().threadId();
        try (RingFixture f = new RingFixture(N, eventIdx, indirect))
        {
            for (int i = 0; i < 5; i++)
            {
                run(f, indirect, CHAINS);
            }
            final long calibrationStart = threads.getThreadAllocatedBytes(tid);
            final long calibrationEnd = threads.getThreadAllocatedBytes(tid);
            final long overhead = calibrationEnd - calibrationStart;
            // a data path that allocates does so for every chain, in every batch (at least 100 000 allocations); the
            // JIT may still recompile or deoptimize during one batch and allocate a few bytes once, so the test
            // looks for one clean batch among a few
            final long[] allocated = new long[MEASURED_BATCHES];
            for (int batch = 0; batch < MEASURED_BATCHES; batch++)
            {
                final long before = threads.getThreadAllocatedBytes(tid);
                final long processed = run(f, indirect, CHAINS);
                final long after = threads.getThreadAllocatedBytes(tid);
                assertEquals(CHAINS, processed);
                allocated[batch] = after - before - overhead;
                if (allocated[batch] == 0)
                {
                    return;
                }
            }
            fail("every batch of " + CHAINS + " chains allocated: bytes=" + Arrays.toString(allocated));
        }
    }

    /** One driver thread and one device, interleaved on this thread; returns the chains completed and reaped. */
    private long run(final RingFixture f, final boolean indirect, final int chains)
    {
        final SplitQueueDriver driver = f.driver;
        final SplitQueue queue = f.queue;
        final DescriptorChain chain = f.chain;
        long done = 0;
        for (int i = 0; i < chains; i++)
        {
            final int head = indirect ? driver.postIndirect(addrs, lens, 1, 2) : driver.post(addrs, lens, 1, 2);
            driver.publish();
            driver.needsKick();

            queue.disableNotification();
            if (queue.pop(chain) != PopStatus.CHAIN || chain.head() != head)
            {
                throw new AssertionError("chain expected");
            }
            chain.read(0, header, 0, header.length);
            chain.write(0, response, 0, response.length);
            queue.complete(chain);
            queue.publish();
            queue.needsInterrupt();
            queue.enableNotificationAndRecheck();

            if (driver.reap() == head && driver.reapedLength() == response.length)
            {
                done++;
            }
        }
        return done;
    }
}
