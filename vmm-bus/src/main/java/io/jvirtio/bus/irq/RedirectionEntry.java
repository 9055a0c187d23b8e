package io.jvirtio.bus.irq;

/**
 * One IOAPIC redirection table entry (IOREDTBL, 82093AA I/O APIC datasheet §3.2.4), reduced to what the model uses:
 * the vector, a physical destination APIC id (the vCPU index), the trigger mode and the mask. The guest programs it;
 * its values are not validated here but counted when an interrupt cannot be delivered.
 * <p>
 * Thread safety: immutable; any thread.
 *
 * @param vector         the interrupt vector, 16 to 255 to be deliverable.
 * @param destination    the destination vCPU index.
 * @param levelTriggered true for level-triggered (remote IRR, EOI broadcast), false for edge.
 * @param masked         true if the line does not deliver.
 */
public record RedirectionEntry(int vector, int destination, boolean levelTriggered, boolean masked)
{
    /** The reset state: masked, edge, vector 0. */
    public static final RedirectionEntry RESET = new RedirectionEntry(0, 0, false, true);

    /** @return an unmasked level-triggered entry, as a guest sets up a PCI INTx or virtio-mmio line. */
    public static RedirectionEntry level(final int vector, final int destination)
    {
        return new RedirectionEntry(vector, destination, true, false);
    }

    /** @return an unmasked edge-triggered entry. */
    public static RedirectionEntry edge(final int vector, final int destination)
    {
        return new RedirectionEntry(vector, destination, false, false);
    }
}
