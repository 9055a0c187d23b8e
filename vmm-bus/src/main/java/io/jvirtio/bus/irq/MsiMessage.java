package io.jvirtio.bus.irq;

/**
 * An x86 MSI message, as an MSI-X table entry or a {@code KVM_IRQ_ROUTING_MSI} route holds it (Intel SDM Vol. 3,
 * "Message Signalled Interrupts": Message Address Register Format and Message Data Register Format). The model uses
 * physical destination mode only: address bits 31:20 are 0xFEE, bits 19:12 the destination APIC id (the vCPU index);
 * data bits 7:0 are the vector and bits 10:8 the delivery mode.
 * <p>
 * The values are guest-programmed and not validated here: {@link InterruptController} counts a message it cannot
 * deliver.
 * <p>
 * Thread safety: immutable; any thread.
 *
 * @param address the message address.
 * @param data    the message data.
 */
public record MsiMessage(long address, int data)
{
    /** Address bits 31:20 of every MSI: the local APIC's range 0xFEExxxxx. */
    public static final long ADDRESS_BASE = 0xFEE0_0000L;
    /** Delivery mode 000b, fixed. */
    public static final int DELIVERY_FIXED = 0;
    /** Delivery mode 001b, lowest priority (delivered to the named destination in this model). */
    public static final int DELIVERY_LOWEST_PRIORITY = 1;

    /**
     * @param destination the destination vCPU index, 0 to 255.
     * @param vector      the vector.
     * @return a fixed, edge, physical-destination message.
     */
    public static MsiMessage of(final int destination, final int vector)
    {
        return new MsiMessage(ADDRESS_BASE | ((long)(destination & 0xFF) << 12), vector & 0xFF);
    }

    /** @return true if the address is in 0xFEExxxxx and the delivery mode is fixed or lowest priority. */
    public boolean isDeliverable()
    {
        final int mode = deliveryMode();
        return (address >>> 20) == (ADDRESS_BASE >>> 20) &&
            (mode == DELIVERY_FIXED || mode == DELIVERY_LOWEST_PRIORITY);
    }

    /** @return the destination APIC id, address bits 19:12. */
    public int destination()
    {
        return (int)(address >>> 12) & 0xFF;
    }

    /** @return the vector, data bits 7:0. */
    public int vector()
    {
        return data & 0xFF;
    }

    /** @return the delivery mode, data bits 10:8. */
    public int deliveryMode()
    {
        return (data >>> 8) & 0x7;
    }
}
