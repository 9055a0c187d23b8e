package io.jvirtio.bus.x86;

/**
 * The outcome of fetching instruction bytes at RIP. A fetch that could read the first page but not the second is
 * not a failure by itself: hardware faults on the second page only if the instruction needs its bytes, so the
 * decoder decides (it reports {@link DecodeStatus#TRUNCATED} if it runs out), and the fault to raise is then the
 * second page's, kept in {@link InstructionFetcher#fault()}.
 * <p>
 * Thread safety: immutable.
 */
public enum FetchStatus
{
    /** All 15 bytes were read. */
    OK,
    /** The bytes up to the end of RIP's page were read; the next page does not translate (see the fault). */
    SECOND_PAGE_FAULT,
    /** The bytes up to the end of RIP's page were read; the next page translates to an address outside RAM. */
    SECOND_PAGE_NOT_IN_RAM,
    /** RIP's own page does not translate: nothing was read (see the fault). */
    FAULT,
    /** RIP's page translates to an address outside RAM (code in MMIO): nothing was read. */
    NOT_IN_RAM;

    /** @return true if at least one byte was read, so decoding may go ahead. */
    public boolean hasBytes()
    {
        return this == OK || this == SECOND_PAGE_FAULT || this == SECOND_PAGE_NOT_IN_RAM;
    }
}
