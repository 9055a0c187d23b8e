package io.jvirtio.bus.kvm;

import io.jvirtio.bus.linux.Libc;

/**
 * The Linux errno values that KVM's ioeventfd, irqfd and I/O-bus code return, with the numbers of the x86-64 Linux
 * ABI ({@code include/uapi/asm-generic/errno-base.h} and {@code errno.h}).
 * <p>
 * {@link KvmException} carries a raw errno number, so that a real /dev/kvm ioctl can report any value the kernel
 * returns; this enum names the ones the simulated KVM produces and that callers test for.
 * <p>
 * Thread safety: immutable; any thread.
 */
public enum Errno
{
    /** Operation not permitted. */
    EPERM(Libc.EPERM),
    /** No such entry: a deassign that matches nothing. */
    ENOENT(Libc.ENOENT),
    /** Interrupted system call. */
    EINTR(Libc.EINTR),
    /** Bad file descriptor: the eventfd argument is not a usable eventfd. */
    EBADF(Libc.EBADF),
    /** Try again: irqfd before the interrupt controller exists. */
    EAGAIN(Libc.EAGAIN),
    /** Out of memory: an I/O bus that was removed after a failed unregister. */
    ENOMEM(Libc.ENOMEM),
    /** Bad address. */
    EFAULT(Libc.EFAULT),
    /** Busy: the eventfd already drives another irqfd. */
    EBUSY(Libc.EBUSY),
    /** Exists: the ioeventfd collides with one already assigned. */
    EEXIST(Libc.EEXIST),
    /** Invalid argument: a length, flag or address that KVM refuses. */
    EINVAL(Libc.EINVAL),
    /** No space: the I/O bus holds {@link IoBuses#NR_IOBUS_DEVS} devices that are not ioeventfds. */
    ENOSPC(Libc.ENOSPC),
    /** Function not implemented. */
    ENOSYS(Libc.ENOSYS),
    /** Operation not supported: no device on the bus took the access. */
    EOPNOTSUPP(Libc.EOPNOTSUPP);

    private final int number;

    Errno(final int number)
    {
        this.number = number;
    }

    /** @return the positive Linux errno number. */
    public int number()
    {
        return number;
    }

    /**
     * @param errno a positive errno number.
     * @return its symbolic name if this enum has one, else the number in decimal.
     */
    public static String nameOf(final int errno)
    {
        // bound: one pass over a fixed, small enum
        for (final Errno e : values())
        {
            if (e.number == errno)
            {
                return e.name();
            }
        }
        return Integer.toString(errno);
    }
}
