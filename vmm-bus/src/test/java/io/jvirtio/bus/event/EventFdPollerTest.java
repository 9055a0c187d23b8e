package io.jvirtio.bus.event;

import io.jvirtio.bus.linux.Libc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static io.jvirtio.bus.event.BlockingCall.FAILURE_TIMEOUT_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The poller, for each idle strategy and for both kinds of eventfd: exactly the signalled tokens are reported and
 * consumed, no signal is lost to a concurrent storm or to a park, wakeup() ends a blocked poll, and steady state
 * allocates nothing.
 */
class EventFdPollerTest
{
    private static final int STORM_SIGNALS = 100_000;
    private static final int PING_PONG_ROUNDS = 2_000;

    private final List<AutoCloseable> resources = new ArrayList<>();

    static Stream<IdleStrategy> strategies()
    {
        return Stream.of(BusySpinIdleStrategy.INSTANCE, new BackoffIdleStrategy(64, 4), ParkingIdleStrategy.INSTANCE);
    }

    @AfterEach
    void closeAll() throws Exception
    {
        for (final AutoCloseable resource : resources)
        {
            resource.close();
        }
    }

    private <T extends AutoCloseable> T track(final T resource)
    {
        resources.add(resource);
        return resource;
    }

    private EventFdPoller poller(final IdleStrategy strategy)
    {
        return track(new EventFdPoller(strategy));
    }

    private EventFd jvm()
    {
        return track(EventFds.jvm());
    }

    private EventFd linux()
    {
        assumeTrue(Libc.isAvailable(), Libc.unavailableReason());
        return track(EventFds.linux());
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void shouldReportExactlyTheSignalledTokensWhenSeveralRegistered(final IdleStrategy strategy)
        throws InterruptedException
    {
        final EventFdPoller poller = poller(strategy);
        final EventFd[] eventFds = new EventFd[5];
        for (int i = 0; i < eventFds.length; i++)
        {
            eventFds[i] = jvm();
            assertEquals(i, poller.register(eventFds[i]));
        }
        eventFds[1].signal();
        eventFds[1].signal();
        eventFds[3].write(5);

        assertEquals((1L << 1) | (1L << 3), poller.poll(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
        assertEquals(2, poller.count(1));
        assertEquals(5, poller.count(3));
        assertEquals(0, poller.count(0));
        assertEquals(0, eventFds[1].tryRead(), "consumed by the poll");
        assertEquals(0, eventFds[3].tryRead(), "consumed by the poll");
        assertEquals(0, poller.pollNow());
        assertEquals(0, poller.count(1), "counts belong to the last poll");
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void shouldAccountForEverySignalWhenStormFromAnotherThread(final IdleStrategy strategy)
        throws InterruptedException
    {
        final EventFdPoller poller = poller(strategy);
        final EventFd[] eventFds = {jvm(), jvm(), jvm()};
        for (final EventFd eventFd : eventFds)
        {
            poller.register(eventFd);
        }
        assertEquals(STORM_SIGNALS, drainStorm(poller, eventFds));
    }

    @Test
    void shouldAccountForEverySignalWhenStormOnLinuxEventFds() throws InterruptedException
    {
        final EventFdPoller poller = poller(new BackoffIdleStrategy(64, 4));
        final EventFd[] eventFds = {linux(), linux(), jvm()};
        for (final EventFd eventFd : eventFds)
        {
            poller.register(eventFd);
        }
        assertTrue(poller.usesEpoll());
        assertEquals(STORM_SIGNALS, drainStorm(poller, eventFds));
    }

    /**
     * One signal at a time, each acknowledged before the next: the poller has gone idle (and, for the blocking
     * strategies, usually parked) before every signal, so a lost wake-up shows as a poll that times out.
     */
    @ParameterizedTest
    @MethodSource("strategies")
    void shouldWakeForEverySignalWhenEachArrivesWhileIdle(final IdleStrategy strategy) throws InterruptedException
    {
        final EventFdPoller poller = poller(strategy);
        final EventFd kick = jvm();
        final EventFd ack = jvm();
        final int token = poller.register(kick);
        assertEquals(PING_PONG_ROUNDS, pingPong(poller, token, kick, ack));
    }

    /**
     * The race the parked flag exists for, made deterministic: the strategy signals after the poller's last empty
     * check and before it blocks. The poller must still see the signal instead of sleeping through it. The poll runs
     * on a fresh thread, which holds no stale park permit that could hide a lost wake-up.
     */
    @Test
    void shouldSeeSignalThatArrivesBetweenLastCheckAndPark() throws InterruptedException
    {
        assertSeesSignalBetweenLastCheckAndBlock(jvm(), null);
    }

    /** The same race in epoll mode, for the in-JVM eventfd: only its wait-queue entry can wake epoll_wait. */
    @Test
    void shouldSeeSignalThatArrivesBetweenLastCheckAndEpollWait() throws InterruptedException
    {
        assertSeesSignalBetweenLastCheckAndBlock(jvm(), linux());
    }

    private void assertSeesSignalBetweenLastCheckAndBlock(final EventFd kick, final EventFd epollMode)
        throws InterruptedException
    {
        final EventFdPoller poller = poller(idleCount ->
        {
            kick.signal();
            return true;
        });
        if (epollMode != null)
        {
            poller.register(epollMode);
        }
        final int token = poller.register(kick);
        final BlockingCall polling = BlockingCall.start("poller",
            () -> poller.poll(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
        assertEquals(1L << token, polling.awaitResult(), "slept through a signal");
        assertEquals(1, poller.count(token));
    }

    @Test
    void shouldWakeForEverySignalWhenEachArrivesWhileBlockedInEpoll() throws InterruptedException
    {
        final EventFdPoller poller = poller(ParkingIdleStrategy.INSTANCE);
        final EventFd kick = linux();
        final int token = poller.register(kick);
        assertEquals(PING_PONG_ROUNDS, pingPong(poller, token, kick, jvm()));
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void shouldReturnBlockedPollWhenWakeupCalled(final IdleStrategy strategy) throws InterruptedException
    {
        final EventFdPoller poller = poller(strategy);
        final EventFd eventFd = jvm();
        poller.register(eventFd);
        final BlockingCall polling = BlockingCall.start("poller", poller::poll);
        if (strategy != BusySpinIdleStrategy.INSTANCE)
        {
            BlockingCall.awaitCondition(poller::isBlocked, "poller never blocked");
        }
        poller.wakeup();
        assertEquals(0, polling.awaitResult());
        eventFd.signal();
        assertEquals(1, poller.poll(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS), "the wakeup was used up");
    }

    @Test
    void shouldReturnBlockedEpollWaitWhenWakeupCalled() throws InterruptedException
    {
        final EventFdPoller poller = poller(ParkingIdleStrategy.INSTANCE);
        poller.register(linux());
        final BlockingCall polling = BlockingCall.start("poller", poller::poll).awaitBlocked();
        assertTrue(poller.isBlocked());
        poller.wakeup();
        assertEquals(0, polling.awaitResult());
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void shouldReturnAtOnceWhenWakeupPrecedesPoll(final IdleStrategy strategy) throws InterruptedException
    {
        final EventFdPoller poller = poller(strategy);
        poller.register(jvm());
        poller.wakeup();
        poller.wakeup();
        assertEquals(0, BlockingCall.start("poller", poller::poll).awaitResult());
        assertEquals(0, poller.poll(10, TimeUnit.MILLISECONDS), "two wakeups before a poll count as one");
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void shouldReturnZeroWhenTimedPollTimesOut(final IdleStrategy strategy)
    {
        final EventFdPoller poller = poller(strategy);
        poller.register(jvm());
        assertEquals(0, poller.poll(20, TimeUnit.MILLISECONDS));
        assertEquals(0, poller.poll(0, TimeUnit.MILLISECONDS));
    }

    @Test
    void shouldReturnZeroAndKeepInterruptWhenPollingThreadInterrupted() throws InterruptedException
    {
        final EventFdPoller poller = poller(ParkingIdleStrategy.INSTANCE);
        poller.register(jvm());
        final BlockingCall polling = BlockingCall.start("poller", () ->
        {
            final long ready = poller.poll();
            return Thread.currentThread().isInterrupted() ? ready : -1;
        }).awaitBlocked();
        polling.interrupt();
        assertEquals(0, polling.awaitResult(), "returns 0 with the interrupt status still set");
    }

    @Test
    void shouldWakeEpollPollerWhenInJvmEventFdSignalled() throws InterruptedException
    {
        final EventFdPoller poller = poller(ParkingIdleStrategy.INSTANCE);
        final EventFd kernel = linux();
        final EventFd inJvm = jvm();
        final int kernelToken = poller.register(kernel);
        final int jvmToken = poller.register(inJvm);

        final BlockingCall polling = BlockingCall.start("poller", poller::poll).awaitBlocked();
        inJvm.signal();
        assertEquals(1L << jvmToken, polling.awaitResult());
        assertEquals(1, poller.count(jvmToken));

        final BlockingCall again = BlockingCall.start("poller", poller::poll).awaitBlocked();
        kernel.write(9);
        assertEquals(1L << kernelToken, again.awaitResult());
        assertEquals(9, poller.count(kernelToken));
        assertEquals(0, kernel.tryRead(), "consumed by the poll");
    }

    @Test
    void shouldReadOneUnitPerPollWhenSemaphore() throws InterruptedException
    {
        final EventFdPoller poller = poller(ParkingIdleStrategy.INSTANCE);
        final EventFd semaphore = track(EventFds.jvmSemaphore());
        final int token = poller.register(semaphore);
        semaphore.write(2);
        assertEquals(1L << token, poller.pollNow());
        assertEquals(1, poller.count(token));
        assertEquals(1L << token, poller.pollNow());
        assertEquals(0, poller.pollNow());
    }

    @Test
    void shouldReportClosedEventFdOnceWhenClosedWhileRegistered() throws InterruptedException
    {
        final EventFdPoller poller = poller(ParkingIdleStrategy.INSTANCE);
        final EventFd open = jvm();
        final EventFd closing = jvm();
        poller.register(open);
        final int token = poller.register(closing);

        final BlockingCall polling = BlockingCall.start("poller", poller::poll).awaitBlocked();
        closing.close();
        assertEquals(1L << token, polling.awaitResult(), "close wakes the poller, as EPOLLHUP would");
        assertEquals(0, poller.count(token));
        assertEquals(1L << token, poller.closedTokens());
        assertEquals(0, poller.pollNow(), "reported once");

        poller.deregister(token);
        assertEquals(0, poller.closedTokens());
        open.signal();
        assertEquals(1, poller.pollNow());
    }

    @Test
    void shouldReportClosedLinuxEventFdAtNextCheck()
    {
        final EventFdPoller poller = poller(ParkingIdleStrategy.INSTANCE);
        final EventFd kernel = linux();
        final int token = poller.register(kernel);
        kernel.signal();
        kernel.close();
        assertEquals(1L << token, poller.pollNow());
        assertEquals(0, poller.count(token), "nothing is read from a closed eventfd");
        assertEquals(1L << token, poller.closedTokens());
        assertEquals(0, poller.pollNow());
    }

    @Test
    void shouldNotReportEventFdWhenDeregistered()
    {
        final EventFdPoller poller = poller(ParkingIdleStrategy.INSTANCE);
        final EventFd first = jvm();
        final EventFd second = jvm();
        final int firstToken = poller.register(first);
        poller.register(second);
        poller.deregister(firstToken);
        first.signal();
        assertEquals(0, poller.pollNow());
        assertEquals(1, first.tryRead(), "a deregistered eventfd is left alone");
        assertEquals(firstToken, poller.register(jvm()), "the lowest free token is reused");
        assertThrows(IllegalArgumentException.class, () -> poller.deregister(63));
    }

    @Test
    void shouldNotReportLinuxEventFdWhenDeregistered()
    {
        final EventFdPoller poller = poller(ParkingIdleStrategy.INSTANCE);
        final EventFd kernel = linux();
        poller.deregister(poller.register(kernel));
        kernel.signal();
        assertEquals(0, poller.pollNow());
        assertEquals(0, poller.poll(20, TimeUnit.MILLISECONDS));
        assertEquals(1, kernel.tryRead(), "a deregistered eventfd is left alone");
    }

    @Test
    void shouldRefuseRegistrationBeyondSixtyFourOrTwice()
    {
        final EventFdPoller poller = poller(ParkingIdleStrategy.INSTANCE);
        final EventFd first = jvm();
        poller.register(first);
        assertThrows(IllegalArgumentException.class, () -> poller.register(first));
        for (int i = 1; i < EventFdPoller.MAX_EVENT_FDS; i++)
        {
            assertEquals(i, poller.register(jvm()));
        }
        assertEquals(-1L, poller.registeredTokens());
        assertThrows(IllegalArgumentException.class, () -> poller.register(jvm()));
        final EventFd closed = EventFds.jvm();
        closed.close();
        poller.deregister(5);
        assertThrows(EventFdClosedException.class, () -> poller.register(closed));
    }

    @Test
    void shouldReportEventFdOfHighestTokenInSignBit()
    {
        final EventFdPoller poller = poller(ParkingIdleStrategy.INSTANCE);
        EventFd last = null;
        for (int i = 0; i < EventFdPoller.MAX_EVENT_FDS; i++)
        {
            last = jvm();
            poller.register(last);
        }
        last.signal();
        assertEquals(Long.MIN_VALUE, poller.pollNow());
        assertSame(last, poller.eventFd(63));
        assertEquals(1, poller.count(63));
    }

    @Test
    void shouldDetachFromEventFdsWhenClosed()
    {
        final EventFdPoller poller = new EventFdPoller(ParkingIdleStrategy.INSTANCE);
        final EventFd eventFd = jvm();
        poller.register(eventFd);
        poller.close();
        poller.close();
        eventFd.signal();
        assertEquals(1, eventFd.tryRead(), "the poller neither read nor closed it");
        assertFalse(eventFd.isClosed());
        assertThrows(IllegalStateException.class, poller::pollNow);
        assertThrows(IllegalStateException.class, () -> poller.register(jvm()));
        poller.wakeup();
    }

    @Test
    void shouldAllocateNothingWhenSignalAndPollRepeatOnInJvmEventFds()
    {
        final EventFdPoller poller = poller(new BackoffIdleStrategy());
        final EventFd first = jvm();
        final EventFd second = jvm();
        poller.register(first);
        poller.register(second);
        assertEquals(0, allocatedBytes(() -> signalAndPoll(poller, first, second)));
    }

    @Test
    void shouldAllocateNothingWhenSignalAndPollRepeatOnLinuxEventFds()
    {
        final EventFdPoller poller = poller(new BackoffIdleStrategy());
        final EventFd first = linux();
        final EventFd second = jvm();
        poller.register(first);
        poller.register(second);
        assertEquals(0, allocatedBytes(() -> signalAndPoll(poller, first, second)));
    }

    @Test
    void shouldRefuseNegativeBackoffCounts()
    {
        assertThrows(IllegalArgumentException.class, () -> new BackoffIdleStrategy(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> new BackoffIdleStrategy(0, -1));
        assertThrows(IllegalArgumentException.class, () -> new BackoffIdleStrategy(Integer.MAX_VALUE, 1));
    }

    @Test
    void shouldSpinThenYieldThenBlockWhenBackoff()
    {
        final BackoffIdleStrategy backoff = new BackoffIdleStrategy(2, 3);
        for (int idleCount = 0; idleCount < 5; idleCount++)
        {
            assertFalse(backoff.idle(idleCount), "idles in place: idleCount=" + idleCount);
        }
        assertTrue(backoff.idle(5));
        assertTrue(backoff.idle(Integer.MAX_VALUE));
        assertTrue(ParkingIdleStrategy.INSTANCE.idle(0));
        assertFalse(BusySpinIdleStrategy.INSTANCE.idle(Integer.MAX_VALUE));
    }

    /** Signals {@link #STORM_SIGNALS} times round-robin from another thread; returns the sum of the polled counts. */
    private static long drainStorm(final EventFdPoller poller, final EventFd[] eventFds) throws InterruptedException
    {
        final BlockingCall signaller = BlockingCall.start("signaller", () ->
        {
            for (int i = 0; i < STORM_SIGNALS; i++)
            {
                eventFds[i % eventFds.length].signal();
            }
            return STORM_SIGNALS;
        });
        long total = 0;
        while (total < STORM_SIGNALS)
        {
            long ready = poller.poll(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (ready == 0)
            {
                fail("signals lost: received=" + total + ", sent=" + STORM_SIGNALS);
            }
            while (ready != 0)
            {
                total += poller.count(Long.numberOfTrailingZeros(ready));
                ready &= ready - 1;
            }
        }
        assertEquals(STORM_SIGNALS, signaller.awaitResult());
        assertEquals(0, poller.pollNow(), "nothing left over");
        return total;
    }

    /** Runs the rounds of a kick / acknowledge ping-pong; returns the rounds that completed. */
    private static int pingPong(final EventFdPoller poller, final int token, final EventFd kick, final EventFd ack)
        throws InterruptedException
    {
        final BlockingCall kicker = BlockingCall.start("kicker", () ->
        {
            for (int round = 0; round < PING_PONG_ROUNDS; round++)
            {
                kick.signal();
                if (ack.read(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS) != 1)
                {
                    return round;
                }
            }
            return PING_PONG_ROUNDS;
        });
        for (int round = 0; round < PING_PONG_ROUNDS; round++)
        {
            final long ready = poller.poll(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertEquals(1L << token, ready, "lost wake-up: round=" + round);
            assertEquals(1, poller.count(token));
            ack.signal();
        }
        return (int)kicker.awaitResult();
    }

    private static boolean signalAndPoll(final EventFdPoller poller, final EventFd first, final EventFd second)
    {
        first.signal();
        second.signal();
        second.signal();
        return poller.poll() == 3L && poller.count(0) == 1 && poller.count(1) == 2;
    }

    /** Warms {@code cycle} up, then returns the bytes this thread allocated over 100 000 more cycles. */
    private static long allocatedBytes(final BooleanSupplier cycle)
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)java.lang.management.ManagementFactory.getThreadMXBean();
        final long threadId = Thread.currentThread().threadId();
        final int cycles = 100_000;
        boolean allCorrect = true;
        for (int i = 0; i < 2 * cycles; i++)
        {
            allCorrect &= cycle.getAsBoolean();
        }
        final long before = threads.getThreadAllocatedBytes(threadId);
        for (int i = 0; i < cycles; i++)
        {
            allCorrect &= cycle.getAsBoolean();
        }
        final long allocated = threads.getThreadAllocatedBytes(threadId) - before;
        assertTrue(allCorrect, "every poll reported exactly the signalled tokens and counts");
        assertNotEquals(-1L, before, "allocation measurement is supported");
        return allocated;
    }
}
