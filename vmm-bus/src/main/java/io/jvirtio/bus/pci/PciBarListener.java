package io.jvirtio.bus.pci;

/**
 * Told when a BAR starts or stops decoding at a guest-physical address, so that what lives in the BAR besides its
 * userspace device (ioeventfds at notify addresses) can follow it.
 * <p>
 * Thread safety: called on the vCPU thread that wrote the command register or the BAR, under the function's lock;
 * an implementation must not access the function's configuration space from another thread while it runs.
 */
public interface PciBarListener
{
    /** BAR {@code index} now decodes {@code [address, address + size)}. */
    void barMapped(int index, long address, long size);

    /** BAR {@code index} no longer decodes at {@code address}. */
    void barUnmapped(int index, long address, long size);
}
