package io.jvirtio.bus.x86;

/**
 * The outcome of a page walk. Every fault is typed and counted; none throws, because a guest controls its page
 * tables. {@link Translation} holds the level, entry and page-fault error code of a fault.
 * <p>
 * Thread safety: immutable.
 */
public enum WalkStatus
{
    /** Translated; {@link Translation#gpa()} is valid. */
    OK,
    /** Bits 63:47 of the linear address are not all equal (Intel SDM Vol. 3A §4.5.1): #GP(0), not #PF. */
    NON_CANONICAL,
    /** An entry on the walk has P = 0: #PF with error code P = 0. */
    NOT_PRESENT,
    /**
     * An entry on the walk has a reserved bit set (Intel SDM Vol. 3A §4.5.4, Tables 4-14 to 4-20): an address bit
     * at or above MAXPHYADDR, PS in a PML4E, the low address bits of a 1 GiB or 2 MiB page frame, or XD while
     * EFER.NXE = 0. #PF with error code P = 1, RSVD = 1.
     */
    RESERVED_BIT,
    /** A write to a page that some level marks read-only, with CR0.WP = 1 (Intel SDM Vol. 3A §4.6.1): #PF. */
    WRITE_PROTECTED,
    /** A fetch from a page that some level marks execute-disable, with EFER.NXE = 1: #PF with I/D = 1. */
    EXECUTE_DISABLED,
    /**
     * A paging-structure entry lies outside guest RAM (the table address in CR3 or in an entry points at MMIO or
     * nowhere). Hardware would read a device or abort the walk; the emulator cannot, so this is an emulation failure.
     */
    TABLE_NOT_IN_RAM;

    /** @return true for {@link #OK}. */
    public boolean isOk()
    {
        return this == OK;
    }

    /** @return true if hardware would raise #PF for this fault (rather than #GP or nothing). */
    public boolean isPageFault()
    {
        return this == NOT_PRESENT || this == RESERVED_BIT || this == WRITE_PROTECTED || this == EXECUTE_DISABLED;
    }
}
