package io.jvirtio.virtio.transport.mmio;

import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.queue.UsedRingLayout;
import io.jvirtio.virtio.transport.QueueArea;
import io.jvirtio.virtio.transport.TransportCounter;
import io.jvirtio.virtio.worker.DeviceWorker;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.concurrent.TimeUnit;

import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.STATUS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reset under traffic (checklist 3.1, virtio-v1.2 §2.4): once the status reads 0, the device touches neither the
 * rings nor the buffers, however much the driver keeps posting and kicking.
 */
class MmioResetTest
{
    private static final int QUEUE_SIZE = 256;
    /** Two descriptors per chain: the chains before and after the reset together fill the descriptor table. */
    private static final int CHAINS_BEFORE = 64;
    private static final int CHAINS_AFTER = 64;
    private static final int BUFFER = 256;
    /** A chance for a worker that outlived the reset to write; the assertions do not depend on how long it is. */
    private static final long STALE_WORKER_CHANCE_MILLIS = 100;

    @ParameterizedTest
    @EnumSource(MmioNotifyMode.class)
    void shouldNotTouchGuestMemoryAfterResetReturnsWhileTheDriverKeepsPosting(final MmioNotifyMode mode)
        throws Exception
    {
        try (MmioFixture f = new MmioFixture(mode))
        {
            final SplitQueueDriver queue = f.start(0, QUEUE_SIZE);
            final long usedRing = f.transport.core().queueAddress(0, QueueArea.DEVICE);
            final long usedLength = UsedRingLayout.length(QUEUE_SIZE);
            final long in = f.allocate((CHAINS_BEFORE + CHAINS_AFTER) * BUFFER);
            final long out = f.allocate((CHAINS_BEFORE + CHAINS_AFTER) * BUFFER);
            final byte[] payload = new byte[BUFFER];
            for (int i = 0; i < CHAINS_BEFORE; i++)
            {
                payload[0] = (byte)i;
                f.post(queue, in + (long)i * BUFFER, out + (long)i * BUFFER, payload);
                if (i % 16 == 15)
                {
                    f.driver.kick(0);
                }
            }
            final DeviceWorker worker = f.device.worker();
            assertNotNull(worker);

            f.rawWrite(STATUS, 0);
            assertEquals(0, f.rawRead(STATUS));

            final long callsAtReset = worker.handlerCalls();
            final byte[] usedAtReset = snapshot(f, usedRing, usedLength);
            final byte[] outAtReset = snapshot(f, out, (long)(CHAINS_BEFORE + CHAINS_AFTER) * BUFFER);
            for (int i = CHAINS_BEFORE; i < CHAINS_BEFORE + CHAINS_AFTER; i++)
            {
                f.post(queue, in + (long)i * BUFFER, out + (long)i * BUFFER, payload);
                f.driver.kick(0);
            }
            TimeUnit.MILLISECONDS.sleep(STALE_WORKER_CHANCE_MILLIS);

            assertEquals(callsAtReset, worker.handlerCalls(), "the worker stopped before reset completed");
            assertArrayEquals(usedAtReset, snapshot(f, usedRing, usedLength), "the used ring is untouched");
            assertArrayEquals(outAtReset, snapshot(f, out, (long)(CHAINS_BEFORE + CHAINS_AFTER) * BUFFER),
                "no buffer is written after reset");
            assertTrue(f.count(TransportCounter.NOTIFY_BEFORE_DRIVER_OK) > 0, "kicks after reset reach no worker");
            assertEquals(0, f.transport.assignedKicks());

            f.roundTrip(f.start(0, 16), new byte[] {42});
        }
    }

    private static byte[] snapshot(final MmioFixture f, final long gpa, final long length)
    {
        final byte[] bytes = new byte[(int)length];
        f.memory.copyOut(gpa, bytes, 0, bytes.length);
        return bytes;
    }
}
