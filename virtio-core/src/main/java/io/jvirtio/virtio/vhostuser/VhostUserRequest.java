package io.jvirtio.virtio.vhostuser;

/**
 * The front-end message types (QEMU docs/interop/vhost-user.rst "Front-end message types"), by their request codes.
 * Only the ones QEMU 7.2 sends to a net or blk back-end that offers what {@link VhostUserBackend} offers are served;
 * every other code closes the connection.
 * <p>
 * Thread safety: constants only.
 */
public final class VhostUserRequest
{
    public static final int GET_FEATURES = 1;
    public static final int SET_FEATURES = 2;
    public static final int SET_OWNER = 3;
    public static final int RESET_OWNER = 4;
    public static final int SET_MEM_TABLE = 5;
    public static final int SET_LOG_BASE = 6;
    public static final int SET_LOG_FD = 7;
    public static final int SET_VRING_NUM = 8;
    public static final int SET_VRING_ADDR = 9;
    public static final int SET_VRING_BASE = 10;
    public static final int GET_VRING_BASE = 11;
    public static final int SET_VRING_KICK = 12;
    public static final int SET_VRING_CALL = 13;
    public static final int SET_VRING_ERR = 14;
    public static final int GET_PROTOCOL_FEATURES = 15;
    public static final int SET_PROTOCOL_FEATURES = 16;
    public static final int GET_QUEUE_NUM = 17;
    public static final int SET_VRING_ENABLE = 18;
    public static final int SEND_RARP = 19;
    public static final int NET_SET_MTU = 20;
    public static final int SET_BACKEND_REQ_FD = 21;
    public static final int GET_CONFIG = 24;
    public static final int SET_CONFIG = 25;
    public static final int GET_INFLIGHT_FD = 31;
    public static final int SET_INFLIGHT_FD = 32;
    public static final int RESET_DEVICE = 34;
    public static final int GET_MAX_MEM_SLOTS = 36;
    public static final int SET_STATUS = 39;
    public static final int GET_STATUS = 40;

    private static final String[] NAMES = new String[GET_STATUS + 1];

    static
    {
        NAMES[GET_FEATURES] = "GET_FEATURES";
        NAMES[SET_FEATURES] = "SET_FEATURES";
        NAMES[SET_OWNER] = "SET_OWNER";
        NAMES[RESET_OWNER] = "RESET_OWNER";
        NAMES[SET_MEM_TABLE] = "SET_MEM_TABLE";
        NAMES[SET_LOG_BASE] = "SET_LOG_BASE";
        NAMES[SET_LOG_FD] = "SET_LOG_FD";
        NAMES[SET_VRING_NUM] = "SET_VRING_NUM";
        NAMES[SET_VRING_ADDR] = "SET_VRING_ADDR";
        NAMES[SET_VRING_BASE] = "SET_VRING_BASE";
        NAMES[GET_VRING_BASE] = "GET_VRING_BASE";
        NAMES[SET_VRING_KICK] = "SET_VRING_KICK";
        NAMES[SET_VRING_CALL] = "SET_VRING_CALL";
        NAMES[SET_VRING_ERR] = "SET_VRING_ERR";
        NAMES[GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES";
        NAMES[SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES";
        NAMES[GET_QUEUE_NUM] = "GET_QUEUE_NUM";
        NAMES[SET_VRING_ENABLE] = "SET_VRING_ENABLE";
        NAMES[SEND_RARP] = "SEND_RARP";
        NAMES[NET_SET_MTU] = "NET_SET_MTU";
        NAMES[SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD";
        NAMES[GET_CONFIG] = "GET_CONFIG";
        NAMES[SET_CONFIG] = "SET_CONFIG";
        NAMES[GET_INFLIGHT_FD] = "GET_INFLIGHT_FD";
        NAMES[SET_INFLIGHT_FD] = "SET_INFLIGHT_FD";
        NAMES[RESET_DEVICE] = "RESET_DEVICE";
        NAMES[GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS";
        NAMES[SET_STATUS] = "SET_STATUS";
        NAMES[GET_STATUS] = "GET_STATUS";
    }

    private VhostUserRequest()
    {
    }

    /** @return the message's name, or {@code REQUEST_<n>} for a code not listed here. */
    public static String name(final int request)
    {
        if (request >= 0 && request < NAMES.length && NAMES[request] != null)
        {
            return NAMES[request];
        }
        return "REQUEST_" + Integer.toUnsignedString(request);
    }
}
