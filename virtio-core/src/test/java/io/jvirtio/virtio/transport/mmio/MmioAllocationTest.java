package io.jvirtio.virtio.transport.mmio;

import io.jvirtio.virtio.VirtioInterrupt;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.INTERRUPT_ACK;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.INTERRUPT_STATUS;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_NOTIFY;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.STATUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The data-path side of the transport allocates nothing: the worker's used-buffer interrupt (InterruptStatus and the
 * irqfd), and the register accesses a running driver makes (InterruptStatus, ACK, Status, a stray QueueNotify).
 */
class MmioAllocationTest
{
    private static final int WARM_UP = 50_000;
    private static final int ROUNDS = 20_000;
    /** A one-off JIT deoptimization may allocate in one batch on a loaded machine; one clean batch proves the rule. */
    private static final int MEASURED_BATCHES = 3;

    @Test
    void shouldAllocateNothingWhenSignallingAndAcknowledgingInterrupts()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        try (MmioFixture f = new MmioFixture(MmioNotifyMode.DATAMATCH))
        {
            f.start(0, 16);
            final VirtioInterrupt interrupt = f.device.context().interrupt();
            final VirtioMmioTransport transport = f.transport;
            rounds(transport, interrupt, WARM_UP);
            final long tid = Thread.currentThread().threadId();
            final long[] allocated = new long[MEASURED_BATCHES];
            for (int batch = 0; batch < MEASURED_BATCHES; batch++)
            {
                final long before = threads.getThreadAllocatedBytes(tid);
                rounds(transport, interrupt, ROUNDS);
                final long after = threads.getThreadAllocatedBytes(tid);
                allocated[batch] = after - before;
            }
            assertEquals(0, Arrays.stream(allocated).min().orElseThrow(),
                "bytes allocated per batch: " + Arrays.toString(allocated));
        }
    }

    private static void rounds(final VirtioMmioTransport transport, final VirtioInterrupt interrupt, final int rounds)
    {
        for (int i = 0; i < rounds; i++)
        {
            interrupt.signalQueue(0);
            final long causes = transport.read(INTERRUPT_STATUS, 4);
            transport.write(INTERRUPT_ACK, 4, causes);
            transport.read(STATUS, 4);
            transport.write(QUEUE_NOTIFY, 4, 7);
        }
    }
}
