package io.jvirtio.bus.guest;

import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;
import io.jvirtio.bus.x86.PageSize;

/**
 * The guest kernel's view of memory, laid out the way a 64-bit Linux guest lays it out, so that every vCPU access
 * translates through real 4-level page tables:
 * <ul>
 *     <li>the low 512 GiB identity-mapped with 1 GiB pages (RAM and device windows alike, for early-boot style
 *     accesses);</li>
 *     <li>all RAM at the direct map {@link PageTableBuilder#LINUX_PAGE_OFFSET}, with 2 MiB pages where a region
 *     allows them and 4 KiB pages elsewhere ({@link #directMap(long)});</li>
 *     <li>each vCPU's code pages at the kernel-text address {@link #KERNEL_TEXT} with 4 KiB pages, two per vCPU,
 *     virtually contiguous but physically apart, so an instruction can straddle a page boundary;</li>
 *     <li>device windows mapped on demand with 4 KiB uncached pages in the ioremap area ({@link #ioremap}).</li>
 * </ul>
 * The tables and code pages come from a reserved area at the top of the first RAM region
 * ({@link #RESERVED_BYTES}); guest RAM for rings and buffers comes from {@link #allocate(long, long)}, a bump
 * allocator below it, starting at 1 MiB as a PC kernel leaves the low megabyte alone.
 * <p>
 * Thread safety: built before vCPUs run; {@link #allocate}, {@link #ioremap} and {@link #directMap} may be called
 * from any thread (they synchronise on this object). Changing mappings while vCPUs translate through cached entries
 * requires a TLB flush on those vCPUs.
 */
public final class GuestAddressSpace
{
    /** Linux's kernel-text base ({@code __START_KERNEL_map}). */
    public static final long KERNEL_TEXT = 0xFFFF_FFFF_8000_0000L;
    /** Linux's vmalloc and ioremap area base with 4-level paging ({@code VMALLOC_START}). */
    public static final long IOREMAP_BASE = 0xFFFF_C900_0000_0000L;
    /** Bytes reserved at the top of the first RAM region for page tables and code pages. */
    public static final long RESERVED_BYTES = 1L << 20;
    /**
     * Top of Linux's fixmap ({@code FIXADDR_TOP} with 4-level paging): fixed single-page mappings within 2 GiB of
     * kernel text, so code can reach them RIP-relative.
     */
    public static final long FIXMAP_TOP = 0xFFFF_FFFF_FF5F_F000L;
    /** Fixmap slots {@link #fixmap} offers. */
    public static final int FIXMAP_SLOTS = 64;
    /** Most vCPUs the reserved area has code pages for. */
    public static final int MAX_VCPUS = 64;

    private static final long PAGE = 4096;
    private static final long LARGE = 2L << 20;
    private static final long GIB = 1L << 30;
    private static final long IDENTITY_BYTES = 512 * GIB;
    private static final long LOW_MEMORY = 1L << 20;
    private static final long CODE_BYTES = 2 * PAGE * MAX_VCPUS;

    private final GuestMemory memory;
    private final PageTableBuilder tables;
    private final long codeBase;
    private final long allocEnd;
    private long allocNext;
    private long ioremapNext = IOREMAP_BASE;

    /**
     * Builds the tables in {@code memory}.
     *
     * @param memory guest RAM; its first region must hold at least 2 MiB.
     */
    public GuestAddressSpace(final GuestMemory memory)
    {
        this.memory = memory;
        final GuestRegion first = memory.regions().getFirst();
        if (first.size() < 2 * RESERVED_BYTES)
        {
            throw new IllegalArgumentException("the first ram region must hold at least 2 MiB: size=" + first.size());
        }
        final long reserved = first.guestBase() + first.size() - RESERVED_BYTES;
        this.codeBase = reserved;
        this.tables = new PageTableBuilder(memory, reserved + CODE_BYTES, RESERVED_BYTES - CODE_BYTES);
        this.allocNext = Math.max(first.guestBase(), LOW_MEMORY);
        this.allocEnd = reserved;

        tables.identityMap(0, IDENTITY_BYTES, PageSize.SIZE_1G, PageTableBuilder.KERNEL_DATA);
        for (final GuestRegion region : memory.regions())
        {
            mapDirect(region.guestBase(), region.size());
        }
        // Code page pairs, mapped in reverse physical order so that the two pages of one vCPU are not adjacent.
        for (int vcpu = 0; vcpu < MAX_VCPUS; vcpu++)
        {
            final long linear = codeAddress(vcpu);
            final long firstPage = codeBase + (long)vcpu * PAGE;
            final long secondPage = codeBase + CODE_BYTES - (long)(vcpu + 1) * PAGE;
            tables.map(linear, firstPage, PAGE, PageSize.SIZE_4K, PageTableBuilder.KERNEL_CODE);
            tables.map(linear + PAGE, secondPage, PAGE, PageSize.SIZE_4K, PageTableBuilder.KERNEL_CODE);
        }
    }

    private void mapDirect(final long base, final long size)
    {
        long gpa = base;
        final long end = base + size;
        // bound: at most size / 4 KiB iterations, each mapping at least one page
        while (gpa < end)
        {
            final boolean large = (gpa & (LARGE - 1)) == 0 && end - gpa >= LARGE;
            final long step = large ? LARGE : PAGE;
            tables.directMap(PageTableBuilder.LINUX_PAGE_OFFSET, gpa, step,
                large ? PageSize.SIZE_2M : PageSize.SIZE_4K, PageTableBuilder.KERNEL_DATA);
            gpa += step;
        }
    }

    /** @return the value to load into CR3. */
    public long cr3()
    {
        return tables.cr3();
    }

    /**
     * @param vcpu a vCPU index below {@link #MAX_VCPUS}.
     * @return the linear address of that vCPU's first code page; the second follows it.
     */
    public static long codeAddress(final int vcpu)
    {
        if (vcpu < 0 || vcpu >= MAX_VCPUS)
        {
            throw new IllegalArgumentException("vcpu index out of range: vcpu=" + vcpu + ", max=" + MAX_VCPUS);
        }
        return KERNEL_TEXT + (long)vcpu * 2 * PAGE;
    }

    /**
     * @param vcpu a vCPU index.
     * @param offset bytes from the start of the vCPU's code (0 to 8191).
     * @return the guest-physical address of that code byte.
     */
    public long codePhysicalAddress(final int vcpu, final int offset)
    {
        codeAddress(vcpu);
        if (offset < 0 || offset >= 2 * PAGE)
        {
            throw new IllegalArgumentException("code offset out of range: offset=" + offset);
        }
        return offset < PAGE
            ? codeBase + (long)vcpu * PAGE + offset
            : codeBase + CODE_BYTES - (long)(vcpu + 1) * PAGE + (offset - PAGE);
    }

    /**
     * @param gpa a guest-physical RAM address.
     * @return its linear address in the direct map.
     */
    public static long directMap(final long gpa)
    {
        return PageTableBuilder.LINUX_PAGE_OFFSET + gpa;
    }

    /**
     * Allocates guest RAM for the guest's own use (rings, buffers, tables of its drivers), zeroed.
     *
     * @param bytes     how much; rounded up to the alignment.
     * @param alignment a power of two, at least 1.
     * @return the guest-physical address.
     * @throws IllegalStateException when guest RAM is exhausted.
     */
    public synchronized long allocate(final long bytes, final long alignment)
    {
        if (bytes <= 0 || alignment <= 0 || Long.bitCount(alignment) != 1)
        {
            throw new IllegalArgumentException("bad allocation: bytes=" + bytes + ", alignment=" + alignment);
        }
        final long start = (allocNext + alignment - 1) & -alignment;
        final long size = (bytes + alignment - 1) & -alignment;
        if (start > allocEnd || allocEnd - start < size)
        {
            throw new IllegalStateException("guest ram exhausted: bytes=" + bytes + ", free=" + (allocEnd - allocNext));
        }
        allocNext = start + size;
        memory.fill(start, size, (byte)0);
        return start;
    }

    /** @return bytes of guest RAM still available to {@link #allocate}. */
    public synchronized long free()
    {
        return allocEnd - allocNext;
    }

    /**
     * Maps one device page uncached at a fixed address near kernel text, as Linux's {@code set_fixmap_nocache()}.
     *
     * @param slot 0 to {@link #FIXMAP_SLOTS} - 1; slot {@code i} is at {@code FIXMAP_TOP - i * 4096}.
     * @param gpa  guest-physical address of the page (4 KiB aligned).
     * @return the linear address of the page.
     */
    public synchronized long fixmap(final int slot, final long gpa)
    {
        if (slot < 0 || slot >= FIXMAP_SLOTS || (gpa & (PAGE - 1)) != 0)
        {
            throw new IllegalArgumentException("bad fixmap request: slot=" + slot + ", gpa=0x" + Long.toHexString(gpa));
        }
        final long linear = FIXMAP_TOP - slot * PAGE;
        tables.map(linear, gpa, PAGE, PageSize.SIZE_4K, PageTableBuilder.DEVICE);
        return linear;
    }

    /**
     * Maps a device window uncached in the ioremap area, as Linux's {@code ioremap()}.
     *
     * @param gpa    guest-physical start of the window (need not be page aligned).
     * @param length bytes.
     * @return the linear address of {@code gpa}.
     */
    public synchronized long ioremap(final long gpa, final long length)
    {
        if (length <= 0)
        {
            throw new IllegalArgumentException("ioremap length must be positive: length=" + length);
        }
        final long first = gpa & -PAGE;
        final long end = (gpa + length + PAGE - 1) & -PAGE;
        final long linear = ioremapNext;
        tables.map(linear, first, end - first, PageSize.SIZE_4K, PageTableBuilder.DEVICE);
        // A guard page between mappings, as vmalloc leaves one.
        ioremapNext += end - first + PAGE;
        return linear + (gpa - first);
    }
}
