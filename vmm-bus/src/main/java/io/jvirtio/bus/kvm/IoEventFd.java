package io.jvirtio.bus.kvm;

import io.jvirtio.bus.event.EventFd;

/**
 * One ioeventfd object, {@code struct _ioeventfd} of {@code virt/kvm/eventfd.c}: an
 * {@link IoDevice} that signals its eventfd when a guest write matches it. Write-only: it never takes reads.
 * <p>
 * Thread safety: {@link #write} on vCPU threads, concurrently; the fields are final. {@link #destructor()} and the
 * release bookkeeping run under the VM's bus lock.
 */
final class IoEventFd implements IoDevice
{
    final IoEventFds owner;
    final Bus bus;
    final long addr;
    final int length;
    final EventFd eventFd;
    final long datamatch;
    final boolean wildcard;
    /** How often {@code ioeventfd_release} ran for this object; guarded by the bus lock. */
    int releases;

    IoEventFd(final IoEventFds owner, final Bus bus, final KvmIoEventFd args)
    {
        this.owner = owner;
        this.bus = bus;
        this.addr = args.addr();
        this.length = args.len();
        this.eventFd = args.eventFd();
        this.wildcard = args.wildcard();
        this.datamatch = wildcard ? 0 : args.datamatch();
    }

    /**
     * {@code ioeventfd_in_range}, in KVM's order: exact start address; length 0 matches anything; the width must be
     * equal; a wildcard matches; else the guest value, zero-extended from its width, must equal the full 64-bit
     * datamatch, so a datamatch wider than the length never matches.
     */
    boolean inRange(final long addr, final int len, final long value)
    {
        if (addr != this.addr)
        {
            return false;
        }
        if (length == 0)
        {
            return true;
        }
        if (len != length)
        {
            return false;
        }
        if (wildcard)
        {
            return true;
        }
        final long guestValue;
        switch (len)
        {
            case 1 -> guestValue = value & 0xFFL;
            case 2 -> guestValue = value & 0xFFFFL;
            case 4 -> guestValue = value & 0xFFFF_FFFFL;
            case 8 -> guestValue = value;
            default ->
            {
                return false;
            }
        }
        return guestValue == datamatch;
    }

    /** {@code ioeventfd_write}: on a match, {@code eventfd_signal} and take the write. */
    @Override
    public boolean write(final long addr, final int len, final long value)
    {
        if (!inRange(addr, len, value))
        {
            return false;
        }
        eventFd.signal();
        return true;
    }

    /** ioeventfds have no read operation: {@code -EOPNOTSUPP}. */
    @Override
    public boolean read(final long addr, final int len, final IoValue value)
    {
        return false;
    }

    /** {@code ioeventfd_destructor}: {@code ioeventfd_release}. */
    @Override
    public void destructor()
    {
        owner.release(this);
    }

    @Override
    public String toString()
    {
        return "ioeventfd bus=" + bus + ", addr=0x" + Long.toHexString(addr) + ", len=" + length +
            (wildcard ? ", wildcard" : ", datamatch=0x" + Long.toHexString(datamatch));
    }
}
