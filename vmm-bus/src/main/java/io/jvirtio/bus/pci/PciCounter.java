package io.jvirtio.bus.pci;

/**
 * The named counters of PCI emulation: every guest access it ignores or answers with all ones, and why. All of them
 * follow from guest values, so they are counted, never thrown.
 * <p>
 * Thread safety: immutable; any thread.
 */
public enum PciCounter
{
    /** A configuration access with a size other than 1, 2 or 4, unaligned, or past the configuration space. */
    MALFORMED_CONFIG_ACCESS,
    /** A configuration access to a bus, device or function that does not exist: reads all ones, writes dropped. */
    ABSENT_FUNCTION_ACCESS,
    /** A configuration write that tried to change read-only bits (they kept their value). */
    READ_ONLY_WRITE,
    /** An access to the 0xCF8 address port that is not a 32-bit access at 0xCF8, or a data access while the
     * address register's enable bit is clear. */
    CONFIG_ADDRESS_IGNORED,
    /** A BAR that could not be mapped where the guest placed it (over RAM or another range); it stays unmapped. */
    BAR_MAP_FAILED,
    /** An MSI-X table or PBA access that is not a naturally aligned 4- or 8-byte access inside the structure. */
    MSIX_MALFORMED_ACCESS,
    /** A write to the read-only pending bit array. */
    MSIX_PBA_WRITE
}
