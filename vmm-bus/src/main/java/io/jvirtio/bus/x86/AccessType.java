package io.jvirtio.bus.x86;

/**
 * The kind of access a linear address is translated for; it decides which permission bits apply (Intel SDM Vol. 3A
 * §4.6 "Access Rights") and the W/R and I/D bits of a page-fault error code (§4.7).
 * <p>
 * Thread safety: immutable.
 */
public enum AccessType
{
    /** An instruction fetch. */
    FETCH,
    /** A data read. */
    READ,
    /** A data write. */
    WRITE
}
