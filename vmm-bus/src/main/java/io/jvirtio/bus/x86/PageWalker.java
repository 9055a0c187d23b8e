package io.jvirtio.bus.x86;

import io.jvirtio.bus.memory.GuestMemory;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Translates linear addresses with 4-level paging (IA-32e paging, Intel SDM Vol. 3A §4.5), reading the guest's
 * paging structures from {@link GuestMemory}: what KVM's software walker ({@code arch/x86/kvm/mmu/paging_tmpl.h})
 * does for the instruction fetch on the MMIO slow path (arch/x86/kvm/emulate.c).
 * <p>
 * The walk reads exactly four levels at most: the PML4E selected by CR3 and bits 47:39, the PDPTE (bits 38:30; PS = 1
 * maps a 1 GiB page), the PDE (bits 29:21; PS = 1 maps a 2 MiB page) and the PTE (bits 20:12). The loop descends one
 * level per pass and never revisits one, so tables that point at themselves or at each other end the walk as
 * hardware would: with a translation (the recursive-slot trick works) or a fault.
 * <p>
 * Checks, in hardware order for each entry: the entry must lie in RAM ({@link WalkStatus#TABLE_NOT_IN_RAM}), be
 * present ({@link WalkStatus#NOT_PRESENT}) and have no reserved bit set ({@link WalkStatus#RESERVED_BIT}: address
 * bits at or above MAXPHYADDR, PS in a PML4E, bits 29:13 of a 1 GiB PDPTE, bits 20:13 of a 2 MiB PDE, XD when
 * EFER.NXE = 0). After the leaf, access rights combine over all levels (Intel SDM Vol. 3A §4.6): a write needs R/W
 * = 1 at every level when CR0.WP = 1; a fetch needs XD = 0 at every level when EFER.NXE = 1. A non-canonical address
 * fails first ({@link WalkStatus#NON_CANONICAL}).
 * <p>
 * Not modelled, and documented so: the walk is for a supervisor (CPL 0) access with SMEP, SMAP and protection keys
 * off; accessed and dirty flags are not set; 5-level paging (CR4.LA57) is not supported; CR3 bits outside
 * MAXPHYADDR-1:12 (PCD, PWT, PCID) are masked off; 1 GiB pages are always supported. The caller checks
 * {@link X86Registers#isFourLevelPaging()}.
 * <p>
 * Allocation: none. Every fault is counted ({@link #faults(WalkStatus)}).
 * <p>
 * Thread safety: immutable apart from atomic fault counters; any thread may call it with its own
 * {@link Translation}.
 */
public final class PageWalker
{
    /** Levels of 4-level paging: PML4, PDPT, PD, PT. */
    public static final int LEVELS = 4;

    private static final long PDPTE_1G_RESERVED = 0x3FFF_E000L;
    private static final long PDE_2M_RESERVED = 0x001F_E000L;
    private static final int PDPT_LEVEL = 3;
    private static final int PD_LEVEL = 2;

    private final GuestMemory memory;
    private final int maxPhysicalAddressBits;
    private final long addressMask;
    private final long reservedAddressBits;
    private final AtomicLongArray faults = new AtomicLongArray(WalkStatus.values().length);

    /**
     * A walker with MAXPHYADDR = 52, the architectural maximum.
     *
     * @param memory the guest RAM that holds the paging structures.
     */
    public PageWalker(final GuestMemory memory)
    {
        this(memory, PageTableEntry.MAX_PHYSICAL_ADDRESS_BITS);
    }

    /**
     * @param memory                 the guest RAM that holds the paging structures.
     * @param maxPhysicalAddressBits MAXPHYADDR (CPUID 80000008H:EAX[7:0]), 32-52; address bits at and above it are
     *                               reserved in every entry.
     */
    public PageWalker(final GuestMemory memory, final int maxPhysicalAddressBits)
    {
        if (maxPhysicalAddressBits < 32 || maxPhysicalAddressBits > PageTableEntry.MAX_PHYSICAL_ADDRESS_BITS)
        {
            throw new IllegalArgumentException(
                "maxphyaddr must be between 32 and 52: maxPhysicalAddressBits=" + maxPhysicalAddressBits);
        }
        this.memory = memory;
        this.maxPhysicalAddressBits = maxPhysicalAddressBits;
        this.addressMask = PageTableEntry.addressMask(maxPhysicalAddressBits);
        this.reservedAddressBits =
            PageTableEntry.addressMask(PageTableEntry.MAX_PHYSICAL_ADDRESS_BITS) & ~addressMask;
    }

    /** @return MAXPHYADDR. */
    public int maxPhysicalAddressBits()
    {
        return maxPhysicalAddressBits;
    }

    /**
     * @param status a fault.
     * @return how many walks have ended with it.
     */
    public long faults(final WalkStatus status)
    {
        return faults.get(status.ordinal());
    }

    /**
     * Translates {@code linear} for {@code access} with the vCPU's CR3, CR0.WP and EFER.NXE.
     *
     * @param regs   the vCPU state.
     * @param linear the linear address.
     * @param access the kind of access.
     * @param out    receives the result.
     * @return {@link WalkStatus#OK} with {@code out.gpa()} set, or the fault (also in {@code out.status()}).
     */
    public WalkStatus translate(
        final X86Registers regs, final long linear, final AccessType access, final Translation out)
    {
        out.start(linear, access);
        if (!PageTableEntry.isCanonical(linear))
        {
            return fault(out, WalkStatus.NON_CANONICAL, 0);
        }
        final boolean nxe = (regs.efer() & X86Registers.EFER_NXE) != 0;
        final boolean writeProtect = (regs.cr0() & X86Registers.CR0_WP) != 0;
        final int accessBits = (access == AccessType.WRITE ? Translation.PF_WRITE : 0)
            | (access == AccessType.FETCH && nxe ? Translation.PF_FETCH : 0);
        final long reservedEverywhere = reservedAddressBits | (nxe ? 0 : PageTableEntry.EXECUTE_DISABLE);

        long table = regs.cr3() & addressMask;
        boolean writable = true;
        boolean executeDisabled = false;
        // bound: exactly LEVELS passes, one per paging structure; a table pointing back at itself cannot add any
        for (int level = LEVELS; level >= 1; level--)
        {
            final long entryAddress = table + ((long)PageTableEntry.indexAt(linear, level) << 3);
            if (!memory.isRam(entryAddress, Long.BYTES))
            {
                out.entry(level, entryAddress, 0);
                return fault(out, WalkStatus.TABLE_NOT_IN_RAM, 0);
            }
            final long entry = memory.getLongLE(entryAddress);
            out.entry(level, entryAddress, entry);
            if ((entry & PageTableEntry.PRESENT) == 0)
            {
                return fault(out, WalkStatus.NOT_PRESENT, accessBits);
            }
            final boolean large = (entry & PageTableEntry.PAGE_SIZE) != 0 && (level == PDPT_LEVEL || level == PD_LEVEL);
            long reserved = reservedEverywhere;
            if (level == LEVELS)
            {
                reserved |= PageTableEntry.PAGE_SIZE;
            }
            else if (large)
            {
                reserved |= level == PDPT_LEVEL ? PDPTE_1G_RESERVED : PDE_2M_RESERVED;
            }
            if ((entry & reserved) != 0)
            {
                return fault(out, WalkStatus.RESERVED_BIT,
                    accessBits | Translation.PF_PRESENT | Translation.PF_RESERVED);
            }
            writable &= (entry & PageTableEntry.WRITABLE) != 0;
            executeDisabled |= nxe && (entry & PageTableEntry.EXECUTE_DISABLE) != 0;
            if (large || level == 1)
            {
                final PageSize size = level == PDPT_LEVEL ? PageSize.SIZE_1G
                    : level == PD_LEVEL ? PageSize.SIZE_2M : PageSize.SIZE_4K;
                if (access == AccessType.WRITE && writeProtect && !writable)
                {
                    return fault(out, WalkStatus.WRITE_PROTECTED, accessBits | Translation.PF_PRESENT);
                }
                if (access == AccessType.FETCH && executeDisabled)
                {
                    return fault(out, WalkStatus.EXECUTE_DISABLED, accessBits | Translation.PF_PRESENT);
                }
                final long frame = entry & addressMask & ~size.offsetMask();
                return out.translated(frame | (linear & size.offsetMask()), size);
            }
            table = entry & addressMask;
        }
        throw new IllegalStateException("page walk passed the last level: linear=0x" + Long.toHexString(linear));
    }

    private WalkStatus fault(final Translation out, final WalkStatus status, final int errorCode)
    {
        faults.incrementAndGet(status.ordinal());
        return out.fault(status, errorCode);
    }
}
