package io.jvirtio.bus.pci;

import io.jvirtio.bus.stats.ExitPath;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The type 0 header, BAR sizing and decoding, and the capability list, through real PIO and MMIO exits. */
class PciConfigSpaceTest
{
    private static PciFunction function(final PciTestBed.ScratchDevice bar0)
    {
        final PciFunction pci = new PciFunction(PciTestBed.IDENTITY);
        pci.addBar64(0, 0x4000, bar0, null);
        return pci;
    }

    @Test
    void shouldPresentHeaderFieldsThroughConfigMechanismOne()
    {
        try (PciTestBed bed = new PciTestBed())
        {
            bed.bridge.add(3, 0, function(new PciTestBed.ScratchDevice()));
            assertEquals(0x0005_1B36L, bed.cf8Read(3, 0, PciHeader.VENDOR_ID, 4));
            assertEquals(0x0005, bed.cf8Read(3, 0, PciHeader.DEVICE_ID, 2));
            assertEquals(0x00FF_0002L, bed.cf8Read(3, 0, PciHeader.REVISION_ID, 4), "class 00ff00, revision 2");
            assertEquals(0, bed.cf8Read(3, 0, PciHeader.HEADER_TYPE, 1), "header type 0");
            assertEquals(0x1100_1AF4L, bed.cf8Read(3, 0, PciHeader.SUBSYSTEM_VENDOR_ID, 4));
            assertEquals(0, bed.cf8Read(3, 0, PciHeader.STATUS, 2) & PciHeader.STATUS_CAPABILITIES_LIST,
                "no capabilities, no list bit");
            assertEquals(12, bed.vm.exitStats().count(ExitPath.PIO_USERSPACE), "one out and one in per read");
        }
    }

    @Test
    void shouldReadAllOnesFromAbsentFunction()
    {
        try (PciTestBed bed = new PciTestBed())
        {
            assertEquals(0xFFFF_FFFFL, bed.cf8Read(4, 0, PciHeader.VENDOR_ID, 4));
            assertEquals(0xFFFF_FFFFL, bed.ecamRead(4, 1, PciHeader.VENDOR_ID, 4));
            bed.cf8Write(4, 0, PciHeader.COMMAND, 2, 0xFFFF);
            assertEquals(3, bed.bridge.counters().get(PciCounter.ABSENT_FUNCTION_ACCESS));
        }
    }

    @Test
    void shouldReadBarSizeMaskWhenAllOnesWritten()
    {
        try (PciTestBed bed = new PciTestBed())
        {
            bed.bridge.add(0, 0, function(new PciTestBed.ScratchDevice()));
            assertEquals(PciHeader.BAR_MEMORY_TYPE_64, bed.cf8Read(0, 0, PciHeader.BAR0, 4), "64-bit, unplaced");
            bed.cf8Write(0, 0, PciHeader.BAR0, 4, 0xFFFF_FFFFL);
            bed.cf8Write(0, 0, PciHeader.BAR0 + 4, 4, 0xFFFF_FFFFL);
            assertEquals(0xFFFF_C004L, bed.cf8Read(0, 0, PciHeader.BAR0, 4), "16 KiB: address bits from 14 up");
            assertEquals(0xFFFF_FFFFL, bed.cf8Read(0, 0, PciHeader.BAR0 + 4, 4));
            assertEquals(0, bed.cf8Read(0, 0, PciHeader.barOffset(2), 4), "unimplemented bar reads 0");
            bed.cf8Write(0, 0, PciHeader.barOffset(2), 4, 0xFFFF_FFFFL);
            assertEquals(0, bed.cf8Read(0, 0, PciHeader.barOffset(2), 4), "and stays 0 when sized");
        }
    }

    @Test
    void shouldKeepReadOnlyFieldsWhenGuestWritesThem()
    {
        try (PciTestBed bed = new PciTestBed())
        {
            final PciFunction pci = function(new PciTestBed.ScratchDevice());
            bed.bridge.add(0, 0, pci);
            bed.cf8Write(0, 0, PciHeader.VENDOR_ID, 4, 0x1234_5678L);
            bed.cf8Write(0, 0, PciHeader.REVISION_ID, 4, 0xFFFF_FFFFL);
            bed.ecamWrite(0, 0, PciHeader.SUBSYSTEM_VENDOR_ID, 4, 0);
            bed.ecamWrite(0, 0, PciHeader.HEADER_TYPE, 1, 0x80);
            bed.cf8Write(0, 0, PciHeader.CAPABILITIES_POINTER, 1, 0x40);
            assertEquals(0x0005_1B36L, bed.cf8Read(0, 0, PciHeader.VENDOR_ID, 4));
            assertEquals(0x00FF_0002L, bed.cf8Read(0, 0, PciHeader.REVISION_ID, 4));
            assertEquals(0x1100_1AF4L, bed.cf8Read(0, 0, PciHeader.SUBSYSTEM_VENDOR_ID, 4));
            assertEquals(0, bed.cf8Read(0, 0, PciHeader.HEADER_TYPE, 1));
            assertEquals(0, bed.cf8Read(0, 0, PciHeader.CAPABILITIES_POINTER, 1));
            assertEquals(5, pci.counters().get(PciCounter.READ_ONLY_WRITE));
            bed.cf8Write(0, 0, PciHeader.COMMAND, 2, 0xFFFF);
            assertEquals(0x0407, bed.cf8Read(0, 0, PciHeader.COMMAND, 2), "only io, memory, master, intx-disable");
        }
    }

    @Test
    void shouldIgnoreMalformedConfigAccess()
    {
        try (PciTestBed bed = new PciTestBed())
        {
            final PciFunction pci = function(new PciTestBed.ScratchDevice());
            bed.bridge.add(0, 0, pci);
            assertEquals(0xFFFF_FFFFL, bed.ecamRead(0, 0, PciHeader.VENDOR_ID + 2, 4), "unaligned dword");
            assertEquals(0xFFFF, bed.ecamRead(0, 0, PciHeader.VENDOR_ID + 1, 2), "unaligned word");
            assertEquals(-1L, bed.ecamRead(0, 0, PciHeader.VENDOR_ID, 8), "qword");
            bed.ecamWrite(0, 0, PciHeader.COMMAND + 1, 2, 0xFFFF);
            assertEquals(0, bed.cf8Read(0, 0, PciHeader.COMMAND, 2), "the unaligned write was dropped");
            bed.vcpu.out(PciHostBridge.CONFIG_ADDRESS_PORT, 2, 0x8000);
            assertEquals(0xFF, bed.vcpu.in(PciHostBridge.CONFIG_ADDRESS_PORT + 1, 1));
            bed.vcpu.out(PciHostBridge.CONFIG_ADDRESS_PORT, 4, 0);
            assertEquals(0xFFFF_FFFFL, bed.vcpu.in(PciHostBridge.CONFIG_DATA_PORT, 4), "enable bit clear");
            assertEquals(4, pci.counters().get(PciCounter.MALFORMED_CONFIG_ACCESS));
            assertEquals(3, bed.bridge.counters().get(PciCounter.CONFIG_ADDRESS_IGNORED));
        }
    }

    @Test
    void shouldAgreeBetweenEcamAndConfigMechanismOne()
    {
        try (PciTestBed bed = new PciTestBed())
        {
            final PciFunction pci = function(new PciTestBed.ScratchDevice());
            new MsixCapability(bed.vm, pci, 2, 4);
            bed.bridge.add(1, 2, pci);
            bed.cf8Write(1, 2, PciHeader.INTERRUPT_LINE, 1, 0x0B);
            bed.ecamWrite(1, 2, PciHeader.LATENCY_TIMER, 1, 0x40);
            for (int register = 0; register < PciHeader.CONFIG_SPACE_SIZE; register += 4)
            {
                assertEquals(bed.cf8Read(1, 2, register, 4), bed.ecamRead(1, 2, register, 4),
                    "register 0x" + Integer.toHexString(register));
            }
            for (int register = 0; register < 0x40; register += 2)
            {
                assertEquals(bed.cf8Read(1, 2, register, 2), bed.ecamRead(1, 2, register, 2));
            }
            assertEquals(0x0B, bed.ecamRead(1, 2, PciHeader.INTERRUPT_LINE, 1));
            assertEquals(0x40, bed.cf8Read(1, 2, PciHeader.LATENCY_TIMER, 1));
            assertEquals(0, bed.ecamRead(1, 2, 0x100, 4), "extended space exists through ecam, empty here");
        }
    }

    @Test
    void shouldChainCapabilitiesWithExactOffsets()
    {
        try (PciTestBed bed = new PciTestBed())
        {
            final PciFunction pci = function(new PciTestBed.ScratchDevice());
            final int first = pci.addCapability(PciHeader.CAP_ID_VENDOR, 16, null);
            final int second = pci.addCapability(PciHeader.CAP_ID_VENDOR, 20, null);
            final MsixCapability msix = new MsixCapability(bed.vm, pci, 2, 3);
            bed.bridge.add(0, 0, pci);
            assertTrue((bed.cf8Read(0, 0, PciHeader.STATUS, 2) & PciHeader.STATUS_CAPABILITIES_LIST) != 0);
            assertEquals(0x40, first);
            assertEquals(0x50, second);
            assertEquals(0x64, msix.capabilityOffset(), "20 bytes from 0x50, dword aligned");
            int pointer = (int)bed.cf8Read(0, 0, PciHeader.CAPABILITIES_POINTER, 1);
            final int[] expected = {0x40, 0x50, 0x64};
            final int[] ids = {PciHeader.CAP_ID_VENDOR, PciHeader.CAP_ID_VENDOR, PciHeader.CAP_ID_MSIX};
            for (int i = 0; i < expected.length; i++)
            {
                assertEquals(expected[i], pointer);
                assertEquals(ids[i], bed.cf8Read(0, 0, pointer, 1));
                pointer = (int)bed.cf8Read(0, 0, pointer + 1, 1);
            }
            assertEquals(0, pointer, "end of list");
            assertEquals(2, bed.cf8Read(0, 0, 0x64 + MsixCapability.MESSAGE_CONTROL, 2), "table size n - 1");
            assertEquals(2, bed.cf8Read(0, 0, 0x64 + MsixCapability.TABLE_OFFSET, 4), "table at 0 in bar 2");
            assertEquals(48 | 2, bed.cf8Read(0, 0, 0x64 + MsixCapability.PBA_OFFSET, 4), "pba after 3 entries");
        }
    }

    @Test
    void shouldServeBarOnlyWhileMemoryDecodingIsEnabled()
    {
        try (PciTestBed bed = new PciTestBed())
        {
            final PciTestBed.ScratchDevice device = new PciTestBed.ScratchDevice();
            final PciFunction pci = function(device);
            bed.bridge.add(0, 0, pci);
            bed.bridge.assignBars(pci);
            final long bar = pci.barAddress(0);
            assertEquals(PciTestBed.WINDOW_BASE, bar);
            assertEquals(-1, pci.mappedAddress(0), "decoding still off");
            assertEquals(0xFFFF_FFFFL, bed.vcpu.mmioRead(bar + 8, 4), "nothing decodes there yet");
            bed.cf8Write(0, 0, PciHeader.COMMAND, 2, PciHeader.COMMAND_MEMORY_SPACE);
            bed.vcpu.mmioWrite(bar + 8, 4, 0xCAFE);
            assertEquals(0xCAFE, bed.vcpu.mmioRead(bar + 8, 4));
            assertEquals(0xCAFE, device.slots[1]);

            bed.cf8Write(0, 0, PciHeader.COMMAND, 2, 0);
            assertEquals(0xFFFF_FFFFL, bed.vcpu.mmioRead(bar + 8, 4), "disabled: unmapped");

            final long moved = PciTestBed.WINDOW_BASE + 0x10_0000L;
            bed.cf8Write(0, 0, PciHeader.BAR0, 4, moved);
            bed.cf8Write(0, 0, PciHeader.COMMAND, 2, PciHeader.COMMAND_MEMORY_SPACE);
            assertEquals(moved, pci.mappedAddress(0));
            assertEquals(0xCAFE, bed.vcpu.mmioRead(moved + 8, 4));
            assertEquals(0xFFFF_FFFFL, bed.vcpu.mmioRead(bar + 8, 4), "the old place no longer decodes");
            assertEquals(3, device.accesses.get(), "only the decoded accesses reached the device");
        }
    }

    @Test
    void shouldCountBarPlacedOverRam()
    {
        try (PciTestBed bed = new PciTestBed())
        {
            final PciFunction pci = function(new PciTestBed.ScratchDevice());
            bed.bridge.add(0, 0, pci);
            bed.cf8Write(0, 0, PciHeader.BAR0, 4, 0x10_0000L);
            bed.cf8Write(0, 0, PciHeader.COMMAND, 2, PciHeader.COMMAND_MEMORY_SPACE);
            assertEquals(-1, pci.mappedAddress(0));
            assertEquals(1, pci.counters().get(PciCounter.BAR_MAP_FAILED));
        }
    }
}
