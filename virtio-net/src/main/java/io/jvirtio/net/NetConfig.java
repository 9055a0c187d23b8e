package io.jvirtio.net;

/**
 * How a {@link NetDevice} is built: its MAC address, queue pairs, MTU, queue size and the frame limits.
 * <p>
 * Thread safety: immutable; any thread.
 *
 * @param mac            the MAC address, the 48 low bits, first octet in the most significant byte
 *                       ({@code 0x52_54_00_12_34_56L} is 52:54:00:12:34:56).
 * @param maxQueuePairs  {@code max_virtqueue_pairs}, 1..0x8000 (virtio-v1.2 §5.1.4.1); more than one needs MQ.
 * @param mtu            {@code mtu}, 68..65535 (§5.1.4.1); fixed for the device's life.
 * @param queueSize      the largest Queue Size of every queue, a power of two 2..32768.
 * @param linkUp         the initial link state.
 */
public record NetConfig(long mac, int maxQueuePairs, int mtu, int queueSize, boolean linkUp)
{
    /** Largest {@code max_virtqueue_pairs}, §5.1.4.1. */
    public static final int MAX_VIRTQUEUE_PAIRS = 0x8000;
    /** Smallest {@code mtu}, §5.1.4.1. */
    public static final int MIN_MTU = 68;
    /** Largest {@code mtu}, §5.1.4.1. */
    public static final int MAX_MTU = 65535;
    /** Pairs a {@link io.jvirtio.virtio.worker.DeviceWorker} can own are bounded; this device caps pairs at 64. */
    public static final int MAX_SUPPORTED_PAIRS = 64;

    /**
     * @throws IllegalArgumentException if a value is outside its range.
     */
    public NetConfig
    {
        if ((mac & ~0xFFFF_FFFF_FFFFL) != 0)
        {
            throw new IllegalArgumentException("mac must fit 48 bits: mac=0x" + Long.toHexString(mac));
        }
        if (maxQueuePairs < 1 || maxQueuePairs > MAX_SUPPORTED_PAIRS)
        {
            throw new IllegalArgumentException("queue pairs must be 1 to 64: maxQueuePairs=" + maxQueuePairs);
        }
        if (mtu < MIN_MTU || mtu > MAX_MTU)
        {
            throw new IllegalArgumentException("mtu must be 68 to 65535: mtu=" + mtu);
        }
        if (queueSize < 2 || queueSize > 32768 || Integer.bitCount(queueSize) != 1)
        {
            throw new IllegalArgumentException("queue size must be a power of two 2 to 32768: queueSize=" + queueSize);
        }
    }

    /** @return one queue pair, MAC 52:54:00:12:34:56, MTU 1500, queues of 256, link up. */
    public static NetConfig defaults()
    {
        return new NetConfig(0x52_54_00_12_34_56L, 1, 1500, 256, true);
    }

    /** @return this configuration with {@code pairs} queue pairs. */
    public NetConfig withQueuePairs(final int pairs)
    {
        return new NetConfig(mac, pairs, mtu, queueSize, linkUp);
    }

    /** @return this configuration with queues of {@code size}. */
    public NetConfig withQueueSize(final int size)
    {
        return new NetConfig(mac, maxQueuePairs, mtu, size, linkUp);
    }

    /** @return this configuration with MTU {@code value}. */
    public NetConfig withMtu(final int value)
    {
        return new NetConfig(mac, maxQueuePairs, value, queueSize, linkUp);
    }

    /** @return octet {@code i} (0..5) of the MAC address, as it appears in config space. */
    public int macOctet(final int i)
    {
        return (int)(mac >>> (8 * (NetConfigLayout.MAC_LENGTH - 1 - i))) & 0xFF;
    }
}
