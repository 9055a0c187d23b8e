package io.jvirtio.virtio.queue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static io.jvirtio.virtio.queue.RingFixture.buffer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The used-ring publish order seen from the driver, concurrently: a device thread completes and publishes chains one
 * by one while a driver thread posts and reaps them. Each request carries a sequence number; the device echoes it
 * into the writable buffer and reports a length derived from it. If {@code used.idx} ever became visible before its
 * element (or the element before the data), the driver would read a stale element from an earlier lap of the small
 * ring, or stale data, and fail. The time limit is only a failure timeout.
 */
class PublishOrderTest
{
    private static final int N = 8;
    private static final long CHAINS = 200_000;
    private static final long TIMEOUT_SECONDS = 60;

    @ParameterizedTest(name = "eventIdx={0}")
    @ValueSource(booleans = {false, true})
    void shouldNeverExposeUsedIdxBeforeItsElementAndData(final boolean eventIdx) throws Exception
    {
        try (RingFixture f = new RingFixture(N, eventIdx, false))
        {
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicReference<Throwable> deviceFailure = new AtomicReference<>();
            final Thread device = new Thread(() ->
            {
                try
                {
                    runDevice(f, stop);
                }
                catch (final Throwable t)
                {
                    deviceFailure.set(t);
                }
            }, "device");
            device.start();
            try
            {
                runDriver(f, device);
            }
            finally
            {
                stop.set(true);
                device.join(TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
            }
            assertNull(deviceFailure.get());
            assertFalse(device.isAlive());
            assertEquals(CHAINS, f.queue.counters().get(QueueCounter.USED_PUBLISHED));
        }
    }

    private static void runDevice(final RingFixture f, final AtomicBoolean stop)
    {
        final byte[] data = new byte[16];
        // bound: runs until the driver has reaped every chain (or the failure timeout stops it)
        while (!stop.get())
        {
            if (f.queue.pop(f.chain) != PopStatus.CHAIN)
            {
                if (f.queue.isBroken())
                {
                    throw new AssertionError("queue broke: " + f.queue.brokenReason());
                }
                Thread.onSpinWait();
                continue;
            }
            f.chain.read(0, data, 0, 8);
            final long sequence = f.memory.getLongLE(f.chain.readableAddr(0));
            System.arraycopy(data, 0, data, 8, 8);
            f.chain.write(0, data, 0, 8 + (int)(sequence % 9));
            f.queue.complete(f.chain);
            f.queue.publish();
        }
    }

    private static void runDriver(final RingFixture f, final Thread device)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        final long[] addrs = new long[2];
        final long[] lens = {8, 16};
        final long[] sequenceOfHead = new long[N];
        final int[] slotOfHead = new int[N];
        long posted = 0;
        long reaped = 0;
        int nextSlot = 0;
        while (reaped < CHAINS)
        {
            if (System.nanoTime() - deadline > 0 || !device.isAlive())
            {
                throw new AssertionError("round trip stalled: posted=" + posted + ", reaped=" + reaped);
            }
            if (posted < CHAINS && f.driver.freeDescriptors() >= 2)
            {
                final int slot = nextSlot;
                nextSlot = (nextSlot + 1) % (2 * N);
                addrs[0] = buffer(2 * slot);
                addrs[1] = buffer(2 * slot + 1);
                f.memory.putLongLE(addrs[0], posted);
                final int head = f.driver.post(addrs, lens, 1, 1);
                sequenceOfHead[head] = posted++;
                slotOfHead[head] = slot;
                f.driver.publish();
            }
            final int head = f.driver.reap();
            if (head == SplitQueueDriver.NOTHING_USED)
            {
                Thread.onSpinWait();
                continue;
            }
            final long expected = sequenceOfHead[head];
            if (expected != reaped || f.driver.reapedLength() != 8 + expected % 9)
            {
                throw new AssertionError("stale used element: head=" + head + ", expected=" + reaped
                    + ", sequence=" + expected + ", len=" + f.driver.reapedLength());
            }
            final long echoed = f.memory.getLongLE(buffer(2 * slotOfHead[head] + 1));
            if (echoed != expected)
            {
                throw new AssertionError("data not visible before its used element: expected=" + expected
                    + ", echoed=" + echoed);
            }
            reaped++;
        }
    }
}
