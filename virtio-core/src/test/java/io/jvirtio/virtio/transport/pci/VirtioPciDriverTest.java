package io.jvirtio.virtio.transport.pci;

import io.jvirtio.bus.stats.ExitPath;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.driver.DriverTransport;
import io.jvirtio.virtio.driver.VirtioDriver;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.transport.LoopbackDevice;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The transport-independent driver core over {@link io.jvirtio.virtio.driver.PciDriverTransport}. */
class VirtioPciDriverTest
{
    private static final int REQUESTS = 16;

    @Test
    void shouldRunDriverCoreOverPciWithEventIdx() throws Exception
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            final VirtioDriver driver = new VirtioDriver(f.driver, f.vcpu, f.vm.guestAddressSpace(), f.vm.memory());
            final long accepted = driver.initialize(VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_EVENT_IDX)
                | VirtioFeatures.bit(LoopbackDevice.F_BASE));
            assertTrue(VirtioFeatures.has(accepted, VirtioFeatures.VIRTIO_F_EVENT_IDX));
            final SplitQueueDriver queue = driver.setupQueue(0, 32);
            driver.driverOk();
            final long buffer = f.vm.guestAddressSpace().allocate(128, 64);
            final long fast = f.vm.exitStats().count(ExitPath.FAST_MMIO);
            for (int r = 0; r < REQUESTS; r++)
            {
                f.vm.memory().putByte(buffer, (byte)r);
                assertNotEquals(SplitQueueDriver.NO_SPACE,
                    queue.post(new long[] {buffer, buffer + 64}, new long[] {64, 64}, 1, 1));
                driver.kick(0);
                final int causes = driver.awaitInterrupt(30, TimeUnit.SECONDS);
                assertEquals(DriverTransport.INTERRUPT_USED_BUFFER, causes & DriverTransport.INTERRUPT_USED_BUFFER);
                assertNotEquals(SplitQueueDriver.NOTHING_USED, queue.reap());
                assertEquals((byte)r, f.vm.memory().getByte(buffer + 64));
            }
            assertTrue(driver.kicks() > 0);
            assertEquals(driver.kicks(), f.vm.exitStats().count(ExitPath.FAST_MMIO) - fast);
            driver.reset();
        }
    }
}
