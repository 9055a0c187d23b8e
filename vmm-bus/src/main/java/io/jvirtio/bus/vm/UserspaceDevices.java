package io.jvirtio.bus.vm;

import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The VMM's map of userspace device ranges for one address space (MMIO or port I/O): non-overlapping
 * {@code [base, base + length)} ranges, each served by one {@link UserspaceDevice}.
 * <p>
 * Like the KVM buses, the map is an immutable sorted array replaced copy-on-write by writers (under this object's
 * lock) and read by vCPU threads with one volatile load and a binary search: no lock and no allocation on dispatch.
 * An access that no range holds is "unassigned": reads return all ones, writes are dropped, both counted, as on a
 * PC bus with nothing decoding the address.
 * <p>
 * Thread safety: {@link #read} and {@link #write} on vCPU threads, concurrently; {@link #register} and the
 * {@link Registration#close()} it returns from any thread.
 */
public final class UserspaceDevices
{
    private static final Entry[] EMPTY = new Entry[0];

    private volatile Entry[] entries = EMPTY;
    private final AtomicLong unassignedReads = new AtomicLong();
    private final AtomicLong unassignedWrites = new AtomicLong();
    private final String space;

    /**
     * @param space a name for messages, e.g. "mmio" or "pio".
     */
    public UserspaceDevices(final String space)
    {
        this.space = space;
    }

    /** One registered range. */
    private record Entry(long base, long length, UserspaceDevice device)
    {
        long last()
        {
            return base + length - 1;
        }
    }

    /** A registered range; closing it removes the range. */
    public interface Registration extends AutoCloseable
    {
        /** Removes the range; accesses that start after this returns are no longer dispatched to the device. */
        @Override
        void close();
    }

    /**
     * Adds a range.
     *
     * @param base   first address (guest-physical address or port).
     * @param length bytes, at least 1; the range may not wrap 2^64.
     * @param device the device model.
     * @return the registration, to close when the device goes away.
     * @throws IllegalArgumentException if the range is empty, wraps, or overlaps a registered one.
     */
    public synchronized Registration register(final long base, final long length, final UserspaceDevice device)
    {
        if (length <= 0 || Long.compareUnsigned(base + length - 1, base) < 0)
        {
            throw new IllegalArgumentException("bad " + space + " range: base=0x" + Long.toHexString(base)
                + ", length=" + length);
        }
        final Entry added = new Entry(base, length, device);
        final Entry[] old = entries;
        int insert = 0;
        // bound: one pass over the registered ranges
        for (final Entry e : old)
        {
            if (Long.compareUnsigned(e.base, added.last()) <= 0 && Long.compareUnsigned(added.base, e.last()) <= 0)
            {
                throw new IllegalArgumentException("overlapping " + space + " range: base=0x"
                    + Long.toHexString(base) + ", length=" + length + ", existing=0x" + Long.toHexString(e.base)
                    + "+" + e.length);
            }
            if (Long.compareUnsigned(e.base, base) < 0)
            {
                insert++;
            }
        }
        final Entry[] next = new Entry[old.length + 1];
        System.arraycopy(old, 0, next, 0, insert);
        next[insert] = added;
        System.arraycopy(old, insert, next, insert + 1, old.length - insert);
        entries = next;
        return () -> remove(added);
    }

    /**
     * Adds an MMIO range, refusing one that overlaps guest RAM (an access there never exits).
     *
     * @param ram    the VM's RAM.
     * @param base   first guest-physical address.
     * @param length bytes.
     * @param device the device model.
     * @return the registration.
     * @throws IllegalArgumentException if the range overlaps RAM, wraps, is empty, or overlaps a registered range.
     */
    public Registration registerMmio(final GuestMemory ram, final long base, final long length,
        final UserspaceDevice device)
    {
        // bound: one pass over the RAM regions
        for (final GuestRegion region : ram.regions())
        {
            if (length > 0 && Long.compareUnsigned(base, region.lastAddress()) <= 0
                && Long.compareUnsigned(region.guestBase(), base + length - 1) <= 0)
            {
                throw new IllegalArgumentException("mmio range overlaps ram: base=0x" + Long.toHexString(base)
                    + ", length=" + length + ", region=" + region);
            }
        }
        return register(base, length, device);
    }

    /**
     * Adds a port range within the 64 KiB x86 port space.
     *
     * @return the registration.
     * @throws IllegalArgumentException if the range leaves 0-0xffff or overlaps a registered range.
     */
    public Registration registerPorts(final int port, final int length, final UserspaceDevice device)
    {
        if (port < 0 || length <= 0 || port + length > 0x10000)
        {
            throw new IllegalArgumentException("port range outside 0-0xffff: port=0x" + Integer.toHexString(port)
                + ", length=" + length);
        }
        return register(port, length, device);
    }

    private synchronized void remove(final Entry entry)
    {
        final Entry[] old = entries;
        for (int i = 0; i < old.length; i++)
        {
            if (old[i] == entry)
            {
                final Entry[] next = Arrays.copyOf(old, old.length - 1);
                System.arraycopy(old, i + 1, next, i, old.length - i - 1);
                entries = next;
                return;
            }
        }
    }

    /** @return the index of the range holding {@code addr}, or -1. */
    private static int find(final Entry[] entries, final long addr)
    {
        int lo = 0;
        int hi = entries.length - 1;
        // bound: binary search, log2(ranges) steps
        while (lo <= hi)
        {
            final int mid = (lo + hi) >>> 1;
            final Entry e = entries[mid];
            if (Long.compareUnsigned(addr, e.base) < 0)
            {
                hi = mid - 1;
            }
            else if (Long.compareUnsigned(addr, e.last()) > 0)
            {
                lo = mid + 1;
            }
            else
            {
                return mid;
            }
        }
        return -1;
    }

    /**
     * @param addr an address.
     * @return true if a range holds {@code addr}.
     */
    public boolean isAssigned(final long addr)
    {
        return find(entries, addr) >= 0;
    }

    /**
     * Dispatches a store to the device whose range holds {@code addr}.
     *
     * @return true if a device took it; false if the address is unassigned (the write was dropped and counted).
     */
    public boolean write(final long addr, final int size, final long value)
    {
        final Entry[] current = entries;
        final int i = find(current, addr);
        if (i < 0)
        {
            unassignedWrites.getAndIncrement();
            return false;
        }
        final Entry e = current[i];
        e.device.write(addr - e.base, size, value);
        return true;
    }

    /**
     * Dispatches a load to the device whose range holds {@code addr}.
     *
     * @return the value, or all ones in the low {@code 8 * size} bits if the address is unassigned (counted).
     */
    public long read(final long addr, final int size)
    {
        final Entry[] current = entries;
        final int i = find(current, addr);
        if (i < 0)
        {
            unassignedReads.getAndIncrement();
            return size >= Long.BYTES ? -1L : (1L << (size * 8)) - 1;
        }
        final Entry e = current[i];
        return e.device.read(addr - e.base, size);
    }

    /** @return loads from addresses no range holds, answered with all ones. */
    public long unassignedReads()
    {
        return unassignedReads.get();
    }

    /** @return stores to addresses no range holds, dropped. */
    public long unassignedWrites()
    {
        return unassignedWrites.get();
    }

    /** @return how many ranges are registered. */
    public int size()
    {
        return entries.length;
    }
}
