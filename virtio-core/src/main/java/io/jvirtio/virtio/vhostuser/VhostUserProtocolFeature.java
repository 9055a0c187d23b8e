package io.jvirtio.virtio.vhostuser;

/**
 * Protocol feature bits (QEMU docs/interop/vhost-user.rst "Protocol features"), negotiated with
 * GET_PROTOCOL_FEATURES / SET_PROTOCOL_FEATURES once {@link #VHOST_USER_F_PROTOCOL_FEATURES} is offered in
 * GET_FEATURES. {@link VhostUserBackend} offers {@link #MQ}, {@link #REPLY_ACK} and {@link #CONFIG}, the ones it
 * implements fully.
 * <p>
 * Thread safety: constants only.
 */
public final class VhostUserProtocolFeature
{
    /** Virtio feature bit 30 in GET_FEATURES: the back-end speaks protocol features (and rings start disabled). */
    public static final int VHOST_USER_F_PROTOCOL_FEATURES = 30;
    /** GET_QUEUE_NUM answers the number of rings the back-end serves. */
    public static final int MQ = 0;
    /** Dirty-page logging through a shared memory fd (SET_LOG_BASE, SET_LOG_FD): not offered. */
    public static final int LOG_SHMFD = 1;
    /** A message with NEED_REPLY gets a u64 reply: 0 for success. */
    public static final int REPLY_ACK = 3;
    /** The back-end channel (SET_BACKEND_REQ_FD): not offered, so config-change messages cannot be sent. */
    public static final int BACKEND_REQ = 5;
    /** GET_CONFIG / SET_CONFIG reach the device configuration space. */
    public static final int CONFIG = 9;

    private VhostUserProtocolFeature()
    {
    }
}
