package io.jvirtio.bus.x86;

/**
 * The page sizes of 4-level paging (Intel SDM Vol. 3A §4.5.4, Figures 4-8 to 4-10): a PTE maps 4 KiB, a PDE with
 * PS = 1 maps 2 MiB, a PDPTE with PS = 1 maps 1 GiB.
 * <p>
 * Thread safety: immutable.
 */
public enum PageSize
{
    /** 4 KiB, mapped by a PTE. */
    SIZE_4K(1, 12),
    /** 2 MiB, mapped by a PDE with PS = 1. */
    SIZE_2M(2, 21),
    /** 1 GiB, mapped by a PDPTE with PS = 1. */
    SIZE_1G(3, 30);

    private final int level;
    private final int shift;

    PageSize(final int level, final int shift)
    {
        this.level = level;
        this.shift = shift;
    }

    /** @return the paging-structure level whose entry maps a page of this size: 1 (PT), 2 (PD) or 3 (PDPT). */
    public int level()
    {
        return level;
    }

    /** @return log2 of the size. */
    public int shift()
    {
        return shift;
    }

    /** @return the size in bytes. */
    public long bytes()
    {
        return 1L << shift;
    }

    /** @return {@code bytes() - 1}: the offset bits within a page. */
    public long offsetMask()
    {
        return (1L << shift) - 1;
    }
}
