package io.jvirtio.blk;

import io.jvirtio.virtio.queue.SplitQueueConfig;

import java.util.Objects;

/**
 * One parsed virtio-blk request, reusable (virtio-v1.2 §5.2.6): the header fields copied once out of guest memory, the
 * data segments as guest-physical (address, length) pairs, and where the status byte goes. {@link BlockRequestParser}
 * fills it; nothing else writes it.
 * <p>
 * Data segments are, by type: the writable bytes before the status byte for IN and GET_ID; the readable bytes after
 * the 16-byte header for OUT, DISCARD and WRITE_ZEROES; none for any other type. Zero-length pieces are left out.
 * Whatever the type, {@link #readableDataBytes()} and {@link #writableDataBytes()} say how many bytes lie on each side
 * so that the device can reject data in the wrong direction.
 * <p>
 * Thread safety: not thread-safe; owned by one worker thread.
 */
public final class BlockRequest
{
    private final long[] dataAddrs;
    private final long[] dataLengths;
    private int type;
    private int reserved;
    private long sector;
    private int dataSegments;
    private long dataBytes;
    private boolean dataWritable;
    private long readableDataBytes;
    private long writableDataBytes;
    private long statusAddr;

    /**
     * @param capacity the most data segments it can hold; a chain never has more than its own segment count, so the
     *                 {@code DescriptorChain}'s capacity (the queue size) suffices.
     */
    public BlockRequest(final int capacity)
    {
        if (capacity < 1 || capacity > SplitQueueConfig.MAX_QUEUE_SIZE)
        {
            throw new IllegalArgumentException("request capacity must be 1 to 32768: capacity=" + capacity);
        }
        dataAddrs = new long[capacity];
        dataLengths = new long[capacity];
    }

    /** @return the most data segments this request can hold. */
    public int capacity()
    {
        return dataAddrs.length;
    }

    /** @return {@code type}, the u32 request type as an int. */
    public int type()
    {
        return type;
    }

    /** @return {@code reserved}, the u32 after the type (ioprio in legacy drivers; not interpreted). */
    public int reserved()
    {
        return reserved;
    }

    /** @return {@code sector}, the u64 start sector (512-byte units) as a long; compare it unsigned. */
    public long sector()
    {
        return sector;
    }

    /** @return number of data segments. */
    public int dataSegments()
    {
        return dataSegments;
    }

    /** @return guest-physical address of data segment {@code i}. */
    public long dataAddr(final int i)
    {
        return dataAddrs[Objects.checkIndex(i, dataSegments)];
    }

    /** @return length of data segment {@code i}, greater than 0. */
    public long dataLength(final int i)
    {
        return dataLengths[Objects.checkIndex(i, dataSegments)];
    }

    /** @return total bytes in the data segments. */
    public long dataBytes()
    {
        return dataBytes;
    }

    /** @return true if the data segments are device-writable (IN, GET_ID), false if readable or absent. */
    public boolean dataWritable()
    {
        return dataWritable;
    }

    /** @return device-readable bytes after the 16-byte header. */
    public long readableDataBytes()
    {
        return readableDataBytes;
    }

    /** @return device-writable bytes before the status byte; also the status byte's offset in the writable part. */
    public long writableDataBytes()
    {
        return writableDataBytes;
    }

    /** @return guest-physical address of the status byte (the last device-writable byte). */
    public long statusAddr()
    {
        return statusAddr;
    }

    void header(final int type, final int reserved, final long sector)
    {
        this.type = type;
        this.reserved = reserved;
        this.sector = sector;
    }

    void clear()
    {
        type = 0;
        reserved = 0;
        sector = 0;
        dataSegments = 0;
        dataBytes = 0;
        dataWritable = false;
        readableDataBytes = 0;
        writableDataBytes = 0;
        statusAddr = 0;
    }

    void sides(final long readableData, final long writableData, final long status)
    {
        readableDataBytes = readableData;
        writableDataBytes = writableData;
        statusAddr = status;
    }

    void dataWritable(final boolean writable)
    {
        dataWritable = writable;
    }

    void addData(final long addr, final long length)
    {
        dataAddrs[dataSegments] = addr;
        dataLengths[dataSegments] = length;
        dataSegments++;
        dataBytes += length;
    }
}
