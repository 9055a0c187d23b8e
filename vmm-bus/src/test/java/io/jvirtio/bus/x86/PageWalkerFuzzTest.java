package io.jvirtio.bus.x86;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.testing.FuzzInput;
import io.jvirtio.bus.testing.FuzzSeeds;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coverage-guided fuzzing of the 4-level page walker over page tables the guest wrote at will into a small RAM
 * (16 pages), with CR3, CR0.WP, EFER.NXE, MAXPHYADDR, the linear address and the access kind all chosen by the input.
 * Invariants for every walk: it returns a {@link WalkStatus} and throws nothing (tables pointing at themselves or
 * outside RAM included); the status and the translated address equal those of an independent reference walk written
 * from SDM vol. 3 §4.5 (so an entry with a reserved bit, including bits at or above MAXPHYADDR and XD without NXE, is
 * refused with RESERVED_BIT and never translated); every paging-structure entry read lies inside RAM; a translation
 * stays below 2^MAXPHYADDR; and each fault is counted once.
 * <p>
 * Seeds live in {@code PageWalkerFuzzTestInputs/walk}, written by {@link #seeds()}: a 4 KiB path, 2 MiB and 1 GiB
 * pages, a reserved bit above MAXPHYADDR, XD without NXE, a table that points at itself.
 * Thread safety: JUnit's thread only.
 */
class PageWalkerFuzzTest
{
    private static final int PAGES = 16;
    private static final long RAM = PAGES * PageTableEntry.TABLE_SIZE;
    /** Bound on the entries one input writes: enough for several complete 4-level paths. */
    private static final int MAX_ENTRIES = 48;
    /** Bound on the walks one input makes over the tables it wrote. */
    private static final int MAX_WALKS = 8;
    private static final long PDPTE_1G_RESERVED = 0x3FFF_E000L;
    private static final long PDE_2M_RESERVED = 0x001F_E000L;

    private final GuestMemory memory = GuestMemory.anonymous(RAM);
    private final Translation out = new Translation();

    @AfterEach
    void close()
    {
        memory.close();
    }

    @FuzzTest(maxDuration = "0s", maxExecutions = 100_000)
    void walk(final FuzzedDataProvider data)
    {
        memory.fill(0, RAM, (byte)0);
        final int maxPhysicalAddressBits = data.consumeInt(32, PageTableEntry.MAX_PHYSICAL_ADDRESS_BITS);
        final PageWalker walker = new PageWalker(memory, maxPhysicalAddressBits);
        final boolean nxe = data.consumeBoolean();
        final boolean wp = data.consumeBoolean();
        final long cr3 = data.consumeBoolean()
            ? data.consumeLong() : data.consumeInt(0, PAGES) * PageTableEntry.TABLE_SIZE;
        final X86Registers regs = new X86Registers().enterLongMode(0).cr3(cr3);
        regs.efer(nxe ? regs.efer() | X86Registers.EFER_NXE : regs.efer() & ~X86Registers.EFER_NXE);
        regs.cr0(wp ? regs.cr0() | X86Registers.CR0_WP : regs.cr0() & ~X86Registers.CR0_WP);

        final int entries = data.consumeInt(0, MAX_ENTRIES);
        for (int i = 0; i < entries; i++)
        {
            final long table = data.consumeInt(0, PAGES - 1) * PageTableEntry.TABLE_SIZE;
            final int index = data.consumeInt(0, PageTableEntry.ENTRIES_PER_TABLE - 1);
            // mostly entries that point at another page of RAM (so walks go deep), sometimes any 64-bit value
            final long value = data.consumeBoolean()
                ? data.consumeInt(0, PAGES) * PageTableEntry.TABLE_SIZE | (data.consumeInt() & 0xFFFL)
                    | (data.consumeBoolean() ? PageTableEntry.EXECUTE_DISABLE : 0)
                : data.consumeLong();
            memory.putLongLE(table + 8L * index, value);
        }

        final int walks = data.consumeInt(1, MAX_WALKS);
        for (int w = 0; w < walks && data.remainingBytes() > 0; w++)
        {
            final long linear = data.consumeLong();
            final AccessType access = data.pickValue(AccessType.values());
            final long before = totalFaults(walker);
            final WalkStatus status = walker.translate(regs, linear, access, out);
            assertNotNull(status, "a status for every walk");
            assertEquals(status, out.status(), "the result carries the status it returned");
            final Expected expected = reference(regs, linear, access, maxPhysicalAddressBits);
            assertEquals(expected.status, status, "the walk agrees with §4.5: linear=0x" + Long.toHexString(linear));
            if (status.isOk())
            {
                assertEquals(expected.gpa, out.gpa(), "translated address");
                assertTrue(out.gpa() >>> maxPhysicalAddressBits == 0, "translation below 2^MAXPHYADDR");
                assertEquals(before, totalFaults(walker), "a translation counts no fault");
            }
            else
            {
                assertEquals(before + 1, totalFaults(walker), "each fault is counted once");
            }
            if (status != WalkStatus.NON_CANONICAL && status != WalkStatus.TABLE_NOT_IN_RAM)
            {
                assertTrue(memory.isRam(out.entryAddress(), Long.BYTES), "the entry read lies in RAM");
            }
        }
    }

    @Test
    void shouldMatchCheckedInSeeds()
    {
        FuzzSeeds.check(PageWalkerFuzzTest.class, "walk", seeds());
    }

    /** @return the seed inputs by file name; tables at pages 1 (PML4), 2 (PDPT), 3 (PD), 4 (PT). */
    static Map<String, byte[]> seeds()
    {
        final long table = PageTableEntry.PRESENT | PageTableEntry.WRITABLE;
        final long large = table | PageTableEntry.PAGE_SIZE;
        final long linear4k = (1L << 39) | (2L << 30) | (3L << 21) | (4L << 12) | 0x123;
        return Map.of(
            "path-4k", walkSeed(36, false, new long[][] {
                {1, 1, 2, table}, {2, 2, 3, table}, {3, 3, 4, table}, {4, 4, 5, table}}, linear4k, AccessType.WRITE),
            "page-2m", walkSeed(40, false, new long[][] {
                {1, 1, 2, table}, {2, 2, 3, table}, {3, 3, 0, large}}, linear4k, AccessType.READ),
            "page-1g", walkSeed(52, false, new long[][] {{1, 1, 2, table}, {2, 2, 0, large}}, linear4k,
                AccessType.FETCH),
            "reserved-above-maxphyaddr", walkSeed(32, false, new long[][] {
                {1, 1, 2, table}, {2, 2, 3, table}, {3, 3, 4, table}, {4, 4, -1, (1L << 40) | table}}, linear4k,
                AccessType.READ),
            "xd-without-nxe", walkSeed(46, false, new long[][] {
                {1, 1, 2, table}, {2, 2, 3, table}, {3, 3, 4, table | PageTableEntry.EXECUTE_DISABLE}}, linear4k,
                AccessType.FETCH),
            "self-referencing-pml4", walkSeed(46, true, new long[][] {{1, 0, 1, table}}, 0x123, AccessType.READ));
    }

    /**
     * @param entries each {table page, index, target page, flags}; a target page of -1 writes {@code flags} as the
     *                whole raw entry.
     */
    private static byte[] walkSeed(
        final int maxPhy, final boolean nxe, final long[][] entries, final long linear, final AccessType access)
    {
        final FuzzInput in = new FuzzInput().integer(maxPhy, 32, PageTableEntry.MAX_PHYSICAL_ADDRESS_BITS)
            .bool(nxe).bool(true).bool(false).integer(1, 0, PAGES).integer(entries.length, 0, MAX_ENTRIES);
        for (final long[] e : entries)
        {
            in.integer((int)e[0], 0, PAGES - 1).integer((int)e[1], 0, PageTableEntry.ENTRIES_PER_TABLE - 1);
            final long flags = e[3];
            if (e[2] < 0 || flags < 0 && !nxe)
            {
                in.bool(false).anyLong(e[2] < 0 ? flags : e[2] * PageTableEntry.TABLE_SIZE | flags);
            }
            else
            {
                in.bool(true).integer((int)e[2], 0, PAGES).anyInt((int)(flags & 0xFFF)).bool(flags < 0);
            }
        }
        return in.integer(1, 1, MAX_WALKS).anyLong(linear).pick(access).toBytes();
    }

    private record Expected(WalkStatus status, long gpa)
    {
    }

    /** The walk as SDM vol. 3 §4.5 describes it, written independently of {@link PageWalker}'s loop. */
    private Expected reference(final X86Registers regs, final long linear, final AccessType access, final int maxPhy)
    {
        if (((linear << 16) >> 16) != linear)
        {
            return new Expected(WalkStatus.NON_CANONICAL, 0);
        }
        final boolean nxe = (regs.efer() & X86Registers.EFER_NXE) != 0;
        final long frameMask = ((1L << maxPhy) - 1) & ~0xFFFL;
        final long aboveMaxPhy = ((1L << PageTableEntry.MAX_PHYSICAL_ADDRESS_BITS) - 1) & ~((1L << maxPhy) - 1);
        long table = regs.cr3() & frameMask;
        boolean writable = true;
        boolean noExecute = false;
        for (int level = 4; level >= 1; level--)
        {
            final int shift = 12 + 9 * (level - 1);
            final long address = table + (((linear >>> shift) & 0x1FF) << 3);
            if (address < 0 || address + Long.BYTES > RAM)
            {
                return new Expected(WalkStatus.TABLE_NOT_IN_RAM, 0);
            }
            final long e = memory.getLongLE(address);
            if ((e & PageTableEntry.PRESENT) == 0)
            {
                return new Expected(WalkStatus.NOT_PRESENT, 0);
            }
            final boolean leaf = level == 1 || (level <= 3 && (e & PageTableEntry.PAGE_SIZE) != 0);
            long reserved = aboveMaxPhy | (nxe ? 0 : PageTableEntry.EXECUTE_DISABLE);
            reserved |= level == 4 ? PageTableEntry.PAGE_SIZE : 0;
            reserved |= leaf && level == 3 ? PDPTE_1G_RESERVED : 0;
            reserved |= leaf && level == 2 ? PDE_2M_RESERVED : 0;
            if ((e & reserved) != 0)
            {
                return new Expected(WalkStatus.RESERVED_BIT, 0);
            }
            writable &= (e & PageTableEntry.WRITABLE) != 0;
            noExecute |= nxe && (e & PageTableEntry.EXECUTE_DISABLE) != 0;
            if (leaf)
            {
                if (access == AccessType.WRITE && (regs.cr0() & X86Registers.CR0_WP) != 0 && !writable)
                {
                    return new Expected(WalkStatus.WRITE_PROTECTED, 0);
                }
                if (access == AccessType.FETCH && noExecute)
                {
                    return new Expected(WalkStatus.EXECUTE_DISABLED, 0);
                }
                final long offsetMask = (1L << shift) - 1;
                return new Expected(WalkStatus.OK, (e & frameMask & ~offsetMask) | (linear & offsetMask));
            }
            table = e & frameMask;
        }
        throw new AssertionError("the reference walk passed the last level");
    }

    private static long totalFaults(final PageWalker walker)
    {
        long total = 0;
        for (final WalkStatus s : WalkStatus.values())
        {
            total += s.isOk() ? 0 : walker.faults(s);
        }
        return total;
    }
}
