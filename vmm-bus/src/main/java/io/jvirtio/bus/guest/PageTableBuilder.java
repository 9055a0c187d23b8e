package io.jvirtio.bus.guest;

import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.x86.PageSize;
import io.jvirtio.bus.x86.PageTableEntry;

/**
 * Lays out 4-level page tables (Intel SDM Vol. 3A §4.5) in guest RAM, as a guest kernel's early boot code does:
 * tables come from a pool of guest-physical pages given up front, and ranges are mapped with 4 KiB, 2 MiB or 1 GiB
 * pages, identity-mapped or at a direct-map offset such as Linux's {@code __PAGE_OFFSET}
 * ({@link #LINUX_PAGE_OFFSET}). {@link #cr3()} is the value to load into CR3.
 * <p>
 * Intermediate entries are present, writable and accessed (Linux's {@code _KERNPG_TABLE}), plus user if a leaf
 * below asks for it, so the leaf's flags decide the access rights. Leaves get the flags given plus P, and PS for
 * large pages. Mapping an address that is already mapped, or a large page over an existing table, is refused.
 * <p>
 * Errors: this is host code setting up the guest, so a bad request (misaligned, non-canonical, overlapping) or an
 * exhausted pool throws {@link IllegalArgumentException} or {@link IllegalStateException}.
 * <p>
 * Thread safety: not thread-safe; used by the thread that builds the guest before its vCPUs run.
 */
public final class PageTableBuilder
{
    /** Linux's direct-map base with 4-level paging ({@code __PAGE_OFFSET_BASE_L4}, {@code page_64_types.h}). */
    public static final long LINUX_PAGE_OFFSET = 0xFFFF_8880_0000_0000L;
    /** Kernel data, as Linux's {@code PAGE_KERNEL}: present, writable, accessed, dirty, execute-disable. */
    public static final long KERNEL_DATA = PageTableEntry.PRESENT | PageTableEntry.WRITABLE | PageTableEntry.ACCESSED
        | PageTableEntry.DIRTY | PageTableEntry.EXECUTE_DISABLE;
    /** Kernel text, as Linux's {@code PAGE_KERNEL_EXEC}: present, writable, accessed, dirty, executable. */
    public static final long KERNEL_CODE =
        PageTableEntry.PRESENT | PageTableEntry.WRITABLE | PageTableEntry.ACCESSED | PageTableEntry.DIRTY;
    /** Device memory, as {@code ioremap} maps it: kernel data with cache disable and write-through. */
    public static final long DEVICE = KERNEL_DATA | PageTableEntry.CACHE_DISABLE | PageTableEntry.WRITE_THROUGH;

    private static final long TABLE_FLAGS = PageTableEntry.PRESENT | PageTableEntry.WRITABLE | PageTableEntry.ACCESSED;
    private static final long ADDRESS_MASK = PageTableEntry.addressMask(PageTableEntry.MAX_PHYSICAL_ADDRESS_BITS);
    private static final long PHYSICAL_LIMIT = 1L << PageTableEntry.MAX_PHYSICAL_ADDRESS_BITS;
    private static final int TOP_LEVEL = 4;

    private final GuestMemory memory;
    private final long poolBase;
    private final long poolEnd;
    private final long pml4;
    private long nextFree;

    /**
     * @param memory   the guest RAM the tables are written to.
     * @param poolBase guest-physical address of the first page the builder may use for tables, 4 KiB aligned.
     * @param poolSize bytes in the pool, a positive multiple of 4 KiB; the whole pool must be RAM.
     */
    public PageTableBuilder(final GuestMemory memory, final long poolBase, final long poolSize)
    {
        if (poolSize <= 0 || (poolSize & (PageTableEntry.TABLE_SIZE - 1)) != 0
            || (poolBase & (PageTableEntry.TABLE_SIZE - 1)) != 0)
        {
            throw new IllegalArgumentException("table pool must be whole 4 KiB pages: poolBase=0x"
                + Long.toHexString(poolBase) + ", poolSize=" + poolSize);
        }
        if (!memory.isRam(poolBase, poolSize))
        {
            throw new IllegalArgumentException("table pool must lie in one RAM region: poolBase=0x"
                + Long.toHexString(poolBase) + ", poolSize=" + poolSize);
        }
        this.memory = memory;
        this.poolBase = poolBase;
        this.poolEnd = poolBase + poolSize;
        this.nextFree = poolBase;
        this.pml4 = allocateTable();
    }

    /** @return the CR3 value: the guest-physical address of the PML4 table (PCD, PWT and PCID clear). */
    public long cr3()
    {
        return pml4;
    }

    /** @return how many 4 KiB tables have been taken from the pool, the PML4 included. */
    public int tablesUsed()
    {
        return (int)((nextFree - poolBase) / PageTableEntry.TABLE_SIZE);
    }

    /** @return how many pool pages are still free. */
    public long tablesFree()
    {
        return (poolEnd - nextFree) / PageTableEntry.TABLE_SIZE;
    }

    /**
     * Maps {@code [linear, linear + length)} to {@code [gpa, gpa + length)}. The physical range need not be RAM:
     * device memory is mapped the same way.
     *
     * @param linear   canonical linear start, aligned to {@code pageSize}.
     * @param gpa      guest-physical start, aligned to {@code pageSize}, below 2^52.
     * @param length   bytes, a positive multiple of {@code pageSize}.
     * @param pageSize the page size to map with.
     * @param flags    leaf flags from {@link PageTableEntry} (such as {@link #KERNEL_DATA}); P is always added; PS
     *                 and address bits are not allowed.
     * @return this.
     */
    public PageTableBuilder map(
        final long linear, final long gpa, final long length, final PageSize pageSize, final long flags)
    {
        final long pageMask = pageSize.offsetMask();
        if (length <= 0 || ((linear | gpa | length) & pageMask) != 0)
        {
            throw new IllegalArgumentException("mapping must be whole, aligned pages: linear=0x"
                + Long.toHexString(linear) + ", gpa=0x" + Long.toHexString(gpa) + ", length=" + length
                + ", pageSize=" + pageSize);
        }
        final long lastLinear = linear + length - 1;
        if (!PageTableEntry.isCanonical(linear) || !PageTableEntry.isCanonical(lastLinear)
            || Long.compareUnsigned(lastLinear, linear) < 0 || (linear < 0) != (lastLinear < 0))
        {
            throw new IllegalArgumentException("mapping must lie in one canonical half: linear=0x"
                + Long.toHexString(linear) + ", length=" + length);
        }
        if (gpa < 0 || gpa > PHYSICAL_LIMIT - length)
        {
            throw new IllegalArgumentException("mapping must lie below 2^52: gpa=0x" + Long.toHexString(gpa)
                + ", length=" + length);
        }
        if ((flags & (ADDRESS_MASK | PageTableEntry.PAGE_SIZE)) != 0)
        {
            throw new IllegalArgumentException("flags must not hold address bits or ps: flags=0x"
                + Long.toHexString(flags));
        }
        final long pages = length >>> pageSize.shift();
        // bound: one pass per page of a host-chosen range; the table pool limits how far it can go
        for (long i = 0; i < pages; i++)
        {
            final long offset = i << pageSize.shift();
            mapPage(linear + offset, gpa + offset, pageSize, flags);
        }
        return this;
    }

    /**
     * Maps {@code [gpa, gpa + length)} at the same linear addresses.
     *
     * @param gpa      guest-physical (and linear) start, aligned to {@code pageSize}.
     * @param length   bytes, a positive multiple of {@code pageSize}.
     * @param pageSize the page size to map with.
     * @param flags    leaf flags, as for {@link #map}.
     * @return this.
     * @see #map(long, long, long, PageSize, long)
     */
    public PageTableBuilder identityMap(final long gpa, final long length, final PageSize pageSize, final long flags)
    {
        return map(gpa, gpa, length, pageSize, flags);
    }

    /**
     * Maps {@code [gpa, gpa + length)} at {@code pageOffset + gpa}, as Linux's direct map puts all of RAM at
     * {@code __PAGE_OFFSET}.
     *
     * @param pageOffset the linear base of the direct map, such as {@link #LINUX_PAGE_OFFSET}.
     * @param gpa        guest-physical start, aligned to {@code pageSize}.
     * @param length     bytes, a positive multiple of {@code pageSize}.
     * @param pageSize   the page size to map with.
     * @param flags      leaf flags, as for {@link #map}.
     * @return this.
     * @see #map(long, long, long, PageSize, long)
     */
    public PageTableBuilder directMap(
        final long pageOffset, final long gpa, final long length, final PageSize pageSize, final long flags)
    {
        return map(pageOffset + gpa, gpa, length, pageSize, flags);
    }

    private void mapPage(final long linear, final long gpa, final PageSize pageSize, final long flags)
    {
        final long tableFlags = TABLE_FLAGS | (flags & PageTableEntry.USER);
        long table = pml4;
        // bound: at most three levels above the leaf (PML4, PDPT, PD)
        for (int level = TOP_LEVEL; level > pageSize.level(); level--)
        {
            final long entryAddress = table + ((long)PageTableEntry.indexAt(linear, level) << 3);
            long entry = memory.getLongLE(entryAddress);
            if ((entry & PageTableEntry.PRESENT) == 0)
            {
                entry = allocateTable() | tableFlags;
                memory.putLongLE(entryAddress, entry);
            }
            else if ((entry & PageTableEntry.PAGE_SIZE) != 0)
            {
                throw new IllegalStateException("linear address is already mapped by a large page: linear=0x"
                    + Long.toHexString(linear) + ", level=" + level);
            }
            else if ((flags & PageTableEntry.USER) != 0 && (entry & PageTableEntry.USER) == 0)
            {
                memory.putLongLE(entryAddress, entry | PageTableEntry.USER);
            }
            table = entry & ADDRESS_MASK;
        }
        final long leafAddress = table + ((long)PageTableEntry.indexAt(linear, pageSize.level()) << 3);
        if ((memory.getLongLE(leafAddress) & PageTableEntry.PRESENT) != 0)
        {
            throw new IllegalStateException("linear address is already mapped: linear=0x" + Long.toHexString(linear)
                + ", pageSize=" + pageSize);
        }
        final long large = pageSize == PageSize.SIZE_4K ? 0 : PageTableEntry.PAGE_SIZE;
        memory.putLongLE(leafAddress, gpa | flags | PageTableEntry.PRESENT | large);
    }

    private long allocateTable()
    {
        if (nextFree >= poolEnd)
        {
            throw new IllegalStateException("page-table pool is exhausted: poolBase=0x" + Long.toHexString(poolBase)
                + ", tables=" + tablesUsed());
        }
        final long table = nextFree;
        nextFree += PageTableEntry.TABLE_SIZE;
        memory.fill(table, PageTableEntry.TABLE_SIZE, (byte)0);
        return table;
    }
}
