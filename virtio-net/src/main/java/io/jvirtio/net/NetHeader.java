package io.jvirtio.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A flyweight over one {@code struct virtio_net_hdr} ({@link NetHeaderLayout}) in any memory segment: a device
 * staging buffer, a backend's buffer, or guest RAM. Accessors are named after the spec's fields and return unsigned
 * values; setters are fluent. Nothing allocates after construction.
 * <p>
 * Thread safety: not thread-safe; one flyweight per thread.
 */
public final class NetHeader
{
    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int U8 = 0xFF;
    private static final int U16 = 0xFFFF;

    private MemorySegment segment;
    private long offset;

    /**
     * Points the flyweight at a header.
     *
     * @param segment the memory holding it.
     * @param offset  where it starts; {@code offset + 12 <= segment.byteSize()}.
     * @return this.
     * @throws IndexOutOfBoundsException if the header does not fit.
     */
    public NetHeader wrap(final MemorySegment segment, final long offset)
    {
        if (offset < 0 || segment.byteSize() - offset < NetHeaderLayout.LENGTH)
        {
            throw new IndexOutOfBoundsException("header does not fit the segment: offset=" + offset
                + ", byteSize=" + segment.byteSize());
        }
        this.segment = segment;
        this.offset = offset;
        return this;
    }

    /** @return {@code flags}. */
    public int flags()
    {
        return segment.get(ValueLayout.JAVA_BYTE, offset + NetHeaderLayout.FLAGS_OFFSET) & U8;
    }

    /** @return this, with {@code flags} set. */
    public NetHeader flags(final int value)
    {
        segment.set(ValueLayout.JAVA_BYTE, offset + NetHeaderLayout.FLAGS_OFFSET, (byte)value);
        return this;
    }

    /** @return {@code gso_type}. */
    public int gsoType()
    {
        return segment.get(ValueLayout.JAVA_BYTE, offset + NetHeaderLayout.GSO_TYPE_OFFSET) & U8;
    }

    /** @return this, with {@code gso_type} set. */
    public NetHeader gsoType(final int value)
    {
        segment.set(ValueLayout.JAVA_BYTE, offset + NetHeaderLayout.GSO_TYPE_OFFSET, (byte)value);
        return this;
    }

    /** @return {@code hdr_len}. */
    public int hdrLen()
    {
        return get16(NetHeaderLayout.HDR_LEN_OFFSET);
    }

    /** @return this, with {@code hdr_len} set. */
    public NetHeader hdrLen(final int value)
    {
        return set16(NetHeaderLayout.HDR_LEN_OFFSET, value);
    }

    /** @return {@code gso_size}. */
    public int gsoSize()
    {
        return get16(NetHeaderLayout.GSO_SIZE_OFFSET);
    }

    /** @return this, with {@code gso_size} set. */
    public NetHeader gsoSize(final int value)
    {
        return set16(NetHeaderLayout.GSO_SIZE_OFFSET, value);
    }

    /** @return {@code csum_start}. */
    public int csumStart()
    {
        return get16(NetHeaderLayout.CSUM_START_OFFSET);
    }

    /** @return this, with {@code csum_start} set. */
    public NetHeader csumStart(final int value)
    {
        return set16(NetHeaderLayout.CSUM_START_OFFSET, value);
    }

    /** @return {@code csum_offset}. */
    public int csumOffset()
    {
        return get16(NetHeaderLayout.CSUM_OFFSET_OFFSET);
    }

    /** @return this, with {@code csum_offset} set. */
    public NetHeader csumOffset(final int value)
    {
        return set16(NetHeaderLayout.CSUM_OFFSET_OFFSET, value);
    }

    /** @return {@code num_buffers}. */
    public int numBuffers()
    {
        return get16(NetHeaderLayout.NUM_BUFFERS_OFFSET);
    }

    /** @return this, with {@code num_buffers} set. */
    public NetHeader numBuffers(final int value)
    {
        return set16(NetHeaderLayout.NUM_BUFFERS_OFFSET, value);
    }

    /** @return this, with every field 0. */
    public NetHeader clear()
    {
        // two stores cover the 12 bytes without slicing (a slice would be an object)
        segment.set(ValueLayout.JAVA_LONG_UNALIGNED, offset, 0L);
        segment.set(ValueLayout.JAVA_INT_UNALIGNED, offset + Long.BYTES, 0);
        return this;
    }

    private int get16(final int field)
    {
        return segment.get(LE16, offset + field) & U16;
    }

    private NetHeader set16(final int field, final int value)
    {
        segment.set(LE16, offset + field, (short)value);
        return this;
    }
}
