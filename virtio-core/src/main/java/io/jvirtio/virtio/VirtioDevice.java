package io.jvirtio.virtio;

/**
 * A virtio device type (net, blk, ...), as the transport that presents it to the guest sees it: what it offers, its
 * configuration space, its queues, and the moment it starts and stops. The transport owns everything generic:
 * status, feature negotiation (it adds and requires VIRTIO_F_VERSION_1), queue registers, notifications, interrupts,
 * config generation and reset. This is kvmtool's {@code virtio_ops} split, in Java.
 * <p>
 * Lifecycle: {@link #attach} once; then any number of rounds of negotiation ({@link #checkFeatures}), activation at
 * DRIVER_OK ({@link #activate}) and {@link #reset}.
 * <p>
 * Thread safety: every method is called by the transport on a vCPU thread (register accesses), serialised by the
 * transport; after {@link #activate} the device's own worker threads own the queues until {@link #reset} returns.
 */
public interface VirtioDevice
{
    /** @return the virtio device ID, virtio-v1.2 §5 (1 network, 2 block, ...). */
    int deviceId();

    /**
     * @return the features the device offers: its device-specific bits and the ring features it implements
     *     ({@link VirtioFeatures#VIRTIO_F_EVENT_IDX}, {@link VirtioFeatures#VIRTIO_F_INDIRECT_DESC}). The transport
     *     adds VIRTIO_F_VERSION_1. Never a bit whose dependency is not offered too.
     */
    long deviceFeatures();

    /**
     * Checks the device-specific rules on a feature set the driver wants to accept (already checked by the transport
     * to be a subset of the offer that includes VERSION_1), as at the FEATURES_OK status write.
     *
     * @param driverFeatures the features the driver accepted.
     * @return null if the device accepts them, or a short reason (FEATURES_OK then does not stick).
     */
    String checkFeatures(long driverFeatures);

    /** @return how many virtqueues the device has (for net: 2 per queue pair, plus the control queue if offered). */
    int queueCount();

    /** @return the largest size queue {@code queueIndex} supports, a power of two up to 32768. */
    int queueMaxSize(int queueIndex);

    /** @return the size of the device-specific configuration space in bytes. */
    int configSize();

    /**
     * Reads device configuration space, little-endian. Called for {@code 0 <= offset}, {@code offset + size <=
     * configSize()} only; the transport answers anything else.
     *
     * @param size 1, 2, 4 or 8.
     * @return the bytes, in the low {@code 8 * size} bits.
     */
    long readConfig(int offset, int size);

    /**
     * Writes device configuration space (most fields are read-only: ignore writes to them).
     *
     * @param size 1, 2, 4 or 8.
     */
    void writeConfig(int offset, int size, long value);

    /**
     * Called once, before anything else, by the transport that presents the device.
     *
     * @param host how the device tells the transport about config changes and device errors.
     */
    void attach(DeviceHost host);

    /**
     * DRIVER_OK: the queues are set up; the device starts processing them (typically by starting workers that wait
     * on the queues' kick eventfds). Kicks that arrived earlier were not processed, so the device checks every queue
     * once at start.
     *
     * @param context the negotiated features, the queues, their kick eventfds and the interrupt.
     */
    void activate(DeviceContext context);

    /**
     * A device reset: stop processing and return only when no worker touches guest memory or the queues any more.
     * Safe to call when not active.
     */
    void reset();
}
