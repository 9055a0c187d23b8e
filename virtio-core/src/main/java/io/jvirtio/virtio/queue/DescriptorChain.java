package io.jvirtio.virtio.queue;

import io.jvirtio.bus.memory.GuestMemory;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A reusable cursor over one popped descriptor chain: the chain's buffers as (address, length) segments, readable ones
 * first, then writable ones, exactly as the ring validated them.
 * <p>
 * {@link VirtQueue#pop(DescriptorChain)} fills the cursor by reading every descriptor once into its own arrays
 * (no time-of-check/time-of-use: later guest writes to the descriptor table change nothing here). Every segment was
 * checked to lie inside one guest RAM region, so reads and writes through the cursor cannot leave guest RAM.
 * <pre>
 *   byte offset 0                      readableBytes()   0                              writableBytes()
 *   |-- readable segment 0 --|-- 1 --|...|               |-- writable segment 0 --|-- 1 --|...|
 *   read(offset, ...) copies out of these                write(offset, ...) copies into these
 * </pre>
 * Offsets are logical: a 12-byte header that spans two descriptors reads as 12 contiguous bytes. The device never
 * writes a device-readable buffer (virtio-v1.2 §2.7.5.1): {@code write} only ever touches writable segments.
 * {@link #bytesWritten()} is the end of the furthest byte written, the value to report as the used length
 * (§2.7.8.2: the device writes at least {@code len} bytes, from the first writable buffer, before publishing).
 * <p>
 * Zero-length descriptors are carried as segments of length 0; nothing ever reads or writes through them.
 * <p>
 * Nothing here allocates. Thread safety: not thread-safe; owned by the worker thread that pops into it.
 */
public final class DescriptorChain
{
    /** {@link #head()} of a cursor that holds no chain. */
    public static final int NO_HEAD = -1;

    private static final long U32_MASK = 0xFFFF_FFFFL;

    private final long[] addrs;
    private final long[] lens;
    private GuestMemory memory;
    private Object owner;
    private int head = NO_HEAD;
    private int availPosition;
    private int readableCount;
    private int count;
    private long readableBytes;
    private long writableBytes;
    private long bytesWritten;

    /**
     * @param capacity the most segments the cursor can hold; pop needs at least the queue's Queue Size
     *                 ({@link VirtQueue#size()}), since no valid chain is longer.
     * @throws IllegalArgumentException if {@code capacity} is not 1..32768.
     */
    public DescriptorChain(final int capacity)
    {
        if (capacity < 1 || capacity > SplitQueueConfig.MAX_QUEUE_SIZE)
        {
            throw new IllegalArgumentException("chain capacity must be 1 to 32768: capacity=" + capacity);
        }
        addrs = new long[capacity];
        lens = new long[capacity];
    }

    /** @return the most segments this cursor holds. */
    public int capacity()
    {
        return addrs.length;
    }

    /** @return the head descriptor index of the chain (the used element's {@code id}), or {@link #NO_HEAD}. */
    public int head()
    {
        return head;
    }

    /** @return number of device-readable segments. */
    public int readableSegments()
    {
        return readableCount;
    }

    /** @return number of device-writable segments. */
    public int writableSegments()
    {
        return count - readableCount;
    }

    /**
     * @param i readable segment index, {@code 0 <= i < readableSegments()}.
     * @return its guest-physical address.
     */
    public long readableAddr(final int i)
    {
        return addrs[Objects.checkIndex(i, readableCount)];
    }

    /**
     * @param i readable segment index, {@code 0 <= i < readableSegments()}.
     * @return its length in bytes (unsigned 32-bit, possibly 0).
     */
    public long readableLength(final int i)
    {
        return lens[Objects.checkIndex(i, readableCount)];
    }

    /**
     * @param i writable segment index, {@code 0 <= i < writableSegments()}.
     * @return its guest-physical address.
     */
    public long writableAddr(final int i)
    {
        return addrs[readableCount + Objects.checkIndex(i, count - readableCount)];
    }

    /**
     * @param i writable segment index, {@code 0 <= i < writableSegments()}.
     * @return its length in bytes (unsigned 32-bit, possibly 0).
     */
    public long writableLength(final int i)
    {
        return lens[readableCount + Objects.checkIndex(i, count - readableCount)];
    }

    /** @return total bytes in the readable segments. */
    public long readableBytes()
    {
        return readableBytes;
    }

    /** @return total bytes in the writable segments. */
    public long writableBytes()
    {
        return writableBytes;
    }

    /** @return the end of the furthest byte written into the writable part so far: the used length to report. */
    public long bytesWritten()
    {
        return bytesWritten;
    }

    /**
     * Copies readable bytes, starting {@code offset} bytes into the readable part, across segment boundaries.
     *
     * @param offset    logical offset in the readable part.
     * @param dst       destination.
     * @param dstOffset index in {@code dst}.
     * @param length    bytes wanted.
     * @return bytes copied: {@code length}, or fewer if the readable part ends first (0 past its end).
     */
    public int read(final long offset, final byte[] dst, final int dstOffset, final int length)
    {
        Objects.checkFromIndexSize(dstOffset, length, dst.length);
        checkOffset(offset);
        long skip = offset;
        int copied = 0;
        // bound: one pass over the chain's readable segments
        for (int i = 0; i < readableCount && copied < length; i++)
        {
            final long segmentLength = lens[i];
            if (skip >= segmentLength)
            {
                skip -= segmentLength;
                continue;
            }
            final int n = (int)Math.min(segmentLength - skip, length - copied);
            memory.copyOut(addrs[i] + skip, dst, dstOffset + copied, n);
            copied += n;
            skip = 0;
        }
        return copied;
    }

    /**
     * Copies readable bytes into a segment, starting {@code offset} bytes into the readable part.
     *
     * @param offset    logical offset in the readable part.
     * @param dst       destination (heap, native, or another guest's memory).
     * @param dstOffset offset in {@code dst}.
     * @param length    bytes wanted.
     * @return bytes copied: {@code length}, or fewer if the readable part ends first.
     */
    public long read(final long offset, final MemorySegment dst, final long dstOffset, final long length)
    {
        Objects.checkFromIndexSize(dstOffset, length, dst.byteSize());
        checkOffset(offset);
        long skip = offset;
        long copied = 0;
        // bound: one pass over the chain's readable segments
        for (int i = 0; i < readableCount && copied < length; i++)
        {
            final long segmentLength = lens[i];
            if (skip >= segmentLength)
            {
                skip -= segmentLength;
                continue;
            }
            final long n = Math.min(segmentLength - skip, length - copied);
            memory.copyOut(addrs[i] + skip, dst, dstOffset + copied, n);
            copied += n;
            skip = 0;
        }
        return copied;
    }

    /**
     * Copies bytes into the writable part, starting {@code offset} bytes into it, across segment boundaries.
     *
     * @param offset    logical offset in the writable part.
     * @param src       source.
     * @param srcOffset index in {@code src}.
     * @param length    bytes to write.
     * @return bytes written: {@code length}, or fewer if the writable part ends first (0 past its end).
     */
    public int write(final long offset, final byte[] src, final int srcOffset, final int length)
    {
        Objects.checkFromIndexSize(srcOffset, length, src.length);
        checkOffset(offset);
        long skip = offset;
        int copied = 0;
        // bound: one pass over the chain's writable segments
        for (int i = readableCount; i < count && copied < length; i++)
        {
            final long segmentLength = lens[i];
            if (skip >= segmentLength)
            {
                skip -= segmentLength;
                continue;
            }
            final int n = (int)Math.min(segmentLength - skip, length - copied);
            memory.copyIn(addrs[i] + skip, src, srcOffset + copied, n);
            copied += n;
            skip = 0;
        }
        noteWritten(offset, copied);
        return copied;
    }

    /**
     * Copies bytes from a segment into the writable part, starting {@code offset} bytes into it.
     *
     * @param offset    logical offset in the writable part.
     * @param src       source (heap, native, or another guest's memory).
     * @param srcOffset offset in {@code src}.
     * @param length    bytes to write.
     * @return bytes written: {@code length}, or fewer if the writable part ends first.
     */
    public long write(final long offset, final MemorySegment src, final long srcOffset, final long length)
    {
        Objects.checkFromIndexSize(srcOffset, length, src.byteSize());
        checkOffset(offset);
        long skip = offset;
        long copied = 0;
        // bound: one pass over the chain's writable segments
        for (int i = readableCount; i < count && copied < length; i++)
        {
            final long segmentLength = lens[i];
            if (skip >= segmentLength)
            {
                skip -= segmentLength;
                continue;
            }
            final long n = Math.min(segmentLength - skip, length - copied);
            memory.copyIn(addrs[i] + skip, src, srcOffset + copied, n);
            copied += n;
            skip = 0;
        }
        noteWritten(offset, copied);
        return copied;
    }

    private void noteWritten(final long offset, final long copied)
    {
        if (copied > 0)
        {
            bytesWritten = Math.max(bytesWritten, offset + copied);
        }
    }

    private static void checkOffset(final long offset)
    {
        if (offset < 0)
        {
            throw new IndexOutOfBoundsException("chain offset must not be negative: offset=" + offset);
        }
    }

    /** Starts filling the cursor with a new chain; called by the ring that pops it. */
    void start(final GuestMemory memory, final Object owner, final int head, final int availPosition)
    {
        this.memory = memory;
        this.owner = owner;
        this.head = head;
        this.availPosition = availPosition;
        readableCount = 0;
        count = 0;
        readableBytes = 0;
        writableBytes = 0;
        bytesWritten = 0;
    }

    /**
     * Appends one validated segment. The ring guarantees readable segments come first and the capacity suffices.
     *
     * @param addr     guest-physical address.
     * @param len      unsigned 32-bit length.
     * @param writable device-writable.
     */
    void add(final long addr, final long len, final boolean writable)
    {
        addrs[count] = addr;
        lens[count] = len & U32_MASK;
        count++;
        if (writable)
        {
            writableBytes += len;
        }
        else
        {
            readableCount++;
            readableBytes += len;
        }
    }

    /** @return segments added so far. */
    int segments()
    {
        return count;
    }

    /** Empties the cursor: it then holds no chain and every read or write transfers nothing. */
    void clear()
    {
        owner = null;
        head = NO_HEAD;
        readableCount = 0;
        count = 0;
        readableBytes = 0;
        writableBytes = 0;
        bytesWritten = 0;
    }

    /** @return the ring that popped the chain now in the cursor, or null. */
    Object owner()
    {
        return owner;
    }

    /** @return the free-running available-ring index the chain was popped from. */
    int availPosition()
    {
        return availPosition;
    }
}
