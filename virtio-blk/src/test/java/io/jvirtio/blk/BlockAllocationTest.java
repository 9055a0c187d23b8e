package io.jvirtio.blk;

import io.jvirtio.blk.backend.BlockBackend;
import io.jvirtio.blk.backend.FileBlockBackend;
import io.jvirtio.blk.backend.MemoryBlockBackend;
import io.jvirtio.blk.driver.BlockDriver;
import io.jvirtio.bus.linux.Libc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;

import static io.jvirtio.blk.BlockDeviceFixture.data;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The device's data path allocates nothing: after warm-up, 100 000 reads of 4 KiB through the device on a memory disk,
 * and 100 000 reads and 100 000 writes of 4 KiB on a file disk (pread/pwrite straight into guest memory), allocate 0
 * bytes on the queue's worker thread, as the JVM's per-thread allocation counter reports.
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
        try (MemoryBlockBackend disk = new MemoryBlockBackend(SECTORS, false, "alloc"))
        {
            assertAllocatesNothing(disk, false);
        }
    }

    @Test
    void shouldAllocateNothingWhenFileBackendReadsAndWrites(@TempDir final Path dir) throws IOException
    {
        assumeTrue(Libc.isAvailable(), Libc.unavailableReason());
        try (FileBlockBackend disk = FileBlockBackend.create(dir.resolve("alloc.img"), SECTORS, "alloc"))
        {
            assertAllocatesNothing(disk, false);
            assertAllocatesNothing(disk, true);
            assertEquals(0, disk.errors());
        }
    }

    private static void assertAllocatesNothing(final BlockBackend disk, final boolean writes)
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        try (BlockDeviceFixture f = new BlockDeviceFixture(disk, BlockDeviceConfig.defaults()))
        {
            final long worker = workerThreadId();
            // warm-up: enough requests for the JIT to compile the worker's whole path
            for (int i = 0; i < 2; i++)
            {
                run(f, READS / 2, writes);
            }
            // a data path that allocates does so for every request; one JIT recompilation may allocate once, so one
            // clean batch among a few is the pass condition
            final long[] allocated = new long[MEASURED_BATCHES];
            for (int batch = 0; batch < MEASURED_BATCHES; batch++)
            {
                final long before = threads.getThreadAllocatedBytes(worker);
                run(f, READS, writes);
                final long after = threads.getThreadAllocatedBytes(worker);
                assertTrue(before >= 0 && after >= 0, "worker thread alive");
                allocated[batch] = after - before;
                if (allocated[batch] == 0)
                {
                    assertEquals(0, f.counter(BlockCounter.STATUS_IOERR));
                    return;
                }
            }
            fail("worker allocated in every batch: writes=" + writes + ", bytes="
                + java.util.Arrays.toString(allocated));
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

    /** Keeps {@link #DEPTH} 4 KiB reads (or writes) in flight until {@code count} completed with status OK. */
    private static void run(final BlockDeviceFixture f, final int count, final boolean writes)
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
                final long sector = (submitted * 8L) % (SECTORS - 8);
                final int tag = writes
                    ? driver.write(sector, data(submitted % DEPTH), 4096)
                    : driver.read(sector, data(submitted % DEPTH), 4096);
                assertTrue(tag >= 0);
                submitted++;
            }
            f.publish(0);
            int tag;
            while ((tag = driver.reap()) != BlockDriver.NOTHING_COMPLETED)
            {
                if (driver.status() != VirtioBlk.VIRTIO_BLK_S_OK || driver.usedLength() != (writes ? 1 : 4097))
                {
                    fail("request failed: writes=" + writes + ", tag=" + tag + ", status=" + driver.status());
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
