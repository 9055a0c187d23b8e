package io.jvirtio.bus.event;

/**
 * Factories for the two {@link EventFd} implementations: {@link JvmEventFd}, for eventfds that never leave the JVM
 * (the simulated VM's ioeventfds and irqfds), and {@link LinuxEventFd}, for eventfds that another process or
 * /dev/kvm must share.
 * <p>
 * Thread safety: every method may be called from any thread.
 */
public final class EventFds
{
    private EventFds()
    {
    }

    /** @return a new in-JVM eventfd whose reads return and reset the counter. */
    public static EventFd jvm()
    {
        return new JvmEventFd(false);
    }

    /** @return a new in-JVM eventfd in semaphore mode (EFD_SEMAPHORE): each read returns 1 and decrements. */
    public static EventFd jvmSemaphore()
    {
        return new JvmEventFd(true);
    }

    /**
     * @return a new Linux eventfd whose reads return and reset the counter.
     * @throws UnsupportedOperationException if Linux system calls are unavailable.
     */
    public static EventFd linux()
    {
        return LinuxEventFd.create(false);
    }

    /**
     * @return a new Linux eventfd in semaphore mode (EFD_SEMAPHORE).
     * @throws UnsupportedOperationException if Linux system calls are unavailable.
     */
    public static EventFd linuxSemaphore()
    {
        return LinuxEventFd.create(true);
    }

    /**
     * Wraps an eventfd descriptor received from elsewhere and takes ownership of it; see
     * {@link LinuxEventFd#adopt(int)}.
     *
     * @param fd an open eventfd descriptor.
     * @return the eventfd.
     */
    public static EventFd adopt(final int fd)
    {
        return LinuxEventFd.adopt(fd);
    }
}
