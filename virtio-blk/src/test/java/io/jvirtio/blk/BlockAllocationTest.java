package io.jvirtio.blk;

import io.jvirtio.blk.backend.MemoryBlockBackend;
import io.jvirtio.blk.driver.BlockDriver;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static io.jvirtio.blk.BlockDeviceFixture.data;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The device's data path allocates nothing: after warm-up, 100 000 reads of 4 KiB through the device on a memory disk
 * allocate 0 bytes on the queue's worker thread, as the JVM's per-thread allocation counter reports.
 */
class BlockAllocationTest
{
    private static final int READS = 100_000;
    private static final int DEPTH = 64;
    private static final int MEASURED_BATCHES = 3;
    private static final long SECTORS = 2048;

    @Test
    void shouldAllocateNothingOnTheWorkerThreadAfterWarmUp()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        try (MemoryBlockBackend disk = new MemoryBlockBackend(SECTORS, false, "alloc");
            BlockDeviceFixture f = new BlockDeviceFixture(disk, BlockDeviceConfig.defaults()))
        {
            final long worker = workerThreadId();
            // warm-up: enough requests for the JIT to compile the worker's whole path
            for (int i = 0; i < 2; i++)
            {
                run(f, READS / 2);
            }
            // a data path that allocates does so for every request; one JIT recompilation may allocate once, so one
            // clean batch among a few is the pass condition
            final long[] allocated = new long[MEASURED_BATCHES];
            for (int batch = 0; batch < MEASURED_BATCHES; batch++)
            {
                final long before = threads.getThreadAllocatedBytes(worker);
                run(f, READS);
                final long after = threads.getThreadAllocatedBytes(worker);
                assertTrue(before >= 0 && after >= 0, "worker thread alive");
                allocated[batch] = after - before;
                if (allocated[batch] == 0)
                {
                    assertEquals(0, f.counter(BlockCounter.STATUS_IOERR));
                    return;
                }
            }
            fail("worker allocated in every batch: bytes=" + java.util.Arrays.toString(allocated));
        }
    }

    private static long workerThreadId()
    {
        for (final Thread t : Thread.getAllStackTraces().keySet())
        {
            if (t.getName().equals("virtio-blk-q0"))
            {
                return t.threadId();
            }
        }
        throw new AssertionError("no worker thread named virtio-blk-q0");
    }

    /** Keeps {@link #DEPTH} 4 KiB reads in flight until {@code count} completed with status OK. */
    private static void run(final BlockDeviceFixture f, final int count)
    {
        final BlockDriver driver = f.drivers[0];
        int submitted = 0;
        int completed = 0;
        final long deadline = System.nanoTime() + BlockDeviceFixture.TIMEOUT_NANOS;
        // bound: count completions, or the failure timeout
        while (completed < count)
        {
            while (submitted < count && driver.outstanding() < DEPTH)
            {
                final int tag = driver.read((submitted * 8L) % (SECTORS - 8), data(submitted % DEPTH), 4096);
                assertTrue(tag >= 0);
                submitted++;
            }
            f.publish(0);
            int tag;
            while ((tag = driver.reap()) != BlockDriver.NOTHING_COMPLETED)
            {
                if (driver.status() != VirtioBlk.VIRTIO_BLK_S_OK || driver.usedLength() != 4097)
                {
                    fail("read failed: tag=" + tag + ", status=" + driver.status());
                }
                completed++;
            }
            if (System.nanoTime() - deadline > 0)
            {
                fail("reads did not complete (failure timeout): completed=" + completed);
            }
        }
    }
}
