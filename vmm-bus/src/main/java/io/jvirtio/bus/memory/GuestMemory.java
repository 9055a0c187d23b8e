package io.jvirtio.bus.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Guest-physical RAM: a fixed set of non-overlapping {@link GuestRegion}s, with little-endian accessors whose names
 * carry their memory order (plain, {@code Acquire}, {@code Release}).
 * <p>
 * Every access is checked against exactly one region: a range that wraps 2^64, starts outside RAM or runs past the
 * end of the region it starts in fails with {@link GuestMemoryException}, never with an index error from inside the
 * FFM API. Addresses that no region backs are MMIO: a vCPU access there exits.
 * <p>
 * Ordering: on x86-64 (TSO) an acquire load and a release store need no fence instruction; the {@link VarHandle}
 * fences used here are compiler barriers that keep the JIT from reordering around them. The virtqueue code uses them
 * for the publish order of virtio-v1.2 §2.7.13 and §2.7.8; where it needs a store-load barrier it calls
 * {@link #fullFence()}.
 * <p>
 * Thread safety: the region set is immutable, so any thread may call any accessor; concurrent accesses to the same
 * bytes are ordered only by the acquire/release variants and fences, as with real shared memory. {@link #close()}
 * must be called once, after every user is done.
 */
public final class GuestMemory implements AutoCloseable
{
    private static final ValueLayout.OfShort SHORT_LE =
        ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG_LE =
        ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final GuestRegion[] regions;
    private final long[] bases;
    private final long[] sizes;
    private final MemorySegment[] segments;

    private GuestMemory(final GuestRegion[] regions)
    {
        this.regions = regions;
        this.bases = new long[regions.length];
        this.sizes = new long[regions.length];
        this.segments = new MemorySegment[regions.length];
        for (int i = 0; i < regions.length; i++)
        {
            bases[i] = regions[i].guestBase();
            sizes[i] = regions[i].size();
            segments[i] = regions[i].segment();
        }
    }

    /**
     * @param regions the RAM regions; none may overlap another.
     * @return guest memory over those regions, which it now owns (closing it closes them).
     * @throws IllegalArgumentException if two regions overlap or none is given.
     */
    public static GuestMemory of(final GuestRegion... regions)
    {
        if (regions.length == 0)
        {
            throw new IllegalArgumentException("guest memory needs at least one region");
        }
        final GuestRegion[] sorted = regions.clone();
        Arrays.sort(sorted, Comparator.comparing(GuestRegion::guestBase, Long::compareUnsigned));
        for (int i = 1; i < sorted.length; i++)
        {
            if (sorted[i - 1].overlaps(sorted[i]))
            {
                throw new IllegalArgumentException("guest memory regions overlap: " + sorted[i - 1] + ", " + sorted[i]);
            }
        }
        return new GuestMemory(sorted);
    }

    /**
     * Convenience for the common case: one anonymous region at guest-physical 0.
     *
     * @param size bytes of RAM, a multiple of 4 KiB.
     * @return guest memory with one region.
     */
    public static GuestMemory anonymous(final long size)
    {
        return of(GuestRegion.anonymous(0, size));
    }

    /** @return the regions, sorted by guest-physical base. */
    public List<GuestRegion> regions()
    {
        return List.of(regions);
    }

    /**
     * Finds the region that holds all of {@code [gpa, gpa + length)}.
     *
     * @return the region index.
     * @throws GuestMemoryException if no single region holds the range.
     */
    private int indexOf(final long gpa, final long length)
    {
        if (length < 0)
        {
            throw new GuestMemoryException(GuestMemoryException.Reason.BAD_LENGTH, gpa, length);
        }
        if (length > 0 && Long.compareUnsigned(gpa + length - 1, gpa) < 0)
        {
            throw new GuestMemoryException(GuestMemoryException.Reason.WRAPS, gpa, length);
        }
        final long[] bases = this.bases;
        final long[] sizes = this.sizes;
        // bound: one pass over a fixed, small region array
        for (int i = 0; i < bases.length; i++)
        {
            final long offset = gpa - bases[i];
            final long size = sizes[i];
            if (Long.compareUnsigned(offset, size) < 0 || (length == 0 && offset == size))
            {
                if (Long.compareUnsigned(length, size - offset) <= 0)
                {
                    return i;
                }
                throw new GuestMemoryException(GuestMemoryException.Reason.CROSSES_REGION, gpa, length);
            }
        }
        throw new GuestMemoryException(GuestMemoryException.Reason.NOT_RAM, gpa, length);
    }

    /**
     * @param gpa    guest-physical start.
     * @param length bytes, not negative.
     * @return true if one RAM region holds the whole range; never throws.
     */
    public boolean isRam(final long gpa, final long length)
    {
        if (length < 0 || (length > 0 && Long.compareUnsigned(gpa + length - 1, gpa) < 0))
        {
            return false;
        }
        final long[] bases = this.bases;
        final long[] sizes = this.sizes;
        for (int i = 0; i < bases.length; i++)
        {
            final long offset = gpa - bases[i];
            if (Long.compareUnsigned(offset, sizes[i]) < 0 || (length == 0 && offset == sizes[i]))
            {
                return Long.compareUnsigned(length, sizes[i] - offset) <= 0;
            }
        }
        return false;
    }

    /**
     * @param gpa guest-physical address.
     * @return true if a RAM region holds that byte.
     */
    public boolean isRam(final long gpa)
    {
        return isRam(gpa, 1);
    }

    /**
     * A bounds-checked view of a guest range; the FFM API checks every access made through it.
     *
     * @param gpa    guest-physical start.
     * @param length bytes.
     * @return a segment over exactly that range.
     * @throws GuestMemoryException if no single region holds the range.
     */
    public MemorySegment slice(final long gpa, final long length)
    {
        final int i = indexOf(gpa, length);
        return segments[i].asSlice(gpa - bases[i], length);
    }

    public byte getByte(final long gpa)
    {
        final int i = indexOf(gpa, Byte.BYTES);
        return segments[i].get(ValueLayout.JAVA_BYTE, gpa - bases[i]);
    }

    public void putByte(final long gpa, final byte value)
    {
        final int i = indexOf(gpa, Byte.BYTES);
        segments[i].set(ValueLayout.JAVA_BYTE, gpa - bases[i], value);
    }

    public short getShortLE(final long gpa)
    {
        final int i = indexOf(gpa, Short.BYTES);
        return segments[i].get(SHORT_LE, gpa - bases[i]);
    }

    public void putShortLE(final long gpa, final short value)
    {
        final int i = indexOf(gpa, Short.BYTES);
        segments[i].set(SHORT_LE, gpa - bases[i], value);
    }

    public int getIntLE(final long gpa)
    {
        final int i = indexOf(gpa, Integer.BYTES);
        return segments[i].get(INT_LE, gpa - bases[i]);
    }

    public void putIntLE(final long gpa, final int value)
    {
        final int i = indexOf(gpa, Integer.BYTES);
        segments[i].set(INT_LE, gpa - bases[i], value);
    }

    public long getLongLE(final long gpa)
    {
        final int i = indexOf(gpa, Long.BYTES);
        return segments[i].get(LONG_LE, gpa - bases[i]);
    }

    public void putLongLE(final long gpa, final long value)
    {
        final int i = indexOf(gpa, Long.BYTES);
        segments[i].set(LONG_LE, gpa - bases[i], value);
    }

    /** A load that later loads and stores may not move above (acquire). */
    public short getShortAcquireLE(final long gpa)
    {
        final short value = getShortLE(gpa);
        VarHandle.acquireFence();
        return value;
    }

    /** A store that earlier loads and stores may not move below (release). */
    public void putShortReleaseLE(final long gpa, final short value)
    {
        VarHandle.releaseFence();
        putShortLE(gpa, value);
    }

    /** A load that later loads and stores may not move above (acquire). */
    public int getIntAcquireLE(final long gpa)
    {
        final int value = getIntLE(gpa);
        VarHandle.acquireFence();
        return value;
    }

    /** A store that earlier loads and stores may not move below (release). */
    public void putIntReleaseLE(final long gpa, final int value)
    {
        VarHandle.releaseFence();
        putIntLE(gpa, value);
    }

    /** A load that later loads and stores may not move above (acquire). */
    public long getLongAcquireLE(final long gpa)
    {
        final long value = getLongLE(gpa);
        VarHandle.acquireFence();
        return value;
    }

    /** A store that earlier loads and stores may not move below (release). */
    public void putLongReleaseLE(final long gpa, final long value)
    {
        VarHandle.releaseFence();
        putLongLE(gpa, value);
    }

    /**
     * A full barrier: no load or store moves across it in either direction. Needed where a store must be visible
     * before a later load, such as publishing {@code used.idx} and then reading {@code avail_event}.
     */
    public static void fullFence()
    {
        VarHandle.fullFence();
    }

    /**
     * Reads a value of 1, 2, 4 or 8 bytes, zero-extended: the shape of an MMIO or DMA access of a given width.
     *
     * @param gpa  guest-physical address.
     * @param size 1, 2, 4 or 8.
     * @return the value, zero-extended to 64 bits.
     */
    public long getLE(final long gpa, final int size)
    {
        return switch (size)
        {
            case 1 -> getByte(gpa) & 0xFFL;
            case 2 -> getShortLE(gpa) & 0xFFFFL;
            case 4 -> getIntLE(gpa) & 0xFFFF_FFFFL;
            case 8 -> getLongLE(gpa);
            default -> throw new IllegalArgumentException("access size must be 1, 2, 4 or 8: size=" + size);
        };
    }

    /**
     * Writes the low {@code size} bytes of {@code value}.
     *
     * @param gpa   guest-physical address.
     * @param size  1, 2, 4 or 8.
     * @param value the value; bits above {@code 8 * size} are ignored.
     */
    public void putLE(final long gpa, final int size, final long value)
    {
        switch (size)
        {
            case 1 -> putByte(gpa, (byte)value);
            case 2 -> putShortLE(gpa, (short)value);
            case 4 -> putIntLE(gpa, (int)value);
            case 8 -> putLongLE(gpa, value);
            default -> throw new IllegalArgumentException("access size must be 1, 2, 4 or 8: size=" + size);
        }
    }

    /**
     * Copies guest bytes out to a heap array.
     *
     * @param gpa    guest-physical source.
     * @param dst    destination.
     * @param offset index in {@code dst}.
     * @param length bytes.
     */
    public void copyOut(final long gpa, final byte[] dst, final int offset, final int length)
    {
        final int i = indexOf(gpa, length);
        MemorySegment.copy(segments[i], ValueLayout.JAVA_BYTE, gpa - bases[i], dst, offset, length);
    }

    /**
     * Copies heap bytes into guest memory.
     *
     * @param gpa    guest-physical destination.
     * @param src    source.
     * @param offset index in {@code src}.
     * @param length bytes.
     */
    public void copyIn(final long gpa, final byte[] src, final int offset, final int length)
    {
        final int i = indexOf(gpa, length);
        MemorySegment.copy(src, offset, segments[i], ValueLayout.JAVA_BYTE, gpa - bases[i], length);
    }

    /**
     * Copies guest bytes out to any segment (native, heap or another guest's memory).
     *
     * @param gpa       guest-physical source.
     * @param dst       destination segment.
     * @param dstOffset offset in {@code dst}.
     * @param length    bytes.
     */
    public void copyOut(final long gpa, final MemorySegment dst, final long dstOffset, final long length)
    {
        final int i = indexOf(gpa, length);
        MemorySegment.copy(segments[i], gpa - bases[i], dst, dstOffset, length);
    }

    /**
     * Copies bytes from any segment into guest memory.
     *
     * @param gpa       guest-physical destination.
     * @param src       source segment.
     * @param srcOffset offset in {@code src}.
     * @param length    bytes.
     */
    public void copyIn(final long gpa, final MemorySegment src, final long srcOffset, final long length)
    {
        final int i = indexOf(gpa, length);
        MemorySegment.copy(src, srcOffset, segments[i], gpa - bases[i], length);
    }

    /**
     * Copies between two guest ranges (they may overlap).
     *
     * @param dstGpa guest-physical destination.
     * @param srcGpa guest-physical source.
     * @param length bytes.
     */
    public void copyWithin(final long dstGpa, final long srcGpa, final long length)
    {
        final int s = indexOf(srcGpa, length);
        final int d = indexOf(dstGpa, length);
        MemorySegment.copy(segments[s], srcGpa - bases[s], segments[d], dstGpa - bases[d], length);
    }

    /**
     * Sets a guest range to one byte value.
     *
     * @param gpa    guest-physical start.
     * @param length bytes.
     * @param value  the byte.
     */
    public void fill(final long gpa, final long length, final byte value)
    {
        final int i = indexOf(gpa, length);
        segments[i].asSlice(gpa - bases[i], length).fill(value);
    }

    /** Unmaps every region. */
    @Override
    public void close()
    {
        for (final GuestRegion region : regions)
        {
            region.close();
        }
    }
}
