package io.jvirtio.bus.pci;

/**
 * Gives a capability a say in accesses to its bytes in configuration space: {@link #beforeRead} may refresh the
 * bytes (a window onto a BAR), {@link #afterWrite} acts on the bytes the write left (an enable bit). Writes have
 * already been filtered through the writable mask.
 * <p>
 * Thread safety: called on vCPU threads under the function's lock, so calls on one function are serialised.
 */
public interface PciCapabilityHook
{
    /**
     * @param function the function holding the capability.
     * @param offset   the offset of the access from the capability's start.
     * @param size     the access size.
     */
    void beforeRead(PciFunction function, int offset, int size);

    /**
     * @param function the function holding the capability.
     * @param offset   the offset of the access from the capability's start.
     * @param size     the access size.
     */
    void afterWrite(PciFunction function, int offset, int size);
}
