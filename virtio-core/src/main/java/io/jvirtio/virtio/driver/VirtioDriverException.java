package io.jvirtio.virtio.driver;

/**
 * A guest driver could not bring a device up: no device at the address, a version it does not drive, a feature
 * negotiation the device refused, a queue the device does not have. The guest side's own error, thrown to the code
 * that plays the guest; the device side never throws for guest input.
 * <p>
 * Thread safety: immutable.
 */
public final class VirtioDriverException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /** @param message lower-case, what went wrong, then key=value pairs. */
    public VirtioDriverException(final String message)
    {
        super(message);
    }
}
