package io.jvirtio.bus.pci;

import io.jvirtio.bus.irq.MsiMessage;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MSI-X through real exits: table programming, enable, function and entry masks, pending bits, rewritten entries. */
class MsixCapabilityTest
{
    private static final int VECTORS = 3;

    private final PciTestBed bed = new PciTestBed();
    private final PciFunction pci = new PciFunction(PciTestBed.IDENTITY);
    private final MsixCapability msix = new MsixCapability(bed.vm, pci, 0, VECTORS);
    private long table;

    private void setUp()
    {
        bed.bridge.add(0, 0, pci);
        bed.bridge.assignBars(pci);
        bed.cf8Write(0, 0, PciHeader.COMMAND, 2, PciHeader.COMMAND_MEMORY_SPACE | PciHeader.COMMAND_BUS_MASTER);
        table = pci.barAddress(0);
    }

    private void program(final int vector, final int apicVector, final boolean masked)
    {
        final MsiMessage message = MsiMessage.of(0, apicVector);
        final long entry = table + (long)vector * MsixCapability.ENTRY_SIZE;
        bed.vcpu.mmioWrite(entry + MsixCapability.ENTRY_ADDRESS_LOW, 4, message.address());
        bed.vcpu.mmioWrite(entry + MsixCapability.ENTRY_ADDRESS_HIGH, 4, 0);
        bed.vcpu.mmioWrite(entry + MsixCapability.ENTRY_DATA, 4, message.data());
        bed.vcpu.mmioWrite(entry + MsixCapability.ENTRY_VECTOR_CONTROL, 4, masked ? 1 : 0);
    }

    private void control(final int value)
    {
        bed.cf8Write(0, 0, msix.capabilityOffset() + MsixCapability.MESSAGE_CONTROL, 2, value);
    }

    private long pba()
    {
        return bed.vcpu.mmioRead(table + msix.pbaOffset(), 8);
    }

    @Test
    void shouldDeliverProgrammedVectorWhenEnabledAndUnmasked()
    {
        try (bed; msix)
        {
            setUp();
            program(1, 0x51, false);
            msix.eventFd(1).signal();
            assertEquals(-1, bed.vcpu.takeInterrupt(), "msi-x still disabled: nothing is sent");
            control(MsixCapability.CONTROL_ENABLE);
            assertEquals(0x51, bed.vcpu.takeInterrupt(), "the signal that waited goes out when enabled");
            bed.vcpu.eoi();
            msix.eventFd(1).signal();
            assertEquals(0x51, bed.vcpu.takeInterrupt());
            bed.vcpu.eoi();
            assertEquals(MsiMessage.of(0, 0x51), msix.message(1));
            assertEquals(0x8002, bed.cf8Read(0, 0, msix.capabilityOffset() + MsixCapability.MESSAGE_CONTROL, 2),
                "enable bit and table size n - 1 = 2");
        }
    }

    @Test
    void shouldSetPendingBitWhenMaskedAndFireOnUnmask()
    {
        try (bed; msix)
        {
            setUp();
            program(2, 0x52, true);
            control(MsixCapability.CONTROL_ENABLE);
            msix.eventFd(2).signal();
            assertEquals(-1, bed.vcpu.takeInterrupt(), "masked: no interrupt");
            assertTrue(msix.pending(2));
            assertEquals(1L << 2, pba());
            bed.vcpu.mmioWrite(table + 2 * MsixCapability.ENTRY_SIZE + MsixCapability.ENTRY_VECTOR_CONTROL, 4, 0);
            assertEquals(0x52, bed.vcpu.takeInterrupt(), "unmask delivers the pending message");
            bed.vcpu.eoi();
            assertEquals(0, pba(), "pending bit cleared by delivery");
            assertFalse(msix.pending(2));
        }
    }

    @Test
    void shouldHoldEveryVectorWhenFunctionMaskIsSet()
    {
        try (bed; msix)
        {
            setUp();
            program(0, 0x50, false);
            program(1, 0x51, false);
            control(MsixCapability.CONTROL_ENABLE | MsixCapability.CONTROL_FUNCTION_MASK);
            msix.eventFd(0).signal();
            msix.eventFd(1).signal();
            assertEquals(-1, bed.vcpu.takeInterrupt());
            assertEquals(0b11, pba());
            control(MsixCapability.CONTROL_ENABLE);
            assertEquals(0x51, bed.vcpu.takeInterrupt(), "highest vector first");
            bed.vcpu.eoi();
            assertEquals(0x50, bed.vcpu.takeInterrupt());
            bed.vcpu.eoi();
        }
    }

    @Test
    void shouldRouteToNewMessageWhenEntryIsRewritten()
    {
        try (bed; msix)
        {
            setUp();
            program(0, 0x50, false);
            control(MsixCapability.CONTROL_ENABLE);
            bed.vcpu.mmioWrite(table + MsixCapability.ENTRY_DATA, 4, 0x60);
            msix.eventFd(0).signal();
            assertEquals(0x60, bed.vcpu.takeInterrupt());
            bed.vcpu.eoi();
            assertEquals(1, bed.vm.irqchip().gsiRaised(msix.gsi(0)));
        }
    }

    @Test
    void shouldIgnoreMalformedTableAccess()
    {
        try (bed; msix)
        {
            setUp();
            program(0, 0x50, true);
            bed.vcpu.mmioWrite(table + MsixCapability.ENTRY_DATA, 2, 0x77);
            bed.vcpu.mmioWrite(table + MsixCapability.ENTRY_DATA + 1, 4, 0x77);
            bed.vcpu.mmioWrite(table + MsixCapability.ENTRY_DATA + 4, 8, 0x77);
            bed.vcpu.mmioWrite(table + msix.pbaOffset() + 8, 4, 0x77);
            assertEquals(0xFFFF, bed.vcpu.mmioRead(table + MsixCapability.ENTRY_DATA, 2));
            assertEquals(0xFFFF_FFFFL, bed.vcpu.mmioRead(table + 0x800, 4), "past the pba");
            assertEquals(0x50, bed.vcpu.mmioRead(table + MsixCapability.ENTRY_DATA, 4), "entry unchanged");
            assertEquals(6, pci.counters().get(PciCounter.MSIX_MALFORMED_ACCESS));
            bed.vcpu.mmioWrite(table + msix.pbaOffset(), 8, -1L);
            assertEquals(0, pba(), "the pba is read-only");
            assertEquals(1, pci.counters().get(PciCounter.MSIX_PBA_WRITE));
        }
    }

    @Test
    void shouldStartWithEveryEntryMasked()
    {
        try (bed; msix)
        {
            setUp();
            for (int v = 0; v < VECTORS; v++)
            {
                assertEquals(MsixCapability.VECTOR_CONTROL_MASK, bed.vcpu.mmioRead(
                    table + (long)v * MsixCapability.ENTRY_SIZE + MsixCapability.ENTRY_VECTOR_CONTROL, 4));
            }
            bed.vcpu.mmioWrite(table + MsixCapability.ENTRY_VECTOR_CONTROL, 4, 0xFFFF_FFFEL);
            assertEquals(0, bed.vcpu.mmioRead(table + MsixCapability.ENTRY_VECTOR_CONTROL, 4),
                "reserved vector control bits read 0");
        }
    }
}
