package io.jvirtio.virtio;

/**
 * What a {@link VirtioDevice} may ask of the transport that presents it.
 * <p>
 * Thread safety: any thread, any time after {@link VirtioDevice#attach}.
 */
public interface DeviceHost
{
    /**
     * The device changed its configuration space (a link went down, the capacity changed): the transport changes the
     * config generation and, once DRIVER_OK is set, sends a configuration change notification (virtio-v1.2 §4.1.4.5,
     * §4.2.2.1).
     */
    void configChanged();

    /**
     * The device met an error it cannot recover from without a reset (a broken ring, a request it cannot parse):
     * the transport sets DEVICE_NEEDS_RESET and, if DRIVER_OK was set, sends a configuration change notification
     * (virtio-v1.2 §2.1.2).
     *
     * @param reason a short description, for counters and logs.
     */
    void needsReset(String reason);
}
