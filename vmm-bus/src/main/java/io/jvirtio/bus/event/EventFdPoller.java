package io.jvirtio.bus.event;

import io.jvirtio.bus.linux.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Lets one worker thread wait on up to {@value #MAX_EVENT_FDS} eventfds at once, and tells it which fired.
 * <p>
 * Each registered eventfd gets a token, 0 to 63. {@link #poll()} checks every eventfd, idles as its
 * {@link IdleStrategy} says (spin, yield) and checks again, and when the strategy says so blocks until an eventfd is
 * signalled. It returns a bitmask of the tokens that fired ({@code 1L << token}), having read (consumed) each of
 * those eventfds with a non-blocking read; {@link #count(int)} gives what each read returned. In steady state a
 * poll allocates nothing and takes no lock.
 * <p>
 * <b>Blocking without a lost wake-up.</b> In-JVM eventfds get a wait-queue entry ({@link EventFd#addWaiter}) that
 * wakes the poller. Before it blocks, the poller sets a "parked" flag, checks every eventfd once more, and only then
 * parks; an entry wakes it only if the flag is set, clearing it as it does. Both sides use volatile accesses, so a
 * signal either is seen by the last check or finds the flag set (Dekker). Once a Linux eventfd ({@link EventFd#fd()}
 * &gt;= 0) is registered, the poller switches for good to epoll: the blocking phase is epoll_wait(2) on an epoll
 * instance holding a {@code dup} of every Linux eventfd (level-triggered EPOLLIN, data = token) and an internal wake
 * eventfd, and the in-JVM entries and {@link #wakeup()} write that wake eventfd instead of unparking. So in-JVM and
 * Linux eventfds may be mixed in one poller; the price is a write(2) on the signalling thread when it wakes a blocked
 * poller, and one epoll_wait(2) with timeout 0 per check while any Linux eventfd is registered.
 * <p>
 * <b>Closed eventfds.</b> An eventfd closed while registered is reported once: its bit is set in the poll's result,
 * its {@link #count(int)} is 0, and it stays in {@link #closedTokens()} until {@link #deregister(int)}; it is not
 * checked again. An in-JVM eventfd's close wakes a blocked poller at once; a Linux eventfd's close is noticed at the
 * next check, because closing a descriptor does not wake epoll_wait(2).
 * <p>
 * <b>Interrupts.</b> A poll returns 0 when its thread is interrupted, leaving the interrupt status set. An interrupt
 * does not end an epoll_wait(2) in progress; to stop a blocked worker, use {@link #wakeup()}.
 * <p>
 * Thread safety: the poller belongs to one thread at a time, which calls {@link #register}, {@link #deregister},
 * the poll methods, {@link #count}, {@link #closedTokens()} and {@link #close()}. {@link #wakeup()} may be called
 * from any thread. Registered eventfds must not be closed while they are being registered.
 */
public final class EventFdPoller implements AutoCloseable
{
    /** The most eventfds one poller holds: one per bit of the {@code long} a poll returns. */
    public static final int MAX_EVENT_FDS = Long.SIZE;

    /** The epoll data of the internal wake eventfd: one past the last token. */
    private static final long WAKE_TOKEN = MAX_EVENT_FDS;
    private static final int MAX_EPOLL_EVENTS = MAX_EVENT_FDS + 1;
    /** {@code struct epoll_event} is packed on x86-64: u32 events at 0, u64 data at 4. */
    private static final long EPOLL_EVENTS_OFFSET = 0;
    private static final long EPOLL_DATA_OFFSET = Integer.BYTES;
    private static final long NANOS_PER_MILLI = TimeUnit.MILLISECONDS.toNanos(1);
    private static final VarHandle PARKED;

    static
    {
        try
        {
            PARKED = MethodHandles.lookup().findVarHandle(EventFdPoller.class, "parked", boolean.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final IdleStrategy idleStrategy;
    private final EventFd[] eventFds = new EventFd[MAX_EVENT_FDS];
    private final long[] counts = new long[MAX_EVENT_FDS];
    /** The {@code dup} of each Linux eventfd that sits in the epoll set, or -1. */
    private final int[] epollDups = new int[MAX_EVENT_FDS];
    /** One entry for every in-JVM eventfd; created once, so registering allocates no lambda. */
    private final EventFdWaiter waiter = this::onSignal;
    private long registered;
    private long jvmTokens;
    private long linuxTokens;
    private long closedTokens;
    private long lastReady;
    private boolean closed;
    private int epollFd = -1;
    private Arena epollArena;
    private MemorySegment epollEvents;
    private MemorySegment epollCtlEvent;
    /** Non-null once the poller blocks in epoll_wait; set before the first block that uses it. */
    private volatile LinuxEventFd wakeFd;
    private volatile Thread pollingThread;
    private volatile boolean parked;
    private volatile boolean wakeupPending;

    /**
     * @param idleStrategy what to do between empty checks, for example {@link BusySpinIdleStrategy#INSTANCE},
     *                     {@code new BackoffIdleStrategy(spins, yields)} or {@link ParkingIdleStrategy#INSTANCE}.
     */
    public EventFdPoller(final IdleStrategy idleStrategy)
    {
        this.idleStrategy = Objects.requireNonNull(idleStrategy, "idleStrategy");
        Arrays.fill(epollDups, -1);
    }

    /**
     * Registers an eventfd under the lowest free token. Anything already pending is reported by the next poll.
     *
     * @param eventFd an open eventfd, in-JVM or Linux; the poller does not take ownership and never closes it.
     * @return the token, 0 to {@value #MAX_EVENT_FDS} - 1.
     * @throws IllegalArgumentException if {@value #MAX_EVENT_FDS} eventfds are registered, or this one already is.
     * @throws EventFdClosedException   if {@code eventFd} is closed.
     * @throws IllegalStateException    if the poller is closed, or an epoll system call fails.
     */
    public int register(final EventFd eventFd)
    {
        Objects.requireNonNull(eventFd, "eventFd");
        ensureOpen();
        final int token = Long.numberOfTrailingZeros(~registered);
        if (token == MAX_EVENT_FDS)
        {
            throw new IllegalArgumentException("poller is full: max=" + MAX_EVENT_FDS);
        }
        long others = registered;
        // At most MAX_EVENT_FDS passes.
        while (others != 0)
        {
            final int other = Long.numberOfTrailingZeros(others);
            others &= others - 1;
            if (eventFds[other] == eventFd)
            {
                throw new IllegalArgumentException("eventfd already registered: token=" + other);
            }
        }
        final long bit = 1L << token;
        if (eventFd.fd() >= 0)
        {
            addToEpoll(eventFd, token);
            linuxTokens |= bit;
        }
        else
        {
            eventFd.addWaiter(waiter);
            jvmTokens |= bit;
        }
        eventFds[token] = eventFd;
        counts[token] = 0;
        registered |= bit;
        return token;
    }

    /**
     * Forgets a token; once this returns, the eventfd no longer wakes this poller.
     *
     * @param token a registered token.
     * @throws IllegalArgumentException if {@code token} is not registered.
     */
    public void deregister(final int token)
    {
        final long bit = registeredBit(token);
        if ((jvmTokens & bit) != 0)
        {
            eventFds[token].removeWaiter(waiter);
        }
        else
        {
            removeFromEpoll(token);
        }
        eventFds[token] = null;
        counts[token] = 0;
        registered &= ~bit;
        jvmTokens &= ~bit;
        linuxTokens &= ~bit;
        closedTokens &= ~bit;
        lastReady &= ~bit;
    }

    /**
     * Waits until at least one eventfd fires, {@link #wakeup()} is called, or the thread is interrupted.
     *
     * @return the tokens that fired (each eventfd read once), or 0 after a wakeup or an interrupt.
     * @throws IllegalStateException if the poller is closed.
     */
    public long poll()
    {
        return pollUntil(false, 0L);
    }

    /**
     * Like {@link #poll()}, but returns 0 once {@code timeout} has passed.
     *
     * @param timeout the longest to wait; 0 or less checks once, as {@link #pollNow()}.
     * @param unit    the unit of {@code timeout}.
     * @return the tokens that fired, or 0 after a timeout, a wakeup or an interrupt.
     * @throws IllegalStateException if the poller is closed.
     */
    public long poll(final long timeout, final TimeUnit unit)
    {
        final long timeoutNanos = unit.toNanos(timeout);
        if (timeoutNanos <= 0)
        {
            return pollNow();
        }
        return pollUntil(true, System.nanoTime() + timeoutNanos);
    }

    /**
     * Checks every eventfd once, without idling or blocking: the call for a duty cycle that does its own idling.
     *
     * @return the tokens that fired, or 0.
     * @throws IllegalStateException if the poller is closed.
     */
    public long pollNow()
    {
        begin();
        return end(check());
    }

    /**
     * @param token a registered token.
     * @return what the last poll read from that token's eventfd, or 0 if it did not fire (or was closed).
     */
    public long count(final int token)
    {
        return counts[checkToken(token)];
    }

    /** @return the tokens whose eventfd was found closed, until they are deregistered. */
    public long closedTokens()
    {
        return closedTokens;
    }

    /** @return the registered tokens. */
    public long registeredTokens()
    {
        return registered;
    }

    /**
     * @param token a registered token.
     * @return the eventfd registered under {@code token}.
     */
    public EventFd eventFd(final int token)
    {
        registeredBit(token);
        return eventFds[token];
    }

    /** @return the idle strategy given at construction. */
    public IdleStrategy idleStrategy()
    {
        return idleStrategy;
    }

    /** @return true once a Linux eventfd has been registered: the blocking phase is then epoll_wait(2). */
    public boolean usesEpoll()
    {
        return epollFd >= 0;
    }

    /**
     * Makes a blocked poll return 0 now, or the next poll return 0 at once if none is under way (as
     * {@code Selector.wakeup()} does). Several wakeups before the poll returns count as one. A worker's control
     * path calls this after handing over work.
     * <p>
     * Any thread may call this; it allocates nothing and, unless it wakes an epoll_wait, makes no system call.
     */
    public void wakeup()
    {
        wakeupPending = true;
        // The flag is written before the parked check, and the poller does the reverse: one of them sees the other.
        if (parked && PARKED.compareAndSet(this, true, false))
        {
            wakeBlocked();
        }
    }

    /**
     * Deregisters every eventfd (without closing them) and releases the epoll instance and the wake eventfd. Call it
     * on the polling thread, not during a poll. Closing again does nothing.
     */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        long pending = registered;
        // At most MAX_EVENT_FDS passes.
        while (pending != 0)
        {
            deregister(Long.numberOfTrailingZeros(pending));
            pending &= pending - 1;
        }
        closed = true;
        if (epollFd >= 0)
        {
            Libc.close(epollFd);
            epollFd = -1;
            wakeFd.close();
            epollArena.close();
        }
    }

    @Override
    public String toString()
    {
        return "EventFdPoller{registered=" + Long.bitCount(registered) + ", epoll=" + usesEpoll() +
            ", idleStrategy=" + idleStrategy + "}";
    }

    /** @return true while the poller is in (or just entering, or just leaving) its blocking phase; for tests. */
    boolean isBlocked()
    {
        return parked;
    }

    private long pollUntil(final boolean timed, final long deadline)
    {
        final Thread current = begin();
        final IdleStrategy strategy = idleStrategy;
        int idleCount = 0;
        // Waiting is this method's job, so it loops until an event, a wakeup, an interrupt or the deadline; nothing
        // in it is guest-controlled, and each pass idles or blocks as the strategy says.
        while (true)
        {
            long ready = check();
            if (ready != 0)
            {
                return end(ready);
            }
            if (wakeupPending)
            {
                wakeupPending = false;
                return end(0);
            }
            if (current.isInterrupted())
            {
                return end(0);
            }
            long remaining = 0;
            if (timed)
            {
                remaining = deadline - System.nanoTime();
                if (remaining <= 0)
                {
                    return end(0);
                }
            }
            if (strategy.idle(idleCount))
            {
                ready = block(timed, remaining);
                if (ready != 0)
                {
                    return end(ready);
                }
            }
            if (idleCount != Integer.MAX_VALUE)
            {
                idleCount++;
            }
        }
    }

    /** The blocking phase: returns what fired, or 0 after a wake-up (real or spurious) or a timeout. */
    private long block(final boolean timed, final long remainingNanos)
    {
        // Announce first, then check once more: a signal after the store either is seen by this check or finds
        // parked == true and wakes us.
        parked = true;
        try
        {
            final long ready = check();
            if (ready != 0 || wakeupPending)
            {
                return ready;
            }
            if (wakeFd != null)
            {
                final int timeoutMs = timed ? millisRoundedUp(remainingNanos) : -1;
                return collectEpoll(timeoutMs) | checkJvm();
            }
            if (timed)
            {
                LockSupport.parkNanos(this, remainingNanos);
            }
            else
            {
                LockSupport.park(this);
            }
            return 0;
        }
        finally
        {
            parked = false;
        }
    }

    /** The wait-queue entry on every in-JVM eventfd; runs on the signalling thread. */
    private void onSignal(final EventFd eventFd)
    {
        // A plain read first, so that signals to a poller that is not blocked cost no CAS.
        if (parked && PARKED.compareAndSet(this, true, false))
        {
            wakeBlocked();
        }
    }

    private void wakeBlocked()
    {
        final LinuxEventFd wake = wakeFd;
        if (wake != null)
        {
            wake.signal();
        }
        else
        {
            LockSupport.unpark(pollingThread);
        }
    }

    private Thread begin()
    {
        ensureOpen();
        long stale = lastReady;
        // At most MAX_EVENT_FDS passes: forget the counts the previous poll reported.
        while (stale != 0)
        {
            counts[Long.numberOfTrailingZeros(stale)] = 0;
            stale &= stale - 1;
        }
        lastReady = 0;
        final Thread current = Thread.currentThread();
        if (pollingThread != current)
        {
            pollingThread = current;
        }
        return current;
    }

    private long end(final long ready)
    {
        lastReady = ready;
        return ready;
    }

    /** One check of every live eventfd. */
    private long check()
    {
        long ready = checkJvm();
        long linux = linuxTokens & ~closedTokens;
        if (linux != 0)
        {
            // At most MAX_EVENT_FDS passes: a closed Linux eventfd does not wake epoll, so look for it here.
            while (linux != 0)
            {
                final int token = Long.numberOfTrailingZeros(linux);
                linux &= linux - 1;
                if (eventFds[token].isClosed())
                {
                    ready |= markClosed(token);
                }
            }
            ready |= collectEpoll(0);
        }
        return ready;
    }

    private long checkJvm()
    {
        long pending = jvmTokens & ~closedTokens;
        long ready = 0;
        // At most MAX_EVENT_FDS passes.
        while (pending != 0)
        {
            final int token = Long.numberOfTrailingZeros(pending);
            pending &= pending - 1;
            ready |= readToken(token);
        }
        return ready;
    }

    /** epoll_wait(2) on the Linux eventfds and the wake eventfd; reads the Linux eventfds it reports. */
    private long collectEpoll(final int timeoutMs)
    {
        final MemorySegment events = epollEvents;
        final int count = Libc.epollWait(epollFd, events, MAX_EPOLL_EVENTS, timeoutMs);
        if (count < 0)
        {
            if (count == -Libc.EINTR)
            {
                return 0;
            }
            throw new IllegalStateException("epoll_wait failed: epfd=" + epollFd + ", errno=" + -count);
        }
        long ready = 0;
        // At most MAX_EPOLL_EVENTS passes: epoll_wait writes no more events than that.
        for (int i = 0; i < count; i++)
        {
            final long offset = i * Libc.EPOLL_EVENT_SIZE;
            final long data = events.get(ValueLayout.JAVA_LONG_UNALIGNED, offset + EPOLL_DATA_OFFSET);
            if (data == WAKE_TOKEN)
            {
                wakeFd.tryRead();
                continue;
            }
            final int token = (int)data;
            if (token >= 0 && token < MAX_EVENT_FDS && ((linuxTokens & ~closedTokens) & (1L << token)) != 0)
            {
                ready |= readToken(token);
            }
        }
        return ready;
    }

    private long readToken(final int token)
    {
        final long value;
        try
        {
            value = eventFds[token].tryRead();
        }
        catch (final EventFdClosedException closedNow)
        {
            return markClosed(token);
        }
        if (value == 0)
        {
            return 0;
        }
        counts[token] = value;
        return 1L << token;
    }

    private long markClosed(final int token)
    {
        final long bit = 1L << token;
        closedTokens |= bit;
        counts[token] = 0;
        if ((linuxTokens & bit) != 0)
        {
            removeFromEpoll(token);
        }
        return bit;
    }

    private void addToEpoll(final EventFd eventFd, final int token)
    {
        if (eventFd.isClosed())
        {
            throw new EventFdClosedException("eventfd is closed: op=register, fd=" + eventFd.fd());
        }
        ensureEpoll();
        // A dup of our own keeps the epoll registration valid however the owner closes its descriptor, and lets
        // removeFromEpoll name a descriptor that is certainly still this eventfd.
        final int dup = Libc.dup(eventFd.fd());
        if (dup < 0)
        {
            throw new IllegalStateException("dup failed: fd=" + eventFd.fd() + ", errno=" + -dup);
        }
        final int result = epollCtl(Libc.EPOLL_CTL_ADD, dup, token);
        if (result < 0)
        {
            Libc.close(dup);
            throw new IllegalStateException("epoll_ctl add failed: fd=" + eventFd.fd() + ", errno=" + -result);
        }
        epollDups[token] = dup;
    }

    private void removeFromEpoll(final int token)
    {
        final int dup = epollDups[token];
        if (dup >= 0)
        {
            // Closing the dup alone would not remove it: epoll forgets a file only when its last descriptor closes.
            epollCtl(Libc.EPOLL_CTL_DEL, dup, token);
            Libc.close(dup);
            epollDups[token] = -1;
        }
    }

    private void ensureEpoll()
    {
        if (epollFd >= 0)
        {
            return;
        }
        final int epfd = Libc.epollCreate1(Libc.EPOLL_CLOEXEC);
        if (epfd < 0)
        {
            throw new IllegalStateException("epoll_create1 failed: errno=" + -epfd);
        }
        final LinuxEventFd wake;
        try
        {
            wake = LinuxEventFd.create(false);
        }
        catch (final RuntimeException ex)
        {
            Libc.close(epfd);
            throw ex;
        }
        final Arena arena = Arena.ofShared();
        epollArena = arena;
        epollEvents = arena.allocate(MAX_EPOLL_EVENTS * Libc.EPOLL_EVENT_SIZE, Long.BYTES);
        epollCtlEvent = arena.allocate(Libc.EPOLL_EVENT_SIZE, Long.BYTES);
        epollFd = epfd;
        final int result = epollCtl(Libc.EPOLL_CTL_ADD, wake.fd(), WAKE_TOKEN);
        if (result < 0)
        {
            Libc.close(epfd);
            epollFd = -1;
            wake.close();
            arena.close();
            throw new IllegalStateException("epoll_ctl add of the wake eventfd failed: errno=" + -result);
        }
        // Published before any block that uses epoll: from now on entries and wakeup() write this eventfd.
        wakeFd = wake;
    }

    private int epollCtl(final int op, final int fd, final long data)
    {
        final MemorySegment event = epollCtlEvent;
        event.set(ValueLayout.JAVA_INT_UNALIGNED, EPOLL_EVENTS_OFFSET, Libc.EPOLLIN);
        event.set(ValueLayout.JAVA_LONG_UNALIGNED, EPOLL_DATA_OFFSET, data);
        return Libc.epollCtl(epollFd, op, fd, event);
    }

    private void ensureOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("poller is closed: registered=" + Long.bitCount(registered));
        }
    }

    private static int checkToken(final int token)
    {
        if (token < 0 || token >= MAX_EVENT_FDS)
        {
            throw new IllegalArgumentException("token out of range: token=" + token + ", max=" + MAX_EVENT_FDS);
        }
        return token;
    }

    private long registeredBit(final int token)
    {
        final long bit = 1L << checkToken(token);
        if ((registered & bit) == 0)
        {
            throw new IllegalArgumentException("token is not registered: token=" + token);
        }
        return bit;
    }

    private static int millisRoundedUp(final long nanos)
    {
        final long millis = nanos / NANOS_PER_MILLI + (nanos % NANOS_PER_MILLI == 0 ? 0 : 1);
        return (int)Math.min(Integer.MAX_VALUE, millis);
    }
}
