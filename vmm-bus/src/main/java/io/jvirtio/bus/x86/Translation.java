package io.jvirtio.bus.x86;

/**
 * The result of one page walk: a reusable, mutable object that {@link PageWalker} fills, so that a walk allocates
 * nothing. On success it holds the guest-physical address and the page that maps it; on a fault, the level and
 * entry where the walk stopped and the page-fault error code hardware would push (Intel SDM Vol. 3A §4.7,
 * Figure 4-12).
 * <p>
 * Thread safety: mutable; owned by one vCPU thread.
 */
public final class Translation
{
    /** Error-code bit 0, P: 0 for a non-present page, 1 for a protection or reserved-bit fault. */
    public static final int PF_PRESENT = 1;
    /** Error-code bit 1, W/R: the access was a write. */
    public static final int PF_WRITE = 1 << 1;
    /** Error-code bit 2, U/S: the access was in user mode (never set: the modelled guest runs at CPL 0). */
    public static final int PF_USER = 1 << 2;
    /** Error-code bit 3, RSVD: a reserved bit was set in some paging-structure entry. */
    public static final int PF_RESERVED = 1 << 3;
    /** Error-code bit 4, I/D: the access was an instruction fetch (and EFER.NXE = 1). */
    public static final int PF_FETCH = 1 << 4;

    private WalkStatus status = WalkStatus.OK;
    private AccessType access = AccessType.READ;
    private long linear;
    private long gpa;
    private PageSize pageSize;
    private int level;
    private long entry;
    private long entryAddress;
    private int errorCode;

    /** @return the outcome of the walk. */
    public WalkStatus status()
    {
        return status;
    }

    /** @return the linear address that was translated. */
    public long linear()
    {
        return linear;
    }

    /** @return the access the walk was for. */
    public AccessType access()
    {
        return access;
    }

    /** @return on success, the guest-physical address of {@link #linear()}. */
    public long gpa()
    {
        return gpa;
    }

    /** @return on success, the size of the page that maps the address; otherwise null. */
    public PageSize pageSize()
    {
        return pageSize;
    }

    /**
     * @return on success, the level of the leaf entry (1 PTE, 2 PDE, 3 PDPTE); on a fault, the level of the entry
     *     where the walk stopped (4 PML4E ... 1 PTE), or 0 for a non-canonical address.
     */
    public int level()
    {
        return level;
    }

    /** @return the last entry read: the leaf on success, the faulting entry on a fault (0 if none was read). */
    public long entry()
    {
        return entry;
    }

    /** @return the guest-physical address of {@link #entry()}. */
    public long entryAddress()
    {
        return entryAddress;
    }

    /** @return for a page fault, the error code hardware would push; 0 otherwise. */
    public int errorCode()
    {
        return errorCode;
    }

    /** @return the number of bytes from the address to the end of its page (1 .. page size). */
    public long bytesToPageEnd()
    {
        return pageSize.bytes() - (linear & pageSize.offsetMask());
    }

    void start(final long linearAddress, final AccessType accessType)
    {
        status = WalkStatus.OK;
        access = accessType;
        linear = linearAddress;
        gpa = 0;
        pageSize = null;
        level = 0;
        entry = 0;
        entryAddress = 0;
        errorCode = 0;
    }

    void entry(final int entryLevel, final long address, final long value)
    {
        level = entryLevel;
        entryAddress = address;
        entry = value;
    }

    WalkStatus fault(final WalkStatus fault, final int code)
    {
        status = fault;
        errorCode = code;
        return fault;
    }

    WalkStatus translated(final long physical, final PageSize size)
    {
        gpa = physical;
        pageSize = size;
        return WalkStatus.OK;
    }

    @Override
    public String toString()
    {
        return "Translation{status=" + status
            + ", access=" + access
            + ", linear=0x" + Long.toHexString(linear)
            + ", gpa=0x" + Long.toHexString(gpa)
            + ", pageSize=" + pageSize
            + ", level=" + level
            + ", entry=0x" + Long.toHexString(entry)
            + ", entryAddress=0x" + Long.toHexString(entryAddress)
            + ", errorCode=0x" + Integer.toHexString(errorCode) + '}';
    }
}
