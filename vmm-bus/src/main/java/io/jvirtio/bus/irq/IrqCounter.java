package io.jvirtio.bus.irq;

/**
 * The named counters of an {@link InterruptController}: every interrupt it drops or merges, and why. Most of these
 * follow from values the guest programs (redirection entries, MSI messages, EOIs), so they are counted, never thrown.
 * <p>
 * Thread safety: immutable; any thread.
 */
public enum IrqCounter
{
    /** The vector was already pending (IRR) on the destination vCPU; the two interrupts became one. */
    COALESCED,
    /** A vector below 16, which a local APIC refuses ("received illegal vector"). */
    ILLEGAL_VECTOR,
    /** A destination APIC id that is no vCPU of this VM. */
    BAD_DESTINATION,
    /** An MSI address outside 0xFEExxxxx, or a delivery mode other than fixed or lowest priority. */
    BAD_MSI,
    /** A GSI outside the routing table, or one with no route. */
    UNROUTED_GSI,
    /** A line asserted while its redirection entry is masked. */
    MASKED,
    /** An EOI with no vector in service. */
    SPURIOUS_EOI
}
