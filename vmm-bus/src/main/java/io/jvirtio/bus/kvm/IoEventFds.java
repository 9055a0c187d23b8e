package io.jvirtio.bus.kvm;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One VM's ioeventfds: {@code KVM_IOEVENTFD} assign and deassign as {@code virt/kvm/eventfd.c} does them, with the
 * per-VM list {@code kvm->ioeventfds} that collisions are checked against (virt/kvm/eventfd.c).
 * <p>
 * Assign validates in KVM's order (length, address wrap, flag mask, length 0 with DATAMATCH, then the eventfd, the
 * collision and the bus limit) and fails with a {@link KvmException} naming KVM's errno. A length-0 MMIO ioeventfd
 * also gets a second, separate object on {@link Bus#FAST_MMIO}. Deassign needs the exact request of the assign and
 * validates nothing but the eventfd: anything else that matches no ioeventfd is ENOENT. In
 * {@link KvmCompat#LINUX_3_16} the 2014 behaviour applies instead (see {@link KvmCompat}).
 * <p>
 * An eventfd is a usable argument unless it is null or, for assign, already closed (the analogue of a descriptor
 * that is not an open eventfd: EBADF). A closed eventfd can still be deassigned.
 * <p>
 * Thread safety: any thread; every method serialises on the VM's bus lock. Deassign returns only after no vCPU can
 * signal the removed ioeventfd any more.
 */
public final class IoEventFds
{
    private final IoBuses buses;
    private final KvmCompat compat;
    private final ReentrantLock slotsLock;
    /** {@code kvm->ioeventfds}, in assign order; guarded by {@link #slotsLock}. */
    private final List<IoEventFd> ioeventfds = new ArrayList<>();
    private long releases;
    private long doubleReleases;

    /**
     * @param buses the VM's buses; one {@code IoEventFds} per VM.
     */
    public IoEventFds(final IoBuses buses)
    {
        this.buses = buses;
        this.compat = buses.compat();
        this.slotsLock = buses.slotsLock();
    }

    /**
     * {@code kvm_ioeventfd}: deassigns if {@link KvmIoEventFd#KVM_IOEVENTFD_FLAG_DEASSIGN} is set, else assigns.
     *
     * @throws KvmException as {@link #assign} or {@link #deassign}.
     */
    public void ioeventfd(final KvmIoEventFd args)
    {
        if ((args.flags() & KvmIoEventFd.KVM_IOEVENTFD_FLAG_DEASSIGN) != 0)
        {
            deassign(args);
        }
        else
        {
            assign(args);
        }
    }

    /**
     * {@code kvm_assign_ioeventfd}.
     *
     * @throws KvmException EINVAL for a length other than 0/1/2/4/8, an address range that wraps, an unknown flag,
     *                      or length 0 with DATAMATCH (or, 3.16, with PIO); EBADF for a null or closed eventfd;
     *                      EEXIST for a collision; ENOSPC if the bus is full; ENOMEM if the bus was removed.
     */
    public void assign(final KvmIoEventFd args)
    {
        final Bus bus = args.bus();
        final int len = args.len();
        final int flags = args.flags();
        if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8)
        {
            throw refused(Errno.EINVAL, "ioeventfd length must be 0, 1, 2, 4 or 8", args);
        }
        if (Long.compareUnsigned(args.addr() + len, args.addr()) < 0)
        {
            throw refused(Errno.EINVAL, "ioeventfd address range wraps", args);
        }
        if ((flags & ~KvmIoEventFd.KVM_IOEVENTFD_VALID_FLAG_MASK) != 0)
        {
            throw refused(Errno.EINVAL, "ioeventfd has unknown flags", args);
        }
        if (len == 0 && !args.wildcard())
        {
            throw refused(Errno.EINVAL, "ioeventfd with length 0 cannot match data", args);
        }
        if (len == 0 && bus == Bus.PIO && compat.refusesZeroLengthPio())
        {
            throw refused(Errno.EINVAL, "port ioeventfd with length 0 needs KVM_CAP_IOEVENTFD_ANY_LENGTH", args);
        }
        final boolean fast = compat.wantsFastBus(bus, len);
        if (compat.separateFastTwin())
        {
            assignIdx(bus, args, false);
            if (fast)
            {
                try
                {
                    assignIdx(Bus.FAST_MMIO, args, false);
                }
                catch (final KvmException e)
                {
                    deassignIdx(bus, args);
                    throw e;
                }
            }
        }
        else
        {
            assignIdx(bus, args, fast);
        }
    }

    /**
     * {@code kvm_deassign_ioeventfd}: removes the first ioeventfd, in assign order, with the same bus, eventfd,
     * address, length and wildcard-ness (and datamatch, if not wildcard). For length-0 MMIO it also removes the
     * fast-bus twin and ignores that result.
     *
     * @throws KvmException EBADF for a null eventfd; ENOENT if nothing matches, which is also what an invalid
     *                      length or flag gives.
     */
    public void deassign(final KvmIoEventFd args)
    {
        final Bus bus = args.bus();
        if (args.eventFd() == null)
        {
            throw refused(Errno.EBADF, "ioeventfd needs an eventfd", args);
        }
        final boolean found;
        if (compat.separateFastTwin())
        {
            found = deassignIdx(bus, args);
            if (compat.wantsFastBus(bus, args.len()))
            {
                deassignIdx(Bus.FAST_MMIO, args);
            }
        }
        else
        {
            found = deassignLinux316(bus, args);
        }
        if (!found)
        {
            throw refused(Errno.ENOENT, "no ioeventfd matches", args);
        }
    }

    /** @return the number of ioeventfd objects in {@code kvm->ioeventfds} (a length-0 MMIO one counts twice). */
    public int size()
    {
        slotsLock.lock();
        try
        {
            return ioeventfds.size();
        }
        finally
        {
            slotsLock.unlock();
        }
    }

    /** @return how often {@code ioeventfd_release} ran, on any object. */
    public long releases()
    {
        slotsLock.lock();
        try
        {
            return releases;
        }
        finally
        {
            slotsLock.unlock();
        }
    }

    /**
     * @return releases of an object that was already released: the double free of eefd6b06, which only
     *         {@link KvmCompat#LINUX_3_16} commits.
     */
    public long doubleReleases()
    {
        slotsLock.lock();
        try
        {
            return doubleReleases;
        }
        finally
        {
            slotsLock.unlock();
        }
    }

    /**
     * {@code kvm_assign_ioeventfd_idx}; {@code alsoFast} is the 3.16 path that registers the same object on the fast
     * bus too.
     */
    private void assignIdx(final Bus bus, final KvmIoEventFd args, final boolean alsoFast)
    {
        if (args.eventFd() == null || args.eventFd().isClosed())
        {
            throw refused(Errno.EBADF, "ioeventfd needs an open eventfd", args);
        }
        final IoEventFd p = new IoEventFd(this, bus, args);
        slotsLock.lock();
        try
        {
            if (collides(p))
            {
                throw refused(Errno.EEXIST, "ioeventfd collides with one already assigned", args);
            }
            buses.register(bus, p.addr, p.length, p);
            if (alsoFast)
            {
                try
                {
                    buses.register(Bus.FAST_MMIO, p.addr, 0, p);
                }
                catch (final KvmException e)
                {
                    buses.unregisterDev(bus, p);
                    throw e;
                }
            }
            buses.addIoeventfdCount(bus, 1);
            ioeventfds.add(p);
        }
        finally
        {
            slotsLock.unlock();
        }
    }

    /**
     * {@code kvm_deassign_ioeventfd_idx} since 2015; the bus's unregister runs the destructor, which releases.
     *
     * @return true if an ioeventfd matched.
     */
    private boolean deassignIdx(final Bus bus, final KvmIoEventFd args)
    {
        slotsLock.lock();
        try
        {
            final IoEventFd p = find(bus, args);
            if (p == null)
            {
                return false;
            }
            buses.unregisterDev(bus, p);
            buses.addIoeventfdCount(bus, -1);
            return true;
        }
        finally
        {
            slotsLock.unlock();
        }
    }

    /**
     * The 3.16 {@code kvm_deassign_ioeventfd}: unregister from the bus, and from the fast bus for every length-0
     * entry that is not PIO, then release the one object.
     *
     * @return true if an ioeventfd matched.
     */
    private boolean deassignLinux316(final Bus bus, final KvmIoEventFd args)
    {
        slotsLock.lock();
        try
        {
            final IoEventFd p = find(bus, args);
            if (p == null)
            {
                return false;
            }
            buses.unregisterDev(bus, p);
            if (compat.wantsFastBus(bus, p.length))
            {
                buses.unregisterDev(Bus.FAST_MMIO, p);
            }
            buses.addIoeventfdCount(bus, -1);
            release(p);
            return true;
        }
        finally
        {
            slotsLock.unlock();
        }
    }

    /** The first entry in list order that deassign matches; caller holds the bus lock. */
    private IoEventFd find(final Bus bus, final KvmIoEventFd args)
    {
        final boolean wildcard = args.wildcard();
        // bound: one pass over the VM's ioeventfd list
        for (int i = 0; i < ioeventfds.size(); i++)
        {
            final IoEventFd p = ioeventfds.get(i);
            if (p.bus != bus || p.eventFd != args.eventFd() || p.addr != args.addr() || p.length != args.len() ||
                p.wildcard != wildcard)
            {
                continue;
            }
            if (!p.wildcard && p.datamatch != args.datamatch())
            {
                continue;
            }
            return p;
        }
        return null;
    }

    /**
     * {@code ioeventfd_check_collision}: same bus and address, and either length 0, or the same length with either
     * a wildcard or the same datamatch. The eventfd plays no part; caller holds the bus lock.
     */
    private boolean collides(final IoEventFd p)
    {
        // bound: one pass over the VM's ioeventfd list
        for (int i = 0; i < ioeventfds.size(); i++)
        {
            final IoEventFd q = ioeventfds.get(i);
            if (q.bus == p.bus && q.addr == p.addr &&
                (q.length == 0 || p.length == 0 ||
                (q.length == p.length && (q.wildcard || p.wildcard || q.datamatch == p.datamatch))))
            {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code ioeventfd_release}: unlink from the list. Reached through {@link IoEventFd#destructor()} from the bus,
     * or directly by the 3.16 deassign; runs under the bus lock. A second release of the same object is counted.
     */
    void release(final IoEventFd p)
    {
        slotsLock.lock();
        try
        {
            releases++;
            if (++p.releases > 1)
            {
                doubleReleases++;
                return;
            }
            // bound: one pass over the VM's ioeventfd list, by identity
            for (int i = 0; i < ioeventfds.size(); i++)
            {
                if (ioeventfds.get(i) == p)
                {
                    ioeventfds.remove(i);
                    return;
                }
            }
        }
        finally
        {
            slotsLock.unlock();
        }
    }

    private static KvmException refused(final Errno errno, final String what, final KvmIoEventFd args)
    {
        return new KvmException(errno, what, "bus=" + args.bus() + ", " + args);
    }
}
