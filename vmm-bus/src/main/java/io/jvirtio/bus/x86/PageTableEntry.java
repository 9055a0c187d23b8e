package io.jvirtio.bus.x86;

/**
 * Bits of a 4-level paging-structure entry (Intel SDM Vol. 3A §4.5.4, Tables 4-15 to 4-20), shared by the walker
 * and the guest's page-table builder. Bit 7 is PS in a PDPTE or PDE and PAT in a PTE; bits 62:52 are ignored by
 * the walker (protection keys are not modelled).
 * <p>
 * Thread safety: constants only.
 */
public final class PageTableEntry
{
    /** P: the entry is present. */
    public static final long PRESENT = 1L;
    /** R/W: writes allowed (subject to CR0.WP for supervisor accesses). */
    public static final long WRITABLE = 1L << 1;
    /** U/S: user-mode accesses allowed. */
    public static final long USER = 1L << 2;
    /** PWT: page-level write-through. */
    public static final long WRITE_THROUGH = 1L << 3;
    /** PCD: page-level cache disable, as ioremap sets for device memory. */
    public static final long CACHE_DISABLE = 1L << 4;
    /** A: accessed. */
    public static final long ACCESSED = 1L << 5;
    /** D: dirty (leaf entries only). */
    public static final long DIRTY = 1L << 6;
    /** PS: the PDPTE or PDE maps a 1 GiB or 2 MiB page; reserved in a PML4E. */
    public static final long PAGE_SIZE = 1L << 7;
    /** G: global (leaf entries only). */
    public static final long GLOBAL = 1L << 8;
    /** XD: execute-disable, when EFER.NXE = 1; reserved otherwise. */
    public static final long EXECUTE_DISABLE = 1L << 63;
    /** The architectural maximum MAXPHYADDR. */
    public static final int MAX_PHYSICAL_ADDRESS_BITS = 52;
    /** Number of entries in one 4 KiB paging structure. */
    public static final int ENTRIES_PER_TABLE = 512;
    /** Size of one paging structure, and of a small page. */
    public static final long TABLE_SIZE = 4096;

    private PageTableEntry()
    {
    }

    /**
     * @param maxPhysicalAddressBits MAXPHYADDR, 32-52.
     * @return the mask of bits {@code MAXPHYADDR-1 .. 12}: where an entry (or CR3) holds a 4 KiB-aligned address.
     */
    public static long addressMask(final int maxPhysicalAddressBits)
    {
        return ((1L << maxPhysicalAddressBits) - 1) & ~(TABLE_SIZE - 1);
    }

    /**
     * @param linear a linear address.
     * @param level  4 (PML4), 3 (PDPT), 2 (PD) or 1 (PT).
     * @return the 9-bit index of the entry that maps {@code linear} in the table of that level.
     */
    public static int indexAt(final long linear, final int level)
    {
        return (int)(linear >>> (12 + 9 * (level - 1))) & (ENTRIES_PER_TABLE - 1);
    }

    /**
     * @param linear a linear address.
     * @return true if bits 63:47 are all equal (48-bit canonical form, Intel SDM Vol. 3A §4.5.1).
     */
    public static boolean isCanonical(final long linear)
    {
        return (linear << 16) >> 16 == linear;
    }
}
