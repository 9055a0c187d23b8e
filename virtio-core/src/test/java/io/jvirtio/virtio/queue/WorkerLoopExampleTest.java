package io.jvirtio.virtio.queue;

import org.junit.jupiter.api.Test;

import static io.jvirtio.virtio.queue.RingFixture.buffer;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Runs the worker loop of {@link VirtQueue}'s class comment, verbatim, so the documented example keeps compiling. */
class WorkerLoopExampleTest
{
    /** What the example calls the device: consumes one chain, returns the bytes it wrote. */
    private interface Device
    {
        int process(DescriptorChain chain);
    }

    private int interrupts;
    private int sleeps;

    private final Device device = (final DescriptorChain chain) -> chain.write(0, new byte[] {42, 43}, 0, 2);
    private final Irq irq = new Irq();

    private void sleep()
    {
        sleeps++;
    }

    /** The body below is the snippet in {@link VirtQueue}'s class comment. */
    private void drain(final VirtQueue queue, final DescriptorChain chain)
    {
        int budget = queue.size();
        while (budget-- > 0 && queue.pop(chain) == PopStatus.CHAIN)
        {
            final int n = device.process(chain);
            queue.complete(chain, n);
        }
        queue.publish();
        if (queue.needsInterrupt())
        {
            irq.signal();
        }
        if (!queue.enableNotificationAndRecheck())
        {
            sleep();
        }
    }

    /** The interrupt the example signals (an irqfd's eventfd in a device). */
    private final class Irq
    {
        void signal()
        {
            interrupts++;
        }
    }

    @Test
    void shouldDrainSignalAndSleepAsDocumented()
    {
        try (RingFixture f = new RingFixture(8, true, false))
        {
            for (int i = 0; i < 3; i++)
            {
                f.postPair(buffer(2 * i), 8, buffer(2 * i + 1), 8);
            }
            drain(f.queue, f.chain);
            assertEquals(3, f.queue.counters().get(QueueCounter.CHAINS_COMPLETED));
            assertEquals(1, interrupts);
            assertEquals(1, sleeps);
            for (int i = 0; i < 3; i++)
            {
                f.driver.reap();
                assertEquals(2, f.driver.reapedLength());
            }
        }
    }
}
