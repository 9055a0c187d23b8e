package io.jvirtio.bus.kvm;

/**
 * One immutable version of an I/O bus, {@code struct kvm_io_bus}: the ranges {@code (addr, len, dev)} sorted by KVM's
 * comparator. Writers build a new version and publish it; readers walk whichever version they loaded
 * (virt/kvm/kvm_main.c).
 * <p>
 * Thread safety: immutable after construction; any thread.
 */
final class KvmIoBus
{
    static final KvmIoBus EMPTY = new KvmIoBus(new long[0], new int[0], new IoDevice[0]);

    private final long[] addrs;
    private final int[] lens;
    private final IoDevice[] devs;

    private KvmIoBus(final long[] addrs, final int[] lens, final IoDevice[] devs)
    {
        this.addrs = addrs;
        this.lens = lens;
        this.devs = devs;
    }

    /**
     * {@code kvm_io_bus_cmp(key, entry)}, asymmetric as in the kernel: 0 means the key lies within the entry, or, for
     * a length-0 entry under the current comparator, starts at exactly the entry's address whatever its length.
     * The pre-2015 comparator ({@code exactZeroLength == false}) compares end addresses for length-0 entries too, so
     * a key with a length never finds them (virt/kvm/kvm_main.c). Addresses compare unsigned and sums wrap as
     * {@code gpa_t} does.
     *
     * @param exactZeroLength true for the comparator since "kvm: fix zero length mmio searching" (2015).
     * @return -1, 0 or 1.
     */
    static int cmp(
        final boolean exactZeroLength, final long keyAddr, final int keyLen, final long entryAddr, final int entryLen)
    {
        if (Long.compareUnsigned(keyAddr, entryAddr) < 0)
        {
            return -1;
        }
        long keyEnd = keyAddr;
        long entryEnd = entryAddr;
        if (entryLen != 0 || !exactZeroLength)
        {
            keyEnd += keyLen;
            entryEnd += entryLen;
        }
        return Long.compareUnsigned(keyEnd, entryEnd) > 0 ? 1 : 0;
    }

    int devCount()
    {
        return devs.length;
    }

    long addr(final int index)
    {
        return addrs[index];
    }

    int len(final int index)
    {
        return lens[index];
    }

    IoDevice dev(final int index)
    {
        return devs[index];
    }

    /**
     * {@code kvm_io_bus_get_first_dev}: the kernel's binary search ({@code lib/bsearch.c}) for any entry that
     * compares 0 with the key, then a walk back while the previous entry also compares 0.
     *
     * @return the index of the first matching entry, or -1 ({@code -ENOENT}).
     */
    int firstDev(final boolean exactZeroLength, final long addr, final int len)
    {
        int base = 0;
        int num = devs.length;
        int found = -1;
        // bound: halves num on every pass, at most 32 passes
        while (num > 0)
        {
            final int pivot = base + (num >> 1);
            final int result = cmp(exactZeroLength, addr, len, addrs[pivot], lens[pivot]);
            if (result == 0)
            {
                found = pivot;
                break;
            }
            if (result > 0)
            {
                base = pivot + 1;
                num--;
            }
            num >>= 1;
        }
        // bound: walks back at most to index 0
        while (found > 0 && cmp(exactZeroLength, addr, len, addrs[found - 1], lens[found - 1]) == 0)
        {
            found--;
        }
        return found;
    }

    /**
     * {@code __kvm_io_bus_write}: each matching device in sorted order until one takes the write.
     *
     * @return the index of the device that took it, or -1 if none did.
     */
    int write(final boolean exactZeroLength, final long addr, final int len, final long value)
    {
        final long[] addrs = this.addrs;
        final int[] lens = this.lens;
        final IoDevice[] devs = this.devs;
        int index = firstDev(exactZeroLength, addr, len);
        if (index < 0)
        {
            return -1;
        }
        // bound: at most every entry of this fixed-size version once
        while (index < devs.length && cmp(exactZeroLength, addr, len, addrs[index], lens[index]) == 0)
        {
            if (devs[index].write(addr, len, value))
            {
                return index;
            }
            index++;
        }
        return -1;
    }

    /**
     * {@code __kvm_io_bus_read}: as {@link #write} for loads.
     *
     * @return the index of the device that took it, or -1 if none did.
     */
    int read(final boolean exactZeroLength, final long addr, final int len, final IoValue value)
    {
        final long[] addrs = this.addrs;
        final int[] lens = this.lens;
        final IoDevice[] devs = this.devs;
        int index = firstDev(exactZeroLength, addr, len);
        if (index < 0)
        {
            return -1;
        }
        // bound: at most every entry of this fixed-size version once
        while (index < devs.length && cmp(exactZeroLength, addr, len, addrs[index], lens[index]) == 0)
        {
            if (devs[index].read(addr, len, value))
            {
                return index;
            }
            index++;
        }
        return -1;
    }

    /**
     * The copy {@code kvm_io_bus_register_dev} publishes: the new range goes before the first entry that compares
     * greater than it, which keeps equal entries in registration order (virt/kvm/kvm_main.c).
     */
    KvmIoBus withDevice(final boolean exactZeroLength, final long addr, final int len, final IoDevice dev)
    {
        final int count = devs.length;
        int at = 0;
        // bound: one pass over this version
        while (at < count && cmp(exactZeroLength, addrs[at], lens[at], addr, len) <= 0)
        {
            at++;
        }
        final long[] newAddrs = new long[count + 1];
        final int[] newLens = new int[count + 1];
        final IoDevice[] newDevs = new IoDevice[count + 1];
        System.arraycopy(addrs, 0, newAddrs, 0, at);
        System.arraycopy(lens, 0, newLens, 0, at);
        System.arraycopy(devs, 0, newDevs, 0, at);
        newAddrs[at] = addr;
        newLens[at] = len;
        newDevs[at] = dev;
        System.arraycopy(addrs, at, newAddrs, at + 1, count - at);
        System.arraycopy(lens, at, newLens, at + 1, count - at);
        System.arraycopy(devs, at, newDevs, at + 1, count - at);
        return new KvmIoBus(newAddrs, newLens, newDevs);
    }

    /**
     * @return the index of {@code dev} by identity, as {@code kvm_io_bus_unregister_dev} finds it, or -1.
     */
    int indexOf(final IoDevice dev)
    {
        // bound: one pass over this version
        for (int i = 0; i < devs.length; i++)
        {
            if (devs[i] == dev)
            {
                return i;
            }
        }
        return -1;
    }

    /** @return the copy without entry {@code index}. */
    KvmIoBus without(final int index)
    {
        final int count = devs.length - 1;
        final long[] newAddrs = new long[count];
        final int[] newLens = new int[count];
        final IoDevice[] newDevs = new IoDevice[count];
        System.arraycopy(addrs, 0, newAddrs, 0, index);
        System.arraycopy(lens, 0, newLens, 0, index);
        System.arraycopy(devs, 0, newDevs, 0, index);
        System.arraycopy(addrs, index + 1, newAddrs, index, count - index);
        System.arraycopy(lens, index + 1, newLens, index, count - index);
        System.arraycopy(devs, index + 1, newDevs, index, count - index);
        return new KvmIoBus(newAddrs, newLens, newDevs);
    }
}
