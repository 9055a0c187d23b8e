package io.jvirtio.net;

/**
 * The virtio-net feature bits, virtio-v1.2 §5.1.3 "Feature bits", and the dependency rules of §5.1.3.1 "Feature bit
 * requirements". A feature set is a {@code long}: bit {@code n} is feature {@code n}, as in
 * {@link io.jvirtio.virtio.VirtioFeatures}.
 * <p>
 * Thread safety: constants and pure functions; any thread.
 */
public final class NetFeatures
{
    /** Bit 0: the device handles packets with a partial checksum (TX offload). */
    public static final int VIRTIO_NET_F_CSUM = 0;
    /** Bit 1: the driver handles packets with a partial checksum (RX offload). */
    public static final int VIRTIO_NET_F_GUEST_CSUM = 1;
    /** Bit 2: control channel offloads reconfiguration. */
    public static final int VIRTIO_NET_F_CTRL_GUEST_OFFLOADS = 2;
    /** Bit 3: the device reports its maximum MTU in config space. */
    public static final int VIRTIO_NET_F_MTU = 3;
    /** Bit 5: the device has the MAC address in config space. */
    public static final int VIRTIO_NET_F_MAC = 5;
    /** Bit 7: the driver can receive TSOv4. */
    public static final int VIRTIO_NET_F_GUEST_TSO4 = 7;
    /** Bit 8: the driver can receive TSOv6. */
    public static final int VIRTIO_NET_F_GUEST_TSO6 = 8;
    /** Bit 9: the driver can receive TSO with ECN. */
    public static final int VIRTIO_NET_F_GUEST_ECN = 9;
    /** Bit 10: the driver can receive UFO. */
    public static final int VIRTIO_NET_F_GUEST_UFO = 10;
    /** Bit 11: the device can receive TSOv4 (the driver may send it). */
    public static final int VIRTIO_NET_F_HOST_TSO4 = 11;
    /** Bit 12: the device can receive TSOv6. */
    public static final int VIRTIO_NET_F_HOST_TSO6 = 12;
    /** Bit 13: the device can receive TSO with ECN. */
    public static final int VIRTIO_NET_F_HOST_ECN = 13;
    /** Bit 14: the device can receive UFO. */
    public static final int VIRTIO_NET_F_HOST_UFO = 14;
    /** Bit 15: the driver can merge receive buffers ({@code num_buffers}). */
    public static final int VIRTIO_NET_F_MRG_RXBUF = 15;
    /** Bit 16: config space {@code status} is available. */
    public static final int VIRTIO_NET_F_STATUS = 16;
    /** Bit 17: the control channel is available. */
    public static final int VIRTIO_NET_F_CTRL_VQ = 17;
    /** Bit 18: control channel RX mode support. */
    public static final int VIRTIO_NET_F_CTRL_RX = 18;
    /** Bit 19: control channel VLAN filtering. */
    public static final int VIRTIO_NET_F_CTRL_VLAN = 19;
    /** Bit 20: extra RX mode commands (ALLUNI, NOMULTI, NOUNI, NOBCAST). */
    public static final int VIRTIO_NET_F_CTRL_RX_EXTRA = 20;
    /** Bit 21: the driver can send gratuitous packets. */
    public static final int VIRTIO_NET_F_GUEST_ANNOUNCE = 21;
    /** Bit 22: multiqueue with automatic receive steering. */
    public static final int VIRTIO_NET_F_MQ = 22;
    /** Bit 23: the MAC address can be set through the control channel. */
    public static final int VIRTIO_NET_F_CTRL_MAC_ADDR = 23;
    /** Bit 51: hash calculation for tunnelled packets. */
    public static final int VIRTIO_NET_F_HASH_TUNNEL = 51;
    /** Bit 52: per-virtqueue notification coalescing. */
    public static final int VIRTIO_NET_F_VQ_NOTF_COAL = 52;
    /** Bit 53: notification coalescing. */
    public static final int VIRTIO_NET_F_NOTF_COAL = 53;
    /** Bit 54: the driver can receive USOv4. */
    public static final int VIRTIO_NET_F_GUEST_USO4 = 54;
    /** Bit 55: the driver can receive USOv6. */
    public static final int VIRTIO_NET_F_GUEST_USO6 = 55;
    /** Bit 56: the device can receive USO. */
    public static final int VIRTIO_NET_F_HOST_USO = 56;
    /** Bit 57: the device can report a per-packet hash. */
    public static final int VIRTIO_NET_F_HASH_REPORT = 57;
    /** Bit 60: receive side scaling. */
    public static final int VIRTIO_NET_F_RSS = 60;
    /** Bit 61: extended coalescing info. */
    public static final int VIRTIO_NET_F_RSC_EXT = 61;

    private static final long GUEST_CSUM_USERS = bit(VIRTIO_NET_F_GUEST_TSO4) | bit(VIRTIO_NET_F_GUEST_TSO6)
        | bit(VIRTIO_NET_F_GUEST_UFO) | bit(VIRTIO_NET_F_GUEST_USO4) | bit(VIRTIO_NET_F_GUEST_USO6);
    private static final long CSUM_USERS = bit(VIRTIO_NET_F_HOST_TSO4) | bit(VIRTIO_NET_F_HOST_TSO6)
        | bit(VIRTIO_NET_F_HOST_UFO) | bit(VIRTIO_NET_F_HOST_USO);
    private static final long CTRL_VQ_USERS = bit(VIRTIO_NET_F_CTRL_RX) | bit(VIRTIO_NET_F_CTRL_VLAN)
        | bit(VIRTIO_NET_F_GUEST_ANNOUNCE) | bit(VIRTIO_NET_F_MQ) | bit(VIRTIO_NET_F_CTRL_MAC_ADDR)
        | bit(VIRTIO_NET_F_NOTF_COAL) | bit(VIRTIO_NET_F_VQ_NOTF_COAL) | bit(VIRTIO_NET_F_RSS)
        | bit(VIRTIO_NET_F_CTRL_RX_EXTRA) | bit(VIRTIO_NET_F_HASH_TUNNEL) | bit(VIRTIO_NET_F_HASH_REPORT);
    private static final long GUEST_TSO = bit(VIRTIO_NET_F_GUEST_TSO4) | bit(VIRTIO_NET_F_GUEST_TSO6);
    private static final long HOST_TSO = bit(VIRTIO_NET_F_HOST_TSO4) | bit(VIRTIO_NET_F_HOST_TSO6);

    private NetFeatures()
    {
    }

    /** @return the mask with bit {@code bit} set. */
    public static long bit(final int bit)
    {
        return 1L << bit;
    }

    /** @return true if {@code features} has bit {@code bit}. */
    public static boolean has(final long features, final int bit)
    {
        return (features & (1L << bit)) != 0;
    }

    /**
     * Checks the dependencies of virtio-v1.2 §5.1.3.1 (conformance checklist item 25): GUEST_TSO4/TSO6/UFO/USO4/USO6
     * need GUEST_CSUM; HOST_TSO4/TSO6/UFO/USO need CSUM; GUEST_ECN needs GUEST_TSO4 or TSO6; HOST_ECN needs HOST_TSO4
     * or TSO6; RSC_EXT needs HOST_TSO4 or TSO6; CTRL_RX, CTRL_VLAN, GUEST_ANNOUNCE, MQ, CTRL_MAC_ADDR, NOTF_COAL,
     * VQ_NOTF_COAL, RSS, CTRL_RX_EXTRA, HASH_TUNNEL and HASH_REPORT need CTRL_VQ. The check is the same for an offer
     * (the device must never offer a bit without its dependency) and for what a driver accepts.
     *
     * @param features a feature set.
     * @return null if it is consistent, else the first rule it breaks.
     */
    public static String dependencyViolation(final long features)
    {
        if ((features & GUEST_CSUM_USERS) != 0 && !has(features, VIRTIO_NET_F_GUEST_CSUM))
        {
            return "guest segmentation offloads need VIRTIO_NET_F_GUEST_CSUM";
        }
        if ((features & CSUM_USERS) != 0 && !has(features, VIRTIO_NET_F_CSUM))
        {
            return "host segmentation offloads need VIRTIO_NET_F_CSUM";
        }
        if (has(features, VIRTIO_NET_F_GUEST_ECN) && (features & GUEST_TSO) == 0)
        {
            return "VIRTIO_NET_F_GUEST_ECN needs VIRTIO_NET_F_GUEST_TSO4 or VIRTIO_NET_F_GUEST_TSO6";
        }
        if (has(features, VIRTIO_NET_F_HOST_ECN) && (features & HOST_TSO) == 0)
        {
            return "VIRTIO_NET_F_HOST_ECN needs VIRTIO_NET_F_HOST_TSO4 or VIRTIO_NET_F_HOST_TSO6";
        }
        if (has(features, VIRTIO_NET_F_RSC_EXT) && (features & HOST_TSO) == 0)
        {
            return "VIRTIO_NET_F_RSC_EXT needs VIRTIO_NET_F_HOST_TSO4 or VIRTIO_NET_F_HOST_TSO6";
        }
        if ((features & CTRL_VQ_USERS) != 0 && !has(features, VIRTIO_NET_F_CTRL_VQ))
        {
            return "control channel features need VIRTIO_NET_F_CTRL_VQ";
        }
        return null;
    }
}
