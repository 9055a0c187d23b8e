package io.jvirtio.net;

/**
 * The receive filter state the driver sets through the control queue (virtio-v1.2 §5.1.6.5.1, §5.1.6.5.2): the
 * promiscuous and all-multicast modes and the MAC filter tables. The device records it; frames are not filtered by
 * it (the backend decides what reaches the pair).
 * <p>
 * After reset the device is promiscuous, as QEMU is for compatibility with drivers that never send RX commands, and
 * the tables are empty (§5.1.6.5.2.1: "The device MUST have an empty MAC filtering table on reset").
 * <p>
 * Thread safety: written by the worker that owns the control queue; read from any thread. Each table update
 * publishes through a volatile store of its counts after the entries are written.
 */
public final class RxFilter
{
    /** Entries per table this device keeps; a longer table is accepted and marked overflowed, as QEMU does. */
    public static final int MAC_TABLE_ENTRIES = 64;

    private final long[] unicast = new long[MAC_TABLE_ENTRIES];
    private final long[] multicast = new long[MAC_TABLE_ENTRIES];
    private volatile boolean promiscuous = true;
    private volatile boolean allMulticast;
    private volatile int unicastCount;
    private volatile int multicastCount;
    private volatile boolean unicastOverflow;
    private volatile boolean multicastOverflow;

    /** @return promiscuous mode. */
    public boolean promiscuous()
    {
        return promiscuous;
    }

    /** @return all-multicast mode. */
    public boolean allMulticast()
    {
        return allMulticast;
    }

    /** @return unicast entries kept. */
    public int unicastCount()
    {
        return unicastCount;
    }

    /** @return multicast entries kept. */
    public int multicastCount()
    {
        return multicastCount;
    }

    /** @return true if the last unicast table had more than {@link #MAC_TABLE_ENTRIES} entries. */
    public boolean unicastOverflow()
    {
        return unicastOverflow;
    }

    /** @return true if the last multicast table had more than {@link #MAC_TABLE_ENTRIES} entries. */
    public boolean multicastOverflow()
    {
        return multicastOverflow;
    }

    /** @return unicast entry {@code i}, a 48-bit MAC, first octet most significant. */
    public long unicast(final int i)
    {
        return unicast[java.util.Objects.checkIndex(i, unicastCount)];
    }

    /** @return multicast entry {@code i}, a 48-bit MAC, first octet most significant. */
    public long multicast(final int i)
    {
        return multicast[java.util.Objects.checkIndex(i, multicastCount)];
    }

    void promiscuous(final boolean on)
    {
        promiscuous = on;
    }

    void allMulticast(final boolean on)
    {
        allMulticast = on;
    }

    long[] unicastTable()
    {
        return unicast;
    }

    long[] multicastTable()
    {
        return multicast;
    }

    void publishTables(final int unicastEntries, final long unicastTotal, final int multicastEntries,
        final long multicastTotal)
    {
        unicastOverflow = unicastTotal > MAC_TABLE_ENTRIES;
        multicastOverflow = multicastTotal > MAC_TABLE_ENTRIES;
        unicastCount = unicastEntries;
        multicastCount = multicastEntries;
    }

    void reset()
    {
        promiscuous = true;
        allMulticast = false;
        unicastCount = 0;
        multicastCount = 0;
        unicastOverflow = false;
        multicastOverflow = false;
    }
}
