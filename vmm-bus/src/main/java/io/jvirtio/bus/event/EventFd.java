package io.jvirtio.bus.event;

import java.util.concurrent.TimeUnit;

/**
 * An event counter with the semantics of Linux eventfd(2), the object every kick and every interrupt in jvirtio
 * travels through (ioeventfd to worker, worker to irqfd).
 * <p>
 * The counter is an unsigned 64-bit value. A write adds to it; the largest value it may hold is
 * {@link #MAX_COUNT} (2^64 - 2), and a write that would pass it blocks until a read makes room, or fails with
 * {@code false} from {@link #tryWrite(long)} (EAGAIN). A write of 2^64 - 1 is invalid (EINVAL). A read returns the
 * counter and resets it to zero, or in semaphore mode returns 1 and decrements it; it blocks while the counter is
 * zero, and {@link #tryRead()} returns 0 instead (EAGAIN). {@link #close()} wakes every blocked caller with
 * {@link EventFdClosedException}.
 * <p>
 * {@link #signal()} is the kernel's {@code eventfd_signal()}: it adds one, saturating, and never blocks; it is what
 * an ioeventfd does on the vCPU thread.
 * <p>
 * Thread safety: every method may be called from any thread, concurrently.
 */
public interface EventFd extends AutoCloseable
{
    /** The largest value the counter holds: 2^64 - 2, as an unsigned long. */
    long MAX_COUNT = 0xFFFF_FFFF_FFFF_FFFEL;

    /**
     * Adds {@code value} to the counter, blocking while the sum would pass {@link #MAX_COUNT}.
     *
     * @param value the unsigned amount to add; 2^64 - 1 is refused.
     * @throws IllegalArgumentException for 2^64 - 1 (EINVAL).
     * @throws InterruptedException     if interrupted while blocked.
     * @throws EventFdClosedException   if closed before or while blocked.
     */
    void write(long value) throws InterruptedException;

    /**
     * Adds {@code value} unless the sum would pass {@link #MAX_COUNT}.
     *
     * @param value the unsigned amount to add; 2^64 - 1 is refused.
     * @return false if the write would block (EAGAIN); the counter is then unchanged.
     * @throws IllegalArgumentException for 2^64 - 1 (EINVAL).
     * @throws EventFdClosedException   if closed.
     */
    boolean tryWrite(long value);

    /**
     * Adds one, saturating at 2^64 - 1 like the kernel's {@code eventfd_signal()}; never blocks, never allocates.
     * Signalling a closed eventfd does nothing.
     */
    void signal();

    /**
     * Waits until the counter is non-zero, then reads it (see the class comment).
     *
     * @return the counter (or 1 in semaphore mode), never 0.
     * @throws InterruptedException   if interrupted while blocked.
     * @throws EventFdClosedException if closed before or while blocked.
     */
    long read() throws InterruptedException;

    /**
     * Reads without blocking.
     *
     * @return the counter (or 1 in semaphore mode), or 0 if it was zero (EAGAIN).
     * @throws EventFdClosedException if closed.
     */
    long tryRead();

    /**
     * Waits at most {@code timeout} for the counter to become non-zero, then reads it.
     *
     * @return the counter (or 1 in semaphore mode), or 0 on timeout.
     * @throws InterruptedException   if interrupted while blocked.
     * @throws EventFdClosedException if closed before or while blocked.
     */
    long read(long timeout, TimeUnit unit) throws InterruptedException;

    /** @return true if a read would not block (POLLIN), without consuming anything. */
    boolean isReadable();

    /** @return true if reads return 1 and decrement (EFD_SEMAPHORE). */
    boolean isSemaphore();

    /** @return the Linux file descriptor behind this eventfd, or -1 for an in-JVM one. */
    int fd();

    /**
     * Adds a wait-queue entry, the in-JVM analogue of the kernel's custom wait-queue entries on an eventfd (irqfd
     * and the worker poller use them): {@code waiter} is called on the signalling thread each time a write or signal
     * leaves the counter non-zero, and once with the eventfd itself when it is closed (EPOLLHUP). It must be short
     * and must not block.
     *
     * @param waiter the entry to add.
     * @throws UnsupportedOperationException for an eventfd that lives in the kernel ({@link #fd()} &gt;= 0): wait on
     *                                       those with epoll.
     */
    void addWaiter(EventFdWaiter waiter);

    /**
     * Removes a wait-queue entry added with {@link #addWaiter(EventFdWaiter)}; after this returns the waiter is not
     * called again.
     *
     * @param waiter the entry to remove.
     */
    void removeWaiter(EventFdWaiter waiter);

    /** @return true once {@link #close()} has been called. */
    boolean isClosed();

    /** Closes the eventfd and wakes every blocked reader and writer with {@link EventFdClosedException}. */
    @Override
    void close();
}
