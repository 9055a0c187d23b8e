package io.jvirtio.bus.kvmhost;

import io.jvirtio.bus.memory.GuestMemory;

/**
 * Four-level page tables that identity-map the low 4 GiB with 2 MiB pages, for a 64-bit guest on a real vCPU
 * (Intel SDM Vol. 3A §4.5): one PML4 page, one PDPT page and four page directories, six 4 KiB pages in all.
 * <p>
 * Unlike {@link io.jvirtio.bus.guest.GuestAddressSpace}'s tables, these depend on no CPUID feature (2 MiB pages, no
 * PDPE1GB) and leave XD clear, so the guest may run code anywhere in RAM with EFER.NXE off: the smallest setup for
 * running instruction bytes at a low address. Addresses above RAM map to no memslot: an access there is MMIO.
 * <p>
 * Thread safety: a static builder; call it before the vCPU runs.
 */
public final class IdentityPageTables
{
    /** Bytes of guest RAM the tables occupy. */
    public static final long BYTES = 6 * 4096;

    private static final long PAGE = 4096;
    private static final long LARGE = 2L << 20;
    private static final int ENTRIES = 512;
    private static final int DIRECTORIES = 4;
    /** Present, writable. */
    private static final long TABLE = 0x3;
    /** Present, writable, accessed, dirty, page size (a 2 MiB leaf). */
    private static final long LEAF = 0x3 | 0x20 | 0x40 | 0x80;

    private IdentityPageTables()
    {
    }

    /**
     * Writes the tables into {@code memory} at {@code base}.
     *
     * @param memory guest RAM.
     * @param base   4 KiB-aligned guest-physical address of {@link #BYTES} bytes of RAM.
     * @return the value for CR3 (the PML4's address).
     */
    public static long build(final GuestMemory memory, final long base)
    {
        if ((base & (PAGE - 1)) != 0 || !memory.isRam(base, BYTES))
        {
            throw new IllegalArgumentException("page tables need 24 KiB of aligned ram: base=0x"
                + Long.toHexString(base));
        }
        memory.fill(base, BYTES, (byte)0);
        final long pml4 = base;
        final long pdpt = base + PAGE;
        memory.putLongLE(pml4, pdpt | TABLE);
        for (int d = 0; d < DIRECTORIES; d++)
        {
            final long directory = base + (2 + d) * PAGE;
            memory.putLongLE(pdpt + 8L * d, directory | TABLE);
            for (int e = 0; e < ENTRIES; e++)
            {
                final long physical = ((long)d * ENTRIES + e) * LARGE;
                memory.putLongLE(directory + 8L * e, physical | LEAF);
            }
        }
        return pml4;
    }
}
