package io.jvirtio.bus.event;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static io.jvirtio.bus.event.BlockingCall.FAILURE_TIMEOUT_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What only the in-JVM eventfd does: {@code eventfd_signal()} saturation, and wait-queue entries (the hook irqfd and
 * the poller use).
 */
class JvmEventFdTest
{
    /** A wait-queue entry that records its calls and what it saw of the eventfd at each. */
    private static final class RecordingWaiter implements EventFdWaiter
    {
        final AtomicInteger calls = new AtomicInteger();
        final AtomicInteger closedCalls = new AtomicInteger();
        final AtomicInteger callsWithZeroCounter = new AtomicInteger();

        @Override
        public void onSignal(final EventFd eventFd)
        {
            calls.incrementAndGet();
            if (eventFd.isClosed())
            {
                closedCalls.incrementAndGet();
            }
            else if (!eventFd.isReadable())
            {
                callsWithZeroCounter.incrementAndGet();
            }
        }
    }

    @Test
    void shouldSaturateAtAllOnesWhenSignalledAtMaxCount()
    {
        try (JvmEventFd eventFd = new JvmEventFd())
        {
            assertTrue(eventFd.tryWrite(EventFd.MAX_COUNT));
            eventFd.signal();
            eventFd.signal();
            assertEquals(-1L, eventFd.tryRead(), "eventfd_signal stops at ULLONG_MAX (2^64-1)");
            assertEquals(0, eventFd.tryRead());
        }
    }

    @Test
    void shouldBlockWriteWhenCounterSaturatedBySignal()
    {
        try (JvmEventFd eventFd = new JvmEventFd())
        {
            assertTrue(eventFd.tryWrite(EventFd.MAX_COUNT));
            eventFd.signal();
            assertFalse(eventFd.tryWrite(0), "ULLONG_MAX - count > 0 fails once count is 2^64-1");
        }
    }

    @Test
    void shouldCallWaiterAfterCounterBecomesNonZeroWhenSignalledOrWritten()
    {
        try (JvmEventFd eventFd = new JvmEventFd())
        {
            final RecordingWaiter waiter = new RecordingWaiter();
            eventFd.addWaiter(waiter);
            eventFd.signal();
            assertTrue(eventFd.tryWrite(2));
            assertEquals(2, waiter.calls.get(), "every signal and write wakes the queue, as in fs/eventfd.c");
            assertEquals(0, waiter.callsWithZeroCounter.get(), "the counter is already non-zero when called");
            assertTrue(eventFd.tryWrite(0));
            assertEquals(3, waiter.calls.get(), "a write of 0 to a non-zero counter still wakes");
            assertEquals(3, eventFd.tryRead());
            assertTrue(eventFd.tryWrite(0));
            assertEquals(3, waiter.calls.get(), "a write of 0 that leaves the counter at zero wakes nobody");
            assertEquals(0, waiter.closedCalls.get());
        }
    }

    @Test
    void shouldCallWaiterOnceWhenClosed()
    {
        final JvmEventFd eventFd = new JvmEventFd();
        final RecordingWaiter waiter = new RecordingWaiter();
        eventFd.addWaiter(waiter);
        eventFd.close();
        eventFd.close();
        eventFd.signal();
        assertEquals(1, waiter.calls.get());
        assertEquals(1, waiter.closedCalls.get(), "called with the eventfd already closed (EPOLLHUP)");
        assertThrows(EventFdClosedException.class, () -> eventFd.addWaiter(new RecordingWaiter()));
    }

    @Test
    void shouldNotCallWaiterWhenRemoved()
    {
        try (JvmEventFd eventFd = new JvmEventFd())
        {
            final RecordingWaiter removed = new RecordingWaiter();
            final RecordingWaiter kept = new RecordingWaiter();
            eventFd.addWaiter(removed);
            eventFd.addWaiter(kept);
            eventFd.signal();
            eventFd.removeWaiter(removed);
            eventFd.removeWaiter(removed);
            eventFd.signal();
            eventFd.close();
            assertEquals(1, removed.calls.get());
            assertEquals(0, removed.closedCalls.get(), "not even on close");
            assertEquals(3, kept.calls.get());
        }
    }

    @Test
    void shouldRefuseSameWaiterTwice()
    {
        try (JvmEventFd eventFd = new JvmEventFd())
        {
            final RecordingWaiter waiter = new RecordingWaiter();
            eventFd.addWaiter(waiter);
            assertThrows(IllegalArgumentException.class, () -> eventFd.addWaiter(waiter));
            eventFd.signal();
            assertEquals(1, waiter.calls.get());
        }
    }

    @Test
    void shouldCountAndSwallowWhenWaiterThrows()
    {
        try (JvmEventFd eventFd = new JvmEventFd())
        {
            final RecordingWaiter after = new RecordingWaiter();
            eventFd.addWaiter(ignored ->
            {
                throw new IllegalStateException("broken waiter");
            });
            eventFd.addWaiter(after);
            eventFd.signal();
            eventFd.signal();
            assertEquals(2, eventFd.waiterErrors());
            assertEquals(2, after.calls.get(), "a throwing entry does not stop the others");
            assertEquals(2, eventFd.tryRead());
        }
    }

    /**
     * removeWaiter's promise: when it returns, no call is still under way. A signal is held inside the entry while
     * another thread removes it; the removal must not return before that call has finished.
     */
    @Test
    void shouldWaitForCallUnderWayWhenRemovingWaiter() throws InterruptedException
    {
        try (JvmEventFd eventFd = new JvmEventFd())
        {
            final CountDownLatch entered = new CountDownLatch(1);
            final CountDownLatch release = new CountDownLatch(1);
            final AtomicBoolean finished = new AtomicBoolean();
            final EventFdWaiter slow = ignored ->
            {
                entered.countDown();
                try
                {
                    release.await(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                }
                finished.set(true);
            };
            eventFd.addWaiter(slow);
            final BlockingCall signaller = BlockingCall.start("signaller", () ->
            {
                eventFd.signal();
                return 1;
            });
            assertTrue(entered.await(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS));

            final BlockingCall remover = BlockingCall.start("remover", () ->
            {
                eventFd.removeWaiter(slow);
                return finished.get() ? 1 : 0;
            });
            BlockingCall.awaitCondition(() -> isInGracePeriod(remover), "remover never waited for the call");
            release.countDown();

            assertEquals(1, remover.awaitResult(), "removeWaiter returned while the entry was still running");
            assertEquals(1, signaller.awaitResult());
        }
    }

    @Test
    void shouldReportNoDescriptor()
    {
        try (JvmEventFd eventFd = new JvmEventFd(true))
        {
            assertEquals(-1, eventFd.fd());
            assertTrue(eventFd.isSemaphore());
        }
    }

    private static boolean isInGracePeriod(final Thread thread)
    {
        return Arrays.stream(thread.getStackTrace())
            .anyMatch(frame -> "awaitGracePeriod".equals(frame.getMethodName()));
    }
}
