package io.jvirtio.virtio.transport;

/**
 * Every guest action a transport refuses or ignores, and every device error it records: the named counters of
 * {@link TransportCounters}. Guest-caused errors are counted, never thrown.
 * <p>
 * Thread safety: constants only.
 */
public enum TransportCounter
{
    /** A status write that would clear a bit without writing 0 (virtio-v1.2 §2.1.1: the driver MUST NOT clear). */
    STATUS_BITS_CLEARED,
    /** A status write that skips a step of ACK, DRIVER, FEATURES_OK, DRIVER_OK, or advances after FAILED. */
    STATUS_TRANSITION_REFUSED,
    /** A status write with a bit no one defined or the device does not offer (SUSPEND, reserved bits). */
    STATUS_UNKNOWN_BITS,
    /** A status write that tries to set DEVICE_NEEDS_RESET, which only the device sets. */
    STATUS_NEEDS_RESET_WRITTEN,
    /** A status write that advances while DEVICE_NEEDS_RESET is set: only FAILED or a reset are accepted. */
    STATUS_WRITE_WHILE_NEEDS_RESET,
    /** A driver-features write outside the DRIVER and not FEATURES_OK window (features are frozen). */
    FEATURES_WRITE_REFUSED,
    /** A driver-features write to a select page other than 0 and 1. */
    FEATURES_SELECT_OUT_OF_RANGE,
    /** FEATURES_OK refused: the driver accepted a feature the device did not offer. */
    FEATURES_NOT_OFFERED,
    /** FEATURES_OK refused: the driver did not accept VIRTIO_F_VERSION_1. */
    FEATURES_WITHOUT_VERSION_1,
    /** FEATURES_OK refused: {@link io.jvirtio.virtio.VirtioDevice#checkFeatures} returned a reason. */
    FEATURES_REFUSED_BY_DEVICE,
    /** A queue register access with a selected queue index at or above the queue count (unsigned). */
    QUEUE_SELECT_OUT_OF_RANGE,
    /** A queue register write outside the FEATURES_OK and not DRIVER_OK window. */
    QUEUE_WRITE_OUTSIDE_WINDOW,
    /** A queue register write while that queue is ready. */
    QUEUE_WRITE_WHILE_READY,
    /** A queue enable whose configuration failed {@link io.jvirtio.virtio.queue.SplitQueueConfig#check}. */
    QUEUE_ENABLE_INVALID,
    /** A queue broke (a ring rule violated) and put the device in DEVICE_NEEDS_RESET. */
    QUEUE_BROKEN,
    /** The device reported an error through {@link io.jvirtio.virtio.DeviceHost#needsReset}. */
    DEVICE_NEEDS_RESET,
    /** Activation at DRIVER_OK failed (the device or a kick registration threw): DEVICE_NEEDS_RESET is set. */
    ACTIVATION_FAILED,
    /** A config-space read outside the device's config size: all ones returned. */
    CONFIG_READ_OUT_OF_RANGE,
    /** A config-space write outside the device's config size: ignored. */
    CONFIG_WRITE_OUT_OF_RANGE,
    /** A notification for a queue index at or above the queue count, or of a queue that is not ready. */
    NOTIFY_INVALID_QUEUE,
    /** A notification that reached the transport before DRIVER_OK: not processed (the queues are rescanned). */
    NOTIFY_BEFORE_DRIVER_OK,
    /** A register access that is not an aligned access of the register's width: ignored, reads 0. */
    REGISTER_ACCESS_MISALIGNED,
    /** A read of a write-only register, a write of a read-only one, or an access to an undefined offset. */
    REGISTER_ACCESS_INVALID,
    /** An interrupt acknowledgement with bits that no interrupt defines. */
    INTERRUPT_ACK_UNDEFINED_BITS,
    /** A write to a register that needs a feature that was not negotiated (QueueReset without RING_RESET). */
    REGISTER_FEATURE_NOT_NEGOTIATED
}
