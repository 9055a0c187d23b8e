package io.jvirtio.net.capture;

/**
 * Which way a captured frame went, seen from the guest: virtio-v1.2 §5.1.6.2 (transmitq, guest to device) and
 * §5.1.6.3 (receiveq, device to guest).
 * <p>
 * Thread safety: immutable.
 */
public enum CaptureDirection
{
    /** A frame the guest transmitted. */
    TX(1),
    /** A frame handed to the guest. */
    RX(2);

    private final int code;

    CaptureDirection(final int code)
    {
        this.code = code;
    }

    /** @return the value stored at {@link CaptureLayout#DIRECTION_OFFSET}. */
    public int code()
    {
        return code;
    }

    /**
     * @param code a stored direction byte.
     * @return its direction, or null if the byte names none (a damaged or foreign record).
     */
    public static CaptureDirection ofCode(final int code)
    {
        switch (code)
        {
            case 1:
                return TX;
            case 2:
                return RX;
            default:
                return null;
        }
    }
}
