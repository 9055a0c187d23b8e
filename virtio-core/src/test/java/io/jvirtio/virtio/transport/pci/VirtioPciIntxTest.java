package io.jvirtio.virtio.transport.pci;

import io.jvirtio.bus.irq.RedirectionEntry;
import io.jvirtio.bus.pci.PciHeader;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** With MSI-X disabled: the ISR bits, INTA# through a resample irqfd, the status interrupt bit and re-assertion. */
class VirtioPciIntxTest
{
    private static final int GSI = 11;
    private static final int VECTOR = 0x30;

    private static VirtioPciFixture fixture()
    {
        final VirtioPciFixture f = new VirtioPciFixture(GSI);
        f.vm.irqchip().programPin(GSI, RedirectionEntry.level(VECTOR, 0));
        // the driver falls back from MSI-X to INTx
        f.driver.disableMsix();
        return f;
    }

    private static long status(final VirtioPciFixture f)
    {
        return f.cfg.read(VirtioPciFixture.SLOT, 0, PciHeader.STATUS, 2);
    }

    @Test
    void shouldAssertIntxWithIsrQueueBitWhenMsixIsDisabled() throws Exception
    {
        try (VirtioPciFixture f = fixture())
        {
            assertEquals(1, f.cfg.read(VirtioPciFixture.SLOT, 0, PciHeader.INTERRUPT_PIN, 1), "INTA#");
            assertEquals(GSI, f.cfg.read(VirtioPciFixture.SLOT, 0, PciHeader.INTERRUPT_LINE, 1));
            f.negotiate();
            final SplitQueueDriver queue = new SplitQueueDriver(f.vm.memory(), f.setUpQueue0());
            f.driverOk();
            final long buffer = f.vm.guestAddressSpace().allocate(32, 64);
            queue.post(new long[] {buffer, buffer + 16}, new long[] {16, 16}, 1, 1);
            queue.publish();
            f.driver.notifyQueue(0);
            assertEquals(VECTOR, f.vcpu.hlt(30, TimeUnit.SECONDS));
            assertEquals(PciHeader.STATUS_INTERRUPT, status(f) & PciHeader.STATUS_INTERRUPT, "status mirrors INTx");
            assertEquals(VirtioPciTransport.ISR_QUEUE, f.driver.acknowledgeInterrupt());
            assertEquals(0, status(f) & PciHeader.STATUS_INTERRUPT, "reading the isr de-asserts");
            f.vcpu.eoi();
            assertEquals(-1, f.vcpu.takeInterrupt(), "isr read before eoi: no re-assertion");
            assertNotEquals(SplitQueueDriver.NOTHING_USED, queue.reap());
        }
    }

    @Test
    void shouldReassertIntxWhenGuestEoisWithoutReadingIsr() throws Exception
    {
        try (VirtioPciFixture f = fixture())
        {
            f.negotiate();
            f.setUpQueue0();
            f.driverOk();
            f.device.changeConfig();
            assertEquals(VECTOR, f.vcpu.takeInterrupt());
            f.vcpu.eoi();
            assertEquals(VECTOR, f.vcpu.takeInterrupt(), "the resample found isr bits and asserted again");
            assertEquals(VirtioPciTransport.ISR_CONFIG, f.driver.acknowledgeInterrupt());
            f.vcpu.eoi();
            assertEquals(-1, f.vcpu.takeInterrupt());
        }
    }

    @Test
    void shouldNotAssertIntxWhenCommandDisablesIt()
    {
        try (VirtioPciFixture f = fixture())
        {
            f.cfg.write(VirtioPciFixture.SLOT, 0, PciHeader.COMMAND, 2, PciHeader.COMMAND_MEMORY_SPACE
                | PciHeader.COMMAND_BUS_MASTER | PciHeader.COMMAND_INTX_DISABLE);
            f.negotiate();
            f.setUpQueue0();
            f.driverOk();
            f.device.changeConfig();
            assertEquals(-1, f.vcpu.takeInterrupt());
            assertEquals(0, status(f) & PciHeader.STATUS_INTERRUPT);
            assertEquals(VirtioPciTransport.ISR_CONFIG, f.driver.acknowledgeInterrupt(), "the isr is still set");
        }
    }
}
