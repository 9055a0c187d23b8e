package io.jvirtio.bus.kvm;

import io.jvirtio.bus.linux.Libc;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One VM's four I/O buses, {@code kvm->buses[]} with the bus code of {@code virt/kvm/kvm_main.c}
 * (virt/kvm/kvm_main.c).
 * <p>
 * Each bus is an immutable array of {@code (addr, len, dev)} sorted by KVM's comparator. Writers copy it, insert or
 * remove one entry and publish the copy, all under the VM's one bus lock (the {@code slots_lock} analogue, shared
 * with {@link IoEventFds}); readers take the current array with one volatile load inside a read-side critical
 * section and never lock or wait. Unregister waits for a grace period before it lets the device go, so after it
 * returns no vCPU calls the device again.
 * <p>
 * Dispatch ({@link #write}, {@link #read}): binary search to the first entry that matches, then each matching device
 * in sorted order until one takes the access. The result is {@link #HANDLED}, {@link #NOT_HANDLED} (exit to
 * userspace) or {@link #BUS_REMOVED}; guest-controlled values never throw here.
 * <p>
 * {@snippet :
 * IoBuses buses = new IoBuses(KvmCompat.CURRENT);
 * IoEventFds ioeventfds = new IoEventFds(buses);
 * ioeventfds.assign(new KvmIoEventFd(0, notifyGpa, 0, kick, 0));     // wildcard, length 0: MMIO and FAST_MMIO
 * if (buses.write(Bus.FAST_MMIO, notifyGpa, 0, 0) == IoBuses.HANDLED)
 * {
 *     // the vCPU skips the instruction: the kick eventfd was signalled
 * }
 * }
 * <p>
 * Thread safety: {@link #write} and {@link #read} on vCPU threads, concurrently, lock-free and allocation-free;
 * every other method from any thread (they serialise on the bus lock). Devices' methods must not call
 * {@link #unregister} (see {@link IoDevice}).
 */
public final class IoBuses implements AutoCloseable
{
    /** {@code NR_IOBUS_DEVS}: devices per bus, ioeventfds not counted (virt/kvm/kvm_main.c). */
    public static final int NR_IOBUS_DEVS = 1000;
    /** A device on the bus took the access. */
    public static final int HANDLED = 0;
    /** {@code -EOPNOTSUPP}: no device took the access; the access goes to userspace. */
    public static final int NOT_HANDLED = -Libc.EOPNOTSUPP;
    /** {@code -ENOMEM}: the bus was removed after a failed unregister (or the buses were closed). */
    public static final int BUS_REMOVED = -Libc.ENOMEM;

    private static final int BUS_COUNT = Bus.values().length;

    private final KvmCompat compat;
    private final boolean exactZeroLength;
    private final ReentrantLock slotsLock = new ReentrantLock();
    private final Srcu srcu = new Srcu();
    private final AtomicReferenceArray<KvmIoBus> buses = new AtomicReferenceArray<>(BUS_COUNT);
    /** {@code bus->ioeventfd_count}, guarded by {@link #slotsLock}. */
    private final int[] ioeventfdCounts = new int[BUS_COUNT];
    private final AtomicLong removedBusAccesses = new AtomicLong();
    /** Fault injection, guarded by {@link #slotsLock}. */
    private boolean failNextShrink;

    /**
     * @param compat which KVM to behave like; fixed for the life of the VM.
     */
    public IoBuses(final KvmCompat compat)
    {
        this.compat = compat;
        this.exactZeroLength = compat.zeroLengthEntryMatchesExactAddress();
        for (int i = 0; i < BUS_COUNT; i++)
        {
            buses.set(i, KvmIoBus.EMPTY);
        }
    }

    /** @return the KVM behaviour chosen at creation. */
    public KvmCompat compat()
    {
        return compat;
    }

    /**
     * {@code kvm_io_bus_write}: offers a guest store to the devices on {@code bus}.
     *
     * @param bus   the bus the exit selects: {@link Bus#FAST_MMIO} with {@code len == 0} for an EPT misconfig,
     *              {@link Bus#MMIO} for an emulated store, {@link Bus#PIO} for OUT.
     * @param addr  guest-physical address or port.
     * @param len   access width in bytes (0 on the fast bus).
     * @param value the stored bytes, little-endian in the low {@code 8 * len} bits.
     * @return {@link #HANDLED}, {@link #NOT_HANDLED} or {@link #BUS_REMOVED}.
     */
    public int write(final Bus bus, final long addr, final int len, final long value)
    {
        final KvmIoBus snapshot = buses.get(bus.ordinal());
        if (snapshot != null && snapshot.devCount() == 0)
        {
            // Nothing to call, so no device to keep alive: skip the read-side critical section. An access racing
            // with a registration is unordered with it in KVM too.
            return NOT_HANDLED;
        }
        final int token = srcu.readLock();
        try
        {
            final KvmIoBus current = buses.get(bus.ordinal());
            if (current == null)
            {
                removedBusAccesses.getAndIncrement();
                return BUS_REMOVED;
            }
            return current.write(exactZeroLength, addr, len, value) >= 0 ? HANDLED : NOT_HANDLED;
        }
        finally
        {
            srcu.readUnlock(token);
        }
    }

    /**
     * {@code kvm_io_bus_read}: offers a guest load to the devices on {@code bus}. ioeventfds never take reads.
     *
     * @param value the caller's holder, set only when the result is {@link #HANDLED}.
     * @return {@link #HANDLED}, {@link #NOT_HANDLED} or {@link #BUS_REMOVED}.
     */
    public int read(final Bus bus, final long addr, final int len, final IoValue value)
    {
        final KvmIoBus snapshot = buses.get(bus.ordinal());
        if (snapshot != null && snapshot.devCount() == 0)
        {
            return NOT_HANDLED;
        }
        final int token = srcu.readLock();
        try
        {
            final KvmIoBus current = buses.get(bus.ordinal());
            if (current == null)
            {
                removedBusAccesses.getAndIncrement();
                return BUS_REMOVED;
            }
            return current.read(exactZeroLength, addr, len, value) >= 0 ? HANDLED : NOT_HANDLED;
        }
        finally
        {
            srcu.readUnlock(token);
        }
    }

    /**
     * {@code kvm_io_bus_register_dev}: adds {@code dev} for {@code [addr, addr + len)} ({@code len == 0}: exactly
     * {@code addr}), after any entries that compare equal. The same device may be registered more than once.
     *
     * @throws KvmException ENOSPC if the bus already holds {@link #NR_IOBUS_DEVS} devices that are not ioeventfds,
     *                      ENOMEM if the bus was removed.
     */
    public void register(final Bus bus, final long addr, final int len, final IoDevice dev)
    {
        if (len < 0 || dev == null)
        {
            throw new IllegalArgumentException("bus device needs a length >= 0 and a device: len=" + len);
        }
        slotsLock.lock();
        try
        {
            final int index = bus.ordinal();
            final KvmIoBus current = buses.get(index);
            if (current == null)
            {
                throw new KvmException(
                    Errno.ENOMEM, "bus was removed after a failed unregister", where(bus, addr, len));
            }
            // the limit is checked before the new entry counts, and the caller counts an ioeventfd only afterwards
            if (current.devCount() - ioeventfdCounts[index] > NR_IOBUS_DEVS - 1)
            {
                throw new KvmException(Errno.ENOSPC, "bus is full", where(bus, addr, len) + ", limit=" + NR_IOBUS_DEVS);
            }
            buses.set(index, current.withDevice(exactZeroLength, addr, len, dev));
        }
        finally
        {
            slotsLock.unlock();
        }
    }

    /**
     * {@code kvm_io_bus_unregister_dev}: removes the first entry whose device is {@code dev} (by identity), waits
     * until no vCPU can still be calling it, then (in {@link KvmCompat#CURRENT}) runs its
     * {@link IoDevice#destructor()}. A device that is not on the bus, or a removed bus, is silently ignored.
     *
     * @throws KvmException ENOMEM if the smaller copy could not be made (see {@link #injectShrinkFailure()}): the
     *                      whole bus was then removed and every device on it destroyed.
     */
    public void unregister(final Bus bus, final IoDevice dev)
    {
        if (!unregisterDev(bus, dev))
        {
            throw new KvmException(Errno.ENOMEM, "failed to shrink bus, removed it completely", "bus=" + bus);
        }
    }

    /**
     * Fault injection for the failure path of {@code kvm_io_bus_unregister_dev}: the next unregister on any bus
     * fails to allocate its smaller copy, as a failed {@code kmalloc} would. The bus is then replaced by nothing,
     * every device on it is destroyed after the grace period, and from then on accesses get {@link #BUS_REMOVED}
     * and registrations ENOMEM.
     * This is the behaviour since 2017 in both compatibility modes.
     */
    public void injectShrinkFailure()
    {
        slotsLock.lock();
        try
        {
            failNextShrink = true;
        }
        finally
        {
            slotsLock.unlock();
        }
    }

    /** @return true unless the bus was removed (a failed unregister, or {@link #close()}). */
    public boolean isPresent(final Bus bus)
    {
        return buses.get(bus.ordinal()) != null;
    }

    /** @return {@code dev_count}: every entry on the bus, ioeventfds included; 0 for a removed bus. */
    public int deviceCount(final Bus bus)
    {
        final KvmIoBus current = buses.get(bus.ordinal());
        return current == null ? 0 : current.devCount();
    }

    /** @return {@code ioeventfd_count}: the entries that do not count toward {@link #NR_IOBUS_DEVS}. */
    public int ioeventfdCount(final Bus bus)
    {
        slotsLock.lock();
        try
        {
            return ioeventfdCounts[bus.ordinal()];
        }
        finally
        {
            slotsLock.unlock();
        }
    }

    /** @return accesses that found their bus removed and got {@link #BUS_REMOVED}. */
    public long removedBusAccesses()
    {
        return removedBusAccesses.get();
    }

    /**
     * {@code kvm_io_bus_destroy} for every bus at VM teardown: removes all four buses, waits for the vCPUs to leave
     * them, then runs {@link IoDevice#destructor()} once per entry, so a device registered on two buses is destroyed
     * twice (the double free of eefd6b06). Idempotent.
     */
    @Override
    public void close()
    {
        slotsLock.lock();
        try
        {
            final KvmIoBus[] old = new KvmIoBus[BUS_COUNT];
            for (int i = 0; i < BUS_COUNT; i++)
            {
                old[i] = buses.getAndSet(i, null);
                ioeventfdCounts[i] = 0;
            }
            srcu.synchronize();
            for (final KvmIoBus bus : old)
            {
                destroy(bus);
            }
        }
        finally
        {
            slotsLock.unlock();
        }
    }

    /**
     * The body of {@code kvm_io_bus_unregister_dev}; the caller may hold the bus lock.
     *
     * @return false only when the bus had to be removed ({@code -ENOMEM}); true otherwise, found or not.
     */
    boolean unregisterDev(final Bus bus, final IoDevice dev)
    {
        slotsLock.lock();
        try
        {
            final int index = bus.ordinal();
            final KvmIoBus current = buses.get(index);
            if (current == null)
            {
                return true;
            }
            final int at = current.indexOf(dev);
            if (at < 0)
            {
                return true;
            }
            final boolean shrinkFails = failNextShrink;
            failNextShrink = false;
            buses.set(index, shrinkFails ? null : current.without(at));
            srcu.synchronize();
            if (shrinkFails)
            {
                ioeventfdCounts[index] = 0;
                destroy(current);
                return false;
            }
            if (compat.unregisterRunsDestructor())
            {
                dev.destructor();
            }
            return true;
        }
        finally
        {
            slotsLock.unlock();
        }
    }

    /** {@code bus->ioeventfd_count += delta} if the bus exists (it is NULL-checked in the kernel too). */
    void addIoeventfdCount(final Bus bus, final int delta)
    {
        if (buses.get(bus.ordinal()) != null)
        {
            ioeventfdCounts[bus.ordinal()] += delta;
        }
    }

    /** @return the VM's bus lock, {@code kvm->slots_lock}. */
    ReentrantLock slotsLock()
    {
        return slotsLock;
    }

    private static void destroy(final KvmIoBus bus)
    {
        if (bus == null)
        {
            return;
        }
        // bound: one pass over a fixed version of at most NR_IOBUS_DEVS plus the ioeventfds
        for (int i = 0; i < bus.devCount(); i++)
        {
            bus.dev(i).destructor();
        }
    }

    private static String where(final Bus bus, final long addr, final int len)
    {
        return "bus=" + bus + ", addr=0x" + Long.toHexString(addr) + ", len=" + len;
    }
}
