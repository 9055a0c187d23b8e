package io.jvirtio.bus.kvm;

/**
 * A KVM request (ioeventfd, irqfd or I/O-bus registration) that KVM refused, with the errno KVM returns for it.
 * <p>
 * The simulated KVM raises it with an {@link Errno}; an implementation over /dev/kvm raises it with whatever errno
 * the ioctl returned, which need not be one {@link Errno} names. The message says what went wrong and ends with
 * {@code errno=NAME} and further {@code key=value} pairs.
 * <p>
 * These are control-path errors (tier (a) of the style guide): nothing on a vCPU's data path throws it.
 * <p>
 * Thread safety: immutable; any thread.
 */
public final class KvmException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final int errno;

    /**
     * @param errno   the errno KVM returns.
     * @param what    lower-case description of what went wrong.
     * @param details further {@code key=value} pairs, comma-separated, or an empty string.
     */
    public KvmException(final Errno errno, final String what, final String details)
    {
        this(errno.number(), what, details);
    }

    /**
     * @param errno   the positive errno number the kernel returned.
     * @param what    lower-case description of what went wrong.
     * @param details further {@code key=value} pairs, comma-separated, or an empty string.
     */
    public KvmException(final int errno, final String what, final String details)
    {
        super(what + ": errno=" + Errno.nameOf(errno) + (details.isEmpty() ? "" : ", " + details));
        this.errno = errno;
    }

    /** @return the positive errno number. */
    public int errno()
    {
        return errno;
    }

    /**
     * @param expected the errno to compare with.
     * @return true if this exception carries that errno.
     */
    public boolean is(final Errno expected)
    {
        return errno == expected.number();
    }
}
