package io.jvirtio.bus.event;

import io.jvirtio.bus.linux.Libc;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A real Linux eventfd(2) behind the {@link EventFd} interface, through the FFM API, so that another process (a
 * vhost-user peer) or /dev/kvm (KVM_IOEVENTFD, KVM_IRQFD) can share it through {@link #fd()}.
 * <p>
 * <b>Non-blocking descriptor.</b> The descriptor is always in O_NONBLOCK mode and every read(2) and write(2) is
 * non-blocking; {@link #read()} and {@link #write(long)} block in poll(2) instead, for at most
 * {@value #POLL_SLICE_MS} ms per call, so that {@link #close()} and {@link Thread#interrupt()} are noticed within one
 * slice (closing a descriptor does not wake a thread that polls it). The alternatives do not work: a second
 * EFD_NONBLOCK descriptor for the same counter cannot be made, because O_NONBLOCK belongs to the open file
 * description, which {@code dup} shares, and an eventfd's anonymous inode cannot be reopened through /proc; and
 * poll(0) followed by a blocking read(2) is a race, since another reader can empty the counter in between and the
 * "non-blocking" read then sleeps. O_NONBLOCK is shared with every holder of the same file description (for an
 * adopted descriptor, possibly another process); QEMU and KVM work with non-blocking eventfds, so this is safe.
 * <p>
 * <b>Buffers.</b> The 8-byte value and the {@code struct pollfd} go through a small native buffer per calling thread,
 * allocated on a thread's first call: one buffer per instance would be shared by concurrent callers, which the
 * interface allows.
 * <p>
 * <b>Closing.</b> Each system call holds a use count on the descriptor; {@link #close()} marks the eventfd closed at
 * once and the last call in flight (or {@code close()} itself, if none is) closes the descriptor, so a descriptor
 * number is never reused under a thread that is still inside read, write or poll.
 * <p>
 * <b>Differences from {@link JvmEventFd}.</b> {@link #signal()} is a write of 1, so it saturates at
 * {@link #MAX_COUNT} (2^64 - 2), not 2^64 - 1: only the kernel's own {@code eventfd_signal()} reaches 2^64 - 1.
 * {@link #addWaiter} is refused: a kernel eventfd is waited on with epoll (see {@link EventFdPoller}).
 * <p>
 * Thread safety: every method may be called from any thread, concurrently.
 */
public final class LinuxEventFd implements EventFd
{
    /** The longest a blocked read or write sleeps in poll(2) before it checks for close and interrupt. */
    public static final int POLL_SLICE_MS = 10;

    /**
     * How long a blocked write sleeps when poll(2) reports POLLOUT but the value still does not fit: POLLOUT only
     * promises room for 1 (fs/eventfd.c eventfd_poll: {@code ULLONG_MAX - 1 > count}).
     */
    private static final long FULL_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final int CLOSED = Integer.MIN_VALUE;
    private static final long VALUE_SIZE = Long.BYTES;
    private static final int POLLFD_FD_OFFSET = 0;
    private static final int POLLFD_EVENTS_OFFSET = 4;
    private static final int POLLFD_REVENTS_OFFSET = 6;
    private static final String FDINFO_COUNT = "eventfd-count:";
    private static final String FDINFO_SEMAPHORE = "eventfd-semaphore:";
    private static final VarHandle STATE;
    private static final VarHandle SIGNAL_ERRORS;
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            STATE = lookup.findVarHandle(LinuxEventFd.class, "state", int.class);
            SIGNAL_ERRORS = lookup.findVarHandle(LinuxEventFd.class, "signalErrors", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final int fd;
    private final boolean semaphore;
    /** {@link #CLOSED} bit | the number of system calls in flight on {@link #fd}. */
    private volatile int state;
    private volatile long signalErrors;

    private LinuxEventFd(final int fd, final boolean semaphore)
    {
        this.fd = fd;
        this.semaphore = semaphore;
    }

    /**
     * Creates an eventfd with {@code eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK [| EFD_SEMAPHORE])}.
     *
     * @param semaphore true for EFD_SEMAPHORE: each read returns 1 and decrements the counter.
     * @return the new eventfd, which owns its descriptor.
     * @throws UnsupportedOperationException if Linux system calls are unavailable ({@link Libc#isAvailable()}).
     * @throws IllegalStateException         if eventfd(2) fails (EMFILE, ENFILE, ENOMEM).
     */
    public static LinuxEventFd create(final boolean semaphore)
    {
        final int flags = Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK | (semaphore ? Libc.EFD_SEMAPHORE : 0);
        final int fd = Libc.eventfd(0, flags);
        if (fd < 0)
        {
            throw new IllegalStateException("eventfd(2) failed: errno=" + -fd + ", semaphore=" + semaphore);
        }
        return new LinuxEventFd(fd, semaphore);
    }

    /**
     * Wraps an eventfd descriptor received from elsewhere (a vhost-user peer's kick or call fd) and takes ownership
     * of it: {@link #close()} closes it. The descriptor is checked to be an eventfd through
     * {@code /proc/self/fdinfo}, which also tells whether it is in semaphore mode (kernels before 6.3 do not say, and
     * it is then taken as not). It is switched to O_NONBLOCK (FIONBIO), which the other holders of the same file
     * description see too. Pass a {@code dup} of the descriptor to keep the original.
     *
     * @param fd an open eventfd descriptor.
     * @return the eventfd.
     * @throws IllegalArgumentException      if {@code fd} is not an open eventfd; the descriptor then stays the
     *                                       caller's, open.
     * @throws UnsupportedOperationException if Linux system calls are unavailable.
     */
    public static LinuxEventFd adopt(final int fd)
    {
        if (!Libc.isAvailable())
        {
            throw new UnsupportedOperationException(Libc.unavailableReason());
        }
        if (fd < 0)
        {
            throw new IllegalArgumentException("eventfd descriptor is negative: fd=" + fd);
        }
        final List<String> fdinfo;
        try
        {
            fdinfo = Files.readAllLines(Path.of("/proc/self/fdinfo", Integer.toString(fd)));
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException("descriptor is not open: fd=" + fd, ex);
        }
        boolean eventFd = false;
        boolean semaphore = false;
        for (final String line : fdinfo)
        {
            if (line.startsWith(FDINFO_COUNT))
            {
                eventFd = true;
            }
            else if (line.startsWith(FDINFO_SEMAPHORE))
            {
                semaphore = "1".equals(line.substring(FDINFO_SEMAPHORE.length()).trim());
            }
        }
        if (!eventFd)
        {
            throw new IllegalArgumentException("descriptor is not an eventfd: fd=" + fd);
        }
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment on = arena.allocate(ValueLayout.JAVA_INT);
            on.set(ValueLayout.JAVA_INT, 0, 1);
            final int result = Libc.ioctl(fd, Libc.FIONBIO, on.address());
            if (result < 0)
            {
                throw new IllegalArgumentException("cannot make eventfd non-blocking: fd=" + fd + ", errno=" + -result);
            }
        }
        return new LinuxEventFd(fd, semaphore);
    }

    @Override
    public void write(final long value) throws InterruptedException
    {
        boolean writableButFull = false;
        // Not guest-driven: loops until the value fits, close() or an interrupt; each pass sleeps in poll(2).
        while (!tryWrite(value))
        {
            if (Thread.interrupted())
            {
                throw new InterruptedException("eventfd write interrupted: fd=" + fd);
            }
            if (writableButFull)
            {
                LockSupport.parkNanos(this, FULL_RETRY_NANOS);
            }
            writableButFull = awaitEvents(Libc.POLLOUT, POLL_SLICE_MS, "write");
        }
    }

    @Override
    public boolean tryWrite(final long value)
    {
        if (value == -1L)
        {
            throw new IllegalArgumentException("eventfd write of 2^64-1 is invalid (EINVAL): fd=" + fd);
        }
        if (!enter())
        {
            throw closedException("write");
        }
        try
        {
            final long result = writeValue(value);
            if (result == VALUE_SIZE)
            {
                return true;
            }
            if (result == -Libc.EAGAIN)
            {
                return false;
            }
            throw failure("write", result);
        }
        finally
        {
            exit();
        }
    }

    /**
     * Writes 1. At {@link #MAX_COUNT} the write would block, and the counter stays saturated there; a failed system
     * call is counted in {@link #signalErrors()}, never thrown.
     */
    @Override
    public void signal()
    {
        if (!enter())
        {
            return;
        }
        try
        {
            final long result = writeValue(1L);
            if (result != VALUE_SIZE && result != -Libc.EAGAIN)
            {
                SIGNAL_ERRORS.getAndAdd(this, 1L);
            }
        }
        finally
        {
            exit();
        }
    }

    @Override
    public long read() throws InterruptedException
    {
        // Not guest-driven: loops until a write, close() or an interrupt; each pass sleeps in poll(2).
        while (true)
        {
            final long value = tryRead();
            if (value != 0)
            {
                return value;
            }
            if (Thread.interrupted())
            {
                throw new InterruptedException("eventfd read interrupted: fd=" + fd);
            }
            awaitEvents(Libc.POLLIN, POLL_SLICE_MS, "read");
        }
    }

    @Override
    public long tryRead()
    {
        if (!enter())
        {
            throw closedException("read");
        }
        try
        {
            final MemorySegment value = SCRATCH.get().value;
            // EINTR means a signal handler ran before anything was read; retrying is what every caller of read(2)
            // does, and it cannot repeat without end on a non-blocking descriptor.
            while (true)
            {
                final long result = Libc.read(fd, value, VALUE_SIZE);
                if (result == VALUE_SIZE)
                {
                    return value.get(ValueLayout.JAVA_LONG, 0);
                }
                if (result == -Libc.EAGAIN)
                {
                    return 0;
                }
                if (result != -Libc.EINTR)
                {
                    throw failure("read", result);
                }
            }
        }
        finally
        {
            exit();
        }
    }

    @Override
    public long read(final long timeout, final TimeUnit unit) throws InterruptedException
    {
        final long value = tryRead();
        final long timeoutNanos = unit.toNanos(timeout);
        if (value != 0 || timeoutNanos <= 0)
        {
            return value;
        }
        final long deadline = System.nanoTime() + timeoutNanos;
        // Not guest-driven: ends at the deadline at the latest; each pass sleeps in poll(2).
        while (true)
        {
            final long remaining = deadline - System.nanoTime();
            if (remaining <= 0)
            {
                return 0;
            }
            if (Thread.interrupted())
            {
                throw new InterruptedException("eventfd read interrupted: fd=" + fd);
            }
            final long remainingMs = TimeUnit.NANOSECONDS.toMillis(remaining + TimeUnit.MILLISECONDS.toNanos(1) - 1);
            awaitEvents(Libc.POLLIN, (int)Math.min(POLL_SLICE_MS, remainingMs), "read");
            final long read = tryRead();
            if (read != 0)
            {
                return read;
            }
        }
    }

    /** @return true if poll(2) reports POLLIN now; false once closed. */
    @Override
    public boolean isReadable()
    {
        if (!enter())
        {
            return false;
        }
        try
        {
            return (pollOnce(Libc.POLLIN, 0) & Libc.POLLIN) != 0;
        }
        finally
        {
            exit();
        }
    }

    @Override
    public boolean isSemaphore()
    {
        return semaphore;
    }

    /** @return the descriptor; it stays the same number after {@link #close()}, when it no longer means anything. */
    @Override
    public int fd()
    {
        return fd;
    }

    /** @throws UnsupportedOperationException always: wait on a kernel eventfd with epoll ({@link EventFdPoller}). */
    @Override
    public void addWaiter(final EventFdWaiter waiter)
    {
        throw new UnsupportedOperationException("kernel eventfd has no in-JVM wait queue, use epoll: fd=" + fd);
    }

    /** Does nothing: no waiter can have been added. */
    @Override
    public void removeWaiter(final EventFdWaiter waiter)
    {
    }

    @Override
    public boolean isClosed()
    {
        return state < 0;
    }

    /**
     * Marks the eventfd closed and closes the descriptor, at once or when the last system call in flight returns
     * (within {@link #POLL_SLICE_MS} for a blocked reader or writer, which then throws
     * {@link EventFdClosedException}). Closing again does nothing.
     */
    @Override
    public void close()
    {
        // Retries only when a call entered or left in between.
        while (true)
        {
            final int current = state;
            if (current < 0)
            {
                return;
            }
            if (STATE.compareAndSet(this, current, current | CLOSED))
            {
                if (current == 0)
                {
                    Libc.close(fd);
                }
                return;
            }
        }
    }

    /** @return how many times a {@link #signal()} failed with an error other than EAGAIN; each was swallowed. */
    public long signalErrors()
    {
        return signalErrors;
    }

    @Override
    public String toString()
    {
        return "LinuxEventFd{fd=" + fd + ", semaphore=" + semaphore + ", closed=" + isClosed() + "}";
    }

    /** @return false if closed; otherwise the descriptor stays open until {@link #exit()}. */
    private boolean enter()
    {
        // Retries only when another call entered, left or closed in between.
        while (true)
        {
            final int current = state;
            if (current < 0)
            {
                return false;
            }
            if (STATE.compareAndSet(this, current, current + 1))
            {
                return true;
            }
        }
    }

    private void exit()
    {
        final int remaining = (int)STATE.getAndAdd(this, -1) - 1;
        if (remaining == CLOSED)
        {
            Libc.close(fd);
        }
    }

    private long writeValue(final long value)
    {
        final MemorySegment buffer = SCRATCH.get().value;
        buffer.set(ValueLayout.JAVA_LONG, 0, value);
        // EINTR: retried, as for read.
        while (true)
        {
            final long result = Libc.write(fd, buffer, VALUE_SIZE);
            if (result != -Libc.EINTR)
            {
                return result;
            }
        }
    }

    /**
     * Sleeps in poll(2) for at most {@code timeoutMs}.
     *
     * @return true if poll(2) reported anything: one of {@code events}, or POLLERR (a counter at 2^64 - 1, which
     *         only the kernel's {@code eventfd_signal()} reaches), which a caller must not spin on.
     */
    private boolean awaitEvents(final int events, final int timeoutMs, final String op)
    {
        if (!enter())
        {
            throw closedException(op);
        }
        try
        {
            return pollOnce(events, timeoutMs) != 0;
        }
        finally
        {
            exit();
        }
    }

    /**
     * Called between {@link #enter()} and {@link #exit()}.
     *
     * @return the {@code revents} poll(2) reported, or 0 on timeout or EINTR.
     */
    private int pollOnce(final int events, final int timeoutMs)
    {
        final MemorySegment pollFd = SCRATCH.get().pollFd;
        pollFd.set(ValueLayout.JAVA_INT, POLLFD_FD_OFFSET, fd);
        pollFd.set(ValueLayout.JAVA_SHORT, POLLFD_EVENTS_OFFSET, (short)events);
        pollFd.set(ValueLayout.JAVA_SHORT, POLLFD_REVENTS_OFFSET, (short)0);
        final int result = Libc.poll(pollFd, 1, timeoutMs);
        if (result == -Libc.EINTR)
        {
            return 0;
        }
        if (result < 0)
        {
            throw failure("poll", result);
        }
        return result == 0 ? 0 : pollFd.get(ValueLayout.JAVA_SHORT, POLLFD_REVENTS_OFFSET) & 0xFFFF;
    }

    private EventFdClosedException closedException(final String op)
    {
        return new EventFdClosedException("eventfd is closed: op=" + op + ", fd=" + fd);
    }

    private IllegalStateException failure(final String op, final long result)
    {
        return new IllegalStateException("eventfd system call failed: op=" + op + ", fd=" + fd + ", errno=" + -result);
    }

    /** One thread's native buffers: the u64 value read or written, and one {@code struct pollfd}. */
    private static final class Scratch
    {
        final MemorySegment value;
        final MemorySegment pollFd;

        Scratch()
        {
            // Freed by the garbage collector with the thread's Scratch; each call uses it only while it runs.
            final MemorySegment both = Arena.ofAuto().allocate(2 * VALUE_SIZE, VALUE_SIZE);
            value = both.asSlice(0, VALUE_SIZE);
            pollFd = both.asSlice(VALUE_SIZE, VALUE_SIZE);
        }
    }
}
