package io.jvirtio.bus.x86;

import io.jvirtio.bus.memory.GuestMemory;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Fetches up to {@link InstructionDecoder#MAX_LENGTH} bytes at RIP through the guest's page tables, as KVM's
 * {@code kvm_fetch_guest_virt} does before decoding on the MMIO slow path (arch/x86/kvm/emulate.c).
 * <p>
 * RIP's page is translated and read up to its end or 15 bytes. If the instruction may continue on the next page,
 * that page is translated separately (the two pages need not be adjacent in guest-physical memory) and read too.
 * If the next page cannot be read, the fetch keeps the bytes of the first page and reports
 * {@link FetchStatus#SECOND_PAGE_FAULT} or {@link FetchStatus#SECOND_PAGE_NOT_IN_RAM}: an instruction that ends
 * within the first page decodes normally, as on hardware, which faults on a page only when it needs bytes from it.
 * If the decoder then reports {@link DecodeStatus#TRUNCATED}, the fault to raise is the one in {@link #fault()}.
 * <p>
 * Allocation: none; the bytes land in a buffer the fetcher owns ({@link #bytes()}), valid until the next fetch.
 * Every fetch that does not return {@link FetchStatus#OK} is counted ({@link #outcomes(FetchStatus)}).
 * <p>
 * Thread safety: owned by one vCPU thread (it holds that thread's buffer and translation); the counters may be read
 * from any thread.
 */
public final class InstructionFetcher
{
    private static final int MAX = InstructionDecoder.MAX_LENGTH;
    private static final long SMALL_PAGE = PageTableEntry.TABLE_SIZE;

    private final GuestMemory memory;
    private final PageWalker walker;
    private final byte[] bytes = new byte[MAX];
    private final Translation translation = new Translation();
    private final AtomicLongArray outcomes = new AtomicLongArray(FetchStatus.values().length);
    private int count;
    private long faultAddress;

    /**
     * @param memory the guest RAM.
     * @param walker the page walker for the same RAM.
     */
    public InstructionFetcher(final GuestMemory memory, final PageWalker walker)
    {
        this.memory = memory;
        this.walker = walker;
    }

    /**
     * Fetches the bytes at {@code regs.rip()}.
     *
     * @param regs the vCPU state (RIP, CR3, CR0.WP, EFER.NXE).
     * @return how far the fetch got; {@link #count()} bytes are in {@link #bytes()}.
     */
    public FetchStatus fetch(final X86Registers regs)
    {
        final long rip = regs.rip();
        count = 0;
        faultAddress = 0;
        final long inFirstPage = SMALL_PAGE - (rip & (SMALL_PAGE - 1));
        final int first = (int)Math.min(MAX, inFirstPage);
        final FetchStatus firstStatus = read(regs, rip, 0, first);
        if (firstStatus != FetchStatus.OK)
        {
            return count(firstStatus);
        }
        if (first == MAX)
        {
            return FetchStatus.OK;
        }
        final FetchStatus secondStatus = read(regs, rip + first, first, MAX - first);
        if (secondStatus == FetchStatus.FAULT)
        {
            return count(FetchStatus.SECOND_PAGE_FAULT);
        }
        if (secondStatus == FetchStatus.NOT_IN_RAM)
        {
            return count(FetchStatus.SECOND_PAGE_NOT_IN_RAM);
        }
        return FetchStatus.OK;
    }

    /**
     * Reads {@code length} bytes at {@code linear}, all within one 4 KiB page, into {@code bytes[offset ..]}.
     */
    private FetchStatus read(final X86Registers regs, final long linear, final int offset, final int length)
    {
        if (!walker.translate(regs, linear, AccessType.FETCH, translation).isOk())
        {
            faultAddress = linear;
            return FetchStatus.FAULT;
        }
        final long gpa = translation.gpa();
        if (!memory.isRam(gpa, length))
        {
            faultAddress = linear;
            return FetchStatus.NOT_IN_RAM;
        }
        // bound: at most 15 bytes, one page's share of the instruction
        for (int i = 0; i < length; i++)
        {
            bytes[offset + i] = memory.getByte(gpa + i);
        }
        count = offset + length;
        return FetchStatus.OK;
    }

    private FetchStatus count(final FetchStatus status)
    {
        outcomes.incrementAndGet(status.ordinal());
        return status;
    }

    /** @return the fetched bytes; the first {@link #count()} are valid. */
    public byte[] bytes()
    {
        return bytes;
    }

    /** @return how many bytes the last fetch read (0-15). */
    public int count()
    {
        return count;
    }

    /**
     * @return after a fetch that did not return {@link FetchStatus#OK}, the walk of the page that could not be read
     *     (its status says why; for the NOT_IN_RAM outcomes it is OK and its GPA is the non-RAM address).
     */
    public Translation fault()
    {
        return translation;
    }

    /** @return after a fetch that did not return {@link FetchStatus#OK}, the linear address that could not be read. */
    public long faultAddress()
    {
        return faultAddress;
    }

    /**
     * @param status an outcome other than OK.
     * @return how many fetches have had it.
     */
    public long outcomes(final FetchStatus status)
    {
        return outcomes.get(status.ordinal());
    }
}
