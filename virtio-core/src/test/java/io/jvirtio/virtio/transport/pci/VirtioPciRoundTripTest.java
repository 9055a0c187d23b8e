package io.jvirtio.virtio.transport.pci;

import io.jvirtio.bus.stats.ExitPath;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole path over virtio-pci: the guest enumerates the device through port I/O, negotiates and sets up a queue
 * through MMIO exits to the register file, kicks on the fast MMIO path, and takes the device's MSI-X interrupts.
 */
class VirtioPciRoundTripTest
{
    private static final int REQUESTS = 32;
    private static final int BYTES = 64;

    @Test
    void shouldCopyEveryRequestWithFastMmioKicksAndMsixInterrupts() throws Exception
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            f.negotiate();
            final SplitQueueConfig config = f.setUpQueue0();
            assertEquals(1, f.driver.queueMsixVector(0), "queue 0 on msi-x vector 1");
            assertEquals(0, f.driver.configMsixVector());
            final SplitQueueDriver queue = new SplitQueueDriver(f.vm.memory(), config);
            f.driverOk();
            final long in = f.vm.guestAddressSpace().allocate(BYTES, 64);
            final long out = f.vm.guestAddressSpace().allocate(BYTES, 64);
            final long[] addrs = {in, out};
            final long[] lens = {BYTES, BYTES};
            final long fastBefore = f.vm.exitStats().count(ExitPath.FAST_MMIO);
            long kicks = 0;
            for (int r = 0; r < REQUESTS; r++)
            {
                for (int i = 0; i < BYTES; i++)
                {
                    f.vm.memory().putByte(in + i, (byte)(r * 7 + i));
                }
                assertNotEquals(SplitQueueDriver.NO_SPACE, queue.post(addrs, lens, 1, 1));
                queue.publish();
                if (queue.needsKick())
                {
                    f.driver.notifyQueue(0);
                    kicks++;
                }
                final int vector = f.vcpu.hlt(30, TimeUnit.SECONDS);
                assertEquals(f.driver.queueApicVector(0), vector, "request " + r + " completed by msi-x vector 1");
                f.vcpu.eoi();
                assertNotEquals(SplitQueueDriver.NOTHING_USED, queue.reap());
                assertEquals(BYTES, queue.reapedLength());
                for (int i = 0; i < BYTES; i++)
                {
                    assertEquals((byte)(r * 7 + i), f.vm.memory().getByte(out + i));
                }
            }
            assertTrue(kicks > 0);
            assertEquals(kicks, f.vm.exitStats().count(ExitPath.FAST_MMIO) - fastBefore,
                "every kick took the fast path");
            assertEquals(REQUESTS, f.device.chains());
            assertEquals(0, f.transport.isrPeek(), "msi-x enabled: the isr queue bit is not used");
            f.driver.writeStatus(0);
            assertEquals(0, f.driver.readStatus());
        }
    }

    @Test
    void shouldMoveNotifyIoEventFdsWhenBarMoves() throws Exception
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            f.negotiate();
            f.setUpQueue0();
            f.driverOk();
            final long old = f.driver.barAddress(VirtioPciTransport.STRUCTURE_BAR);
            final long moved = old + 0x100_0000L;
            f.cfg.write(VirtioPciFixture.SLOT, 0, 0x04, 2, 0x4);
            f.cfg.write(VirtioPciFixture.SLOT, 0, 0x10, 4, moved | 0x4);
            f.cfg.write(VirtioPciFixture.SLOT, 0, 0x04, 2, 0x6);
            assertEquals(moved, f.transport.function().mappedAddress(VirtioPciTransport.STRUCTURE_BAR));
            final long fast = f.vm.exitStats().count(ExitPath.FAST_MMIO);
            f.vcpu.mmioWrite(moved + VirtioPciTransport.NOTIFY_OFFSET, 2, 0);
            assertEquals(fast + 1, f.vm.exitStats().count(ExitPath.FAST_MMIO), "the kick followed the bar");
            f.vcpu.mmioWrite(old + VirtioPciTransport.NOTIFY_OFFSET, 2, 0);
            assertEquals(fast + 1, f.vm.exitStats().count(ExitPath.FAST_MMIO), "nothing left at the old place");
        }
    }
}
