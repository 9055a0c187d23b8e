package io.jvirtio.bus.x86;

import io.jvirtio.bus.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static io.jvirtio.bus.x86.PageTableEntry.EXECUTE_DISABLE;
import static io.jvirtio.bus.x86.PageTableEntry.PAGE_SIZE;
import static io.jvirtio.bus.x86.PageTableEntry.PRESENT;
import static io.jvirtio.bus.x86.PageTableEntry.WRITABLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The 4-level walker over hand-laid tables: PML4 at 0x1000, PDPT at 0x2000, PD at 0x3000, PT at 0x4000, with
 * {@code P | R/W} intermediate entries, so each test states exactly the entry it is about.
 */
class PageWalkerTest
{
    private static final long PML4 = 0x1000;
    private static final long PDPT = 0x2000;
    private static final long PD = 0x3000;
    private static final long PT = 0x4000;
    private static final long TABLE = PRESENT | WRITABLE;
    private static final long RAM = 4L << 20;
    private static final long NOT_RAM = 0x8000_0000L;

    /** PML4 index 1, PDPT index 2, PD index 3, PT index 4, offset 0x123. */
    private static final long LINEAR_4K = linear(1, 2, 3, 4, 0x123);

    private final GuestMemory memory = GuestMemory.anonymous(RAM);
    private final PageWalker walker = new PageWalker(memory);
    private final X86Registers regs = new X86Registers().enterLongMode(PML4);
    private final Translation out = new Translation();

    @AfterEach
    void close()
    {
        memory.close();
    }

    private static long linear(final int pml4, final int pdpt, final int pd, final int pt, final long offset)
    {
        final long raw = ((long)pml4 << 39) | ((long)pdpt << 30) | ((long)pd << 21) | ((long)pt << 12) | offset;
        return (raw << 16) >> 16;
    }

    private void entry(final long table, final int index, final long value)
    {
        memory.putLongLE(table + 8L * index, value);
    }

    /** Lays the path to {@link #LINEAR_4K} with the given leaf PTE. */
    private void path4k(final long pte)
    {
        entry(PML4, 1, PDPT | TABLE);
        entry(PDPT, 2, PD | TABLE);
        entry(PD, 3, PT | TABLE);
        entry(PT, 4, pte);
    }

    @Test
    void shouldTranslateThrough4KiBPage()
    {
        path4k(0x5_6000L | TABLE);
        assertEquals(WalkStatus.OK, walker.translate(regs, LINEAR_4K, AccessType.READ, out));
        assertEquals(0x5_6123L, out.gpa());
        assertEquals(PageSize.SIZE_4K, out.pageSize());
        assertEquals(1, out.level());
        assertEquals(PT + 8 * 4, out.entryAddress());
        assertEquals(0x1000 - 0x123, out.bytesToPageEnd());
    }

    @Test
    void shouldTranslateThrough2MiBPage()
    {
        entry(PML4, 1, PDPT | TABLE);
        entry(PDPT, 2, PD | TABLE);
        entry(PD, 5, 0x60_0000L | TABLE | PAGE_SIZE);
        assertEquals(WalkStatus.OK, walker.translate(regs, linear(1, 2, 5, 0, 0x1_2345), AccessType.WRITE, out));
        assertEquals(0x61_2345L, out.gpa());
        assertEquals(PageSize.SIZE_2M, out.pageSize());
        assertEquals(2, out.level());
    }

    @Test
    void shouldTranslateThrough1GiBPage()
    {
        entry(PML4, 1, PDPT | TABLE);
        entry(PDPT, 7, 0x4000_0000L | TABLE | PAGE_SIZE);
        assertEquals(WalkStatus.OK,
            walker.translate(regs, linear(1, 7, 0, 0, 0x1234_5678), AccessType.FETCH, out));
        assertEquals(0x5234_5678L, out.gpa(), "the frame need not be RAM: device memory maps the same way");
        assertEquals(PageSize.SIZE_1G, out.pageSize());
        assertEquals(3, out.level());
    }

    @Test
    void shouldTranslateHighHalfAddress()
    {
        entry(PML4, 511, PDPT | TABLE);
        entry(PDPT, 510, 0x4000_0000L | TABLE | PAGE_SIZE);
        final long kernel = 0xFFFF_FFFF_8000_0000L + 0x42;
        assertEquals(WalkStatus.OK, walker.translate(regs, kernel, AccessType.READ, out));
        assertEquals(0x4000_0042L, out.gpa());
    }

    @Test
    void shouldIgnorePatBitsAndIgnoredHighBits()
    {
        path4k(0x5_6000L | TABLE | PAGE_SIZE | (0x7FFL << 52)); // PTE bit 7 is PAT; bits 62:52 are ignored
        assertEquals(WalkStatus.OK, walker.translate(regs, LINEAR_4K, AccessType.READ, out));
        assertEquals(0x5_6123L, out.gpa());

        entry(PD, 6, 0x60_0000L | 0x1000 | TABLE | PAGE_SIZE); // bit 12 of a 2 MiB PDE is PAT, not address
        assertEquals(WalkStatus.OK, walker.translate(regs, linear(1, 2, 6, 0, 0x10), AccessType.READ, out));
        assertEquals(0x60_0010L, out.gpa());
    }

    @Test
    void shouldUseAddressBitsUpToMaxPhysAddr()
    {
        path4k((1L << 51) | 0x5_6000L | TABLE);
        assertEquals(WalkStatus.OK, walker.translate(regs, LINEAR_4K, AccessType.READ, out));
        assertEquals((1L << 51) | 0x5_6123L, out.gpa(), "bit 51 is an address bit with MAXPHYADDR 52");
    }

    @ParameterizedTest(name = "level {0}")
    @ValueSource(ints = {4, 3, 2, 1})
    void shouldFaultNotPresentAtEachLevel(final int level)
    {
        path4k(0x5_6000L | TABLE);
        final long[] tables = {PT, PD, PDPT, PML4};
        final int[] indexes = {4, 3, 2, 1};
        entry(tables[level - 1], indexes[level - 1], 0xDEAD_B000L | WRITABLE | EXECUTE_DISABLE); // P = 0, junk else

        assertEquals(WalkStatus.NOT_PRESENT, walker.translate(regs, LINEAR_4K, AccessType.READ, out));
        assertEquals(level, out.level());
        assertEquals(0, out.errorCode(), "P = 0, read, supervisor");
        assertNull(out.pageSize());

        assertEquals(WalkStatus.NOT_PRESENT, walker.translate(regs, LINEAR_4K, AccessType.WRITE, out));
        assertEquals(Translation.PF_WRITE, out.errorCode());
        assertEquals(WalkStatus.NOT_PRESENT, walker.translate(regs, LINEAR_4K, AccessType.FETCH, out));
        assertEquals(Translation.PF_FETCH, out.errorCode(), "I/D is set for fetches with EFER.NXE");
        assertEquals(3, walker.faults(WalkStatus.NOT_PRESENT));
        assertEquals(tables[level - 1] + 8L * indexes[level - 1], out.entryAddress());
    }

    @Test
    void shouldFaultReservedWhenPsInPml4e()
    {
        path4k(0x5_6000L | TABLE);
        entry(PML4, 1, PDPT | TABLE | PAGE_SIZE);
        assertReserved(4, AccessType.READ);
    }

    @Test
    void shouldFaultReservedWhenLowBitsOf1GiBFrameSet()
    {
        entry(PML4, 1, PDPT | TABLE);
        entry(PDPT, 2, 0x4000_0000L | 0x2000 | TABLE | PAGE_SIZE); // bit 13: in 29:13
        assertReservedAt(linear(1, 2, 0, 0, 0), 3);
        entry(PDPT, 2, 0x4000_0000L | (1L << 29) | TABLE | PAGE_SIZE); // bit 29: in 29:13
        assertReservedAt(linear(1, 2, 0, 0, 0), 3);
    }

    @Test
    void shouldFaultReservedWhenLowBitsOf2MiBFrameSet()
    {
        entry(PML4, 1, PDPT | TABLE);
        entry(PDPT, 2, PD | TABLE);
        entry(PD, 3, 0x60_0000L | (1L << 20) | TABLE | PAGE_SIZE); // bit 20: in 20:13
        assertReservedAt(linear(1, 2, 3, 0, 0), 2);
    }

    @ParameterizedTest(name = "level {0}")
    @ValueSource(ints = {4, 3, 2, 1})
    void shouldFaultReservedWhenAddressBitAboveMaxPhysAddrAtEachLevel(final int level)
    {
        final PageWalker narrow = new PageWalker(memory, 40);
        path4k(0x5_6000L | TABLE);
        final long[] tables = {PT, PD, PDPT, PML4};
        final long[] targets = {0x5_6000L, PT, PD, PDPT};
        final int[] indexes = {4, 3, 2, 1};
        entry(tables[level - 1], indexes[level - 1], targets[level - 1] | (1L << 45) | TABLE);
        assertEquals(WalkStatus.RESERVED_BIT, narrow.translate(regs, LINEAR_4K, AccessType.WRITE, out));
        assertEquals(level, out.level());
        assertEquals(Translation.PF_PRESENT | Translation.PF_RESERVED | Translation.PF_WRITE, out.errorCode());
        assertEquals(1, narrow.faults(WalkStatus.RESERVED_BIT));
        if (level == 1)
        {
            assertEquals(WalkStatus.OK, walker.translate(regs, LINEAR_4K, AccessType.WRITE, out));
            assertEquals((1L << 45) | 0x5_6123L, out.gpa(), "MAXPHYADDR 52 takes bit 45 as an address bit");
        }
    }

    @Test
    void shouldFaultReservedWhenExecuteDisableSetWithoutNxe()
    {
        regs.efer(regs.efer() & ~X86Registers.EFER_NXE);
        path4k(0x5_6000L | TABLE | EXECUTE_DISABLE);
        assertReserved(1, AccessType.READ);
    }

    @Test
    void shouldCheckReservedBitsOnlyInPresentEntries()
    {
        path4k(-1L & ~PRESENT);
        assertEquals(WalkStatus.NOT_PRESENT, walker.translate(regs, LINEAR_4K, AccessType.READ, out));
    }

    @Test
    void shouldFaultNonCanonicalAddressesBeforeReadingTables()
    {
        assertEquals(WalkStatus.NON_CANONICAL, walker.translate(regs, 0x0000_8000_0000_0000L, AccessType.READ, out));
        assertEquals(0, out.level());
        assertEquals(0, out.errorCode());
        assertEquals(WalkStatus.NON_CANONICAL, walker.translate(regs, 0xFFFF_7FFF_FFFF_FFFFL, AccessType.FETCH, out));
        assertEquals(WalkStatus.NON_CANONICAL, walker.translate(regs, Long.MIN_VALUE, AccessType.WRITE, out));
        assertEquals(3, walker.faults(WalkStatus.NON_CANONICAL));
    }

    @Test
    void shouldFaultTypedWhenTablesLieOutsideRam()
    {
        regs.cr3(NOT_RAM);
        assertEquals(WalkStatus.TABLE_NOT_IN_RAM, walker.translate(regs, LINEAR_4K, AccessType.READ, out));
        assertEquals(4, out.level());
        assertEquals(NOT_RAM + 8, out.entryAddress());

        regs.cr3(PML4);
        path4k(0x5_6000L | TABLE);
        entry(PD, 3, NOT_RAM | TABLE);
        assertEquals(WalkStatus.TABLE_NOT_IN_RAM, walker.translate(regs, LINEAR_4K, AccessType.READ, out));
        assertEquals(1, out.level(), "the PT is the table that is not RAM");

        entry(PML4, 1, RAM | TABLE); // the PDPT would start where RAM ends
        assertEquals(WalkStatus.TABLE_NOT_IN_RAM, walker.translate(regs, LINEAR_4K, AccessType.READ, out));
        assertEquals(3, out.level());
        assertEquals(RAM + 8 * 2, out.entryAddress());
        assertEquals(3, walker.faults(WalkStatus.TABLE_NOT_IN_RAM));
    }

    @Test
    void shouldResolveRecursiveSlotToThePml4Itself()
    {
        entry(PML4, 511, PML4 | TABLE);
        final long self = linear(511, 511, 511, 511, 0x8 * 511);
        assertEquals(0xFFFF_FFFF_FFFF_FFF8L, self);
        assertEquals(WalkStatus.OK, walker.translate(regs, self, AccessType.READ, out));
        assertEquals(PML4 + 0x8 * 511, out.gpa(), "the recursive entry maps the PML4 as a data page");
    }

    @Test
    void shouldTerminateWhenEveryTablePointsAtItself()
    {
        entry(PML4, 0, PML4 | TABLE);
        assertEquals(WalkStatus.OK, walker.translate(regs, 0x10, AccessType.READ, out));
        assertEquals(PML4 + 0x10, out.gpa());

        entry(PML4, 0, PML4 | TABLE | PAGE_SIZE);
        assertEquals(WalkStatus.RESERVED_BIT, walker.translate(regs, 0x10, AccessType.READ, out));
        assertEquals(4, out.level());
    }

    @Test
    void shouldTerminateWhenTwoTablesPointAtEachOther()
    {
        entry(PML4, 0, PDPT | TABLE);
        entry(PDPT, 0, PML4 | TABLE);
        assertEquals(WalkStatus.OK, walker.translate(regs, 0x20, AccessType.READ, out));
        assertEquals(PML4 + 0x20, out.gpa(), "PML4 -> PDPT -> PML4 -> PDPT, whose entry maps the PML4 as data");
    }

    @Test
    void shouldFaultWriteToReadOnlyPageAtAnyLevelWhenWriteProtect()
    {
        path4k(0x5_6000L | PRESENT);
        assertEquals(WalkStatus.WRITE_PROTECTED, walker.translate(regs, LINEAR_4K, AccessType.WRITE, out));
        assertEquals(Translation.PF_PRESENT | Translation.PF_WRITE, out.errorCode());
        assertEquals(WalkStatus.OK, walker.translate(regs, LINEAR_4K, AccessType.READ, out));

        path4k(0x5_6000L | TABLE);
        entry(PML4, 1, PDPT | PRESENT);
        assertEquals(WalkStatus.WRITE_PROTECTED, walker.translate(regs, LINEAR_4K, AccessType.WRITE, out),
            "R/W combines over every level");

        regs.cr0(regs.cr0() & ~X86Registers.CR0_WP);
        assertEquals(WalkStatus.OK, walker.translate(regs, LINEAR_4K, AccessType.WRITE, out),
            "supervisor writes ignore R/W when CR0.WP = 0");
        assertEquals(2, walker.faults(WalkStatus.WRITE_PROTECTED));
    }

    @Test
    void shouldFaultFetchFromExecuteDisabledPageWhenNxe()
    {
        path4k(0x5_6000L | TABLE);
        entry(PD, 3, PT | TABLE | EXECUTE_DISABLE);
        assertEquals(WalkStatus.EXECUTE_DISABLED, walker.translate(regs, LINEAR_4K, AccessType.FETCH, out));
        assertEquals(Translation.PF_PRESENT | Translation.PF_FETCH, out.errorCode());
        assertEquals(WalkStatus.OK, walker.translate(regs, LINEAR_4K, AccessType.READ, out));
        assertEquals(WalkStatus.OK, walker.translate(regs, LINEAR_4K, AccessType.WRITE, out));
    }

    @Test
    void shouldMaskCr3LowFlags()
    {
        path4k(0x5_6000L | TABLE);
        regs.cr3(PML4 | 0x18); // PWT and PCD
        assertEquals(WalkStatus.OK, walker.translate(regs, LINEAR_4K, AccessType.READ, out));
        assertEquals(0x5_6123L, out.gpa());
    }

    @Test
    void shouldRefuseMaxPhysAddrOutsideArchitecturalRange()
    {
        assertThrows(IllegalArgumentException.class, () -> new PageWalker(memory, 53));
        assertThrows(IllegalArgumentException.class, () -> new PageWalker(memory, 31));
    }

    private void assertReserved(final int level, final AccessType access)
    {
        assertEquals(WalkStatus.RESERVED_BIT, walker.translate(regs, LINEAR_4K, access, out));
        assertEquals(level, out.level());
        assertEquals(Translation.PF_PRESENT | Translation.PF_RESERVED, out.errorCode());
        assertEquals(1, walker.faults(WalkStatus.RESERVED_BIT));
    }

    private void assertReservedAt(final long linear, final int level)
    {
        assertEquals(WalkStatus.RESERVED_BIT, walker.translate(regs, linear, AccessType.READ, out));
        assertEquals(level, out.level());
        assertEquals(Translation.PF_PRESENT | Translation.PF_RESERVED, out.errorCode());
    }
}
