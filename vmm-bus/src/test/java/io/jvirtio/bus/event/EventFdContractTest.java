package io.jvirtio.bus.event;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.jvirtio.bus.event.BlockingCall.FAILURE_TIMEOUT_SECONDS;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The eventfd(2) contract, case by case, run against every {@link EventFd} implementation (one subclass each).
 * Each case names the rule of eventfd(2) or fs/eventfd.c it checks.
 */
abstract class EventFdContractTest
{
    private final List<EventFd> created = new ArrayList<>();

    /** @return a new eventfd of the implementation under test. */
    protected abstract EventFd newEventFd(boolean semaphore);

    private EventFd create()
    {
        final EventFd eventFd = newEventFd(false);
        created.add(eventFd);
        return eventFd;
    }

    private EventFd createSemaphore()
    {
        final EventFd eventFd = newEventFd(true);
        created.add(eventFd);
        return eventFd;
    }

    @AfterEach
    void closeAll()
    {
        created.forEach(EventFd::close);
    }

    @Test
    void shouldAddToCounterWhenWrittenOrSignalled() throws InterruptedException
    {
        final EventFd eventFd = create();
        eventFd.write(3);
        assertTrue(eventFd.tryWrite(4));
        eventFd.signal();
        assertEquals(8, eventFd.tryRead());
    }

    @Test
    void shouldReturnAndResetCounterWhenRead() throws InterruptedException
    {
        final EventFd eventFd = create();
        assertFalse(eventFd.isSemaphore());
        eventFd.write(5);
        assertTrue(eventFd.isReadable());
        assertTrue(eventFd.isReadable(), "isReadable consumes nothing");
        assertEquals(5, eventFd.read());
        assertFalse(eventFd.isReadable());
        assertEquals(0, eventFd.tryRead());
    }

    @Test
    void shouldReturnOneAndDecrementWhenSemaphore() throws InterruptedException
    {
        final EventFd eventFd = createSemaphore();
        assertTrue(eventFd.isSemaphore());
        eventFd.write(3);
        assertEquals(1, eventFd.read());
        assertEquals(1, eventFd.tryRead());
        assertEquals(1, eventFd.read(1, TimeUnit.SECONDS));
        assertEquals(0, eventFd.tryRead());
    }

    @Test
    void shouldReturnZeroWhenTryReadFindsZero()
    {
        assertEquals(0, create().tryRead());
        assertEquals(0, createSemaphore().tryRead());
    }

    @Test
    void shouldRefuseWriteOfAllOnesAsEinval() throws InterruptedException
    {
        final EventFd eventFd = create();
        eventFd.write(5);
        assertThrows(IllegalArgumentException.class, () -> eventFd.write(-1L));
        assertThrows(IllegalArgumentException.class, () -> eventFd.tryWrite(-1L));
        assertEquals(5, eventFd.tryRead(), "counter unchanged");
    }

    @Test
    void shouldRefuseTryWriteWhenSumWouldPassMaxCount()
    {
        final EventFd eventFd = create();
        assertTrue(eventFd.tryWrite(EventFd.MAX_COUNT - 1));
        assertFalse(eventFd.tryWrite(2), "would reach 2^64-1");
        assertFalse(eventFd.tryWrite(Long.MIN_VALUE), "a large unsigned value does not wrap around");
        assertTrue(eventFd.tryWrite(1), "exactly 2^64-2 fits");
        assertFalse(eventFd.tryWrite(1));
        assertTrue(eventFd.tryWrite(0), "a write of 0 always fits below 2^64-1");
        assertEquals(EventFd.MAX_COUNT, eventFd.tryRead(), "counter unchanged by the refused writes");
    }

    @Test
    void shouldCompleteBlockedWriteWhenReadMakesRoom() throws InterruptedException
    {
        final EventFd eventFd = create();
        eventFd.write(EventFd.MAX_COUNT);
        final BlockingCall writer = BlockingCall.start("writer", () ->
        {
            eventFd.write(5);
            return 1;
        }).awaitBlocked();

        assertEquals(EventFd.MAX_COUNT, eventFd.tryRead(), "the blocked write has not added anything");
        assertEquals(1, writer.awaitResult());
        assertEquals(5, eventFd.read(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
    }

    @Test
    void shouldWakeBlockedReadWhenWrittenFromAnotherThread() throws InterruptedException
    {
        final EventFd eventFd = create();
        final BlockingCall reader = BlockingCall.start("reader", eventFd::read).awaitBlocked();
        eventFd.write(7);
        assertEquals(7, reader.awaitResult());
        assertEquals(0, eventFd.tryRead());
    }

    @Test
    void shouldWakeBlockedReadWhenSignalled() throws InterruptedException
    {
        final EventFd eventFd = create();
        final BlockingCall reader = BlockingCall.start("reader",
            () -> eventFd.read(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS)).awaitBlocked();
        eventFd.signal();
        assertEquals(1, reader.awaitResult());
    }

    @Test
    void shouldGiveOneUnitToEachBlockedReaderWhenSemaphore() throws InterruptedException
    {
        final EventFd eventFd = createSemaphore();
        final BlockingCall first = BlockingCall.start("first", eventFd::read).awaitBlocked();
        final BlockingCall second = BlockingCall.start("second", eventFd::read).awaitBlocked();
        eventFd.write(2);
        assertEquals(1, first.awaitResult());
        assertEquals(1, second.awaitResult());
        assertEquals(0, eventFd.tryRead());
    }

    @Test
    void shouldReturnZeroWhenTimedReadTimesOut() throws InterruptedException
    {
        final EventFd eventFd = create();
        assertEquals(0, eventFd.read(20, TimeUnit.MILLISECONDS));
        assertEquals(0, eventFd.read(0, TimeUnit.MILLISECONDS));
        eventFd.write(2);
        assertEquals(2, eventFd.read(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
    }

    @Test
    void shouldThrowClosedWhenBlockedReaderAndEventFdClosed() throws InterruptedException
    {
        final EventFd eventFd = create();
        final BlockingCall reader = BlockingCall.start("reader", eventFd::read).awaitBlocked();
        eventFd.close();
        assertInstanceOf(EventFdClosedException.class, reader.awaitFailure());
    }

    @Test
    void shouldThrowClosedWhenBlockedWriterAndEventFdClosed() throws InterruptedException
    {
        final EventFd eventFd = create();
        eventFd.write(EventFd.MAX_COUNT);
        final BlockingCall writer = BlockingCall.start("writer", () ->
        {
            eventFd.write(1);
            return 1;
        }).awaitBlocked();
        eventFd.close();
        assertInstanceOf(EventFdClosedException.class, writer.awaitFailure());
    }

    @Test
    void shouldRefuseEveryCallButSignalWhenClosed()
    {
        final EventFd eventFd = create();
        eventFd.signal();
        eventFd.close();
        assertTrue(eventFd.isClosed());
        assertFalse(eventFd.isReadable());
        assertThrows(EventFdClosedException.class, eventFd::tryRead);
        assertThrows(EventFdClosedException.class, eventFd::read);
        assertThrows(EventFdClosedException.class, () -> eventFd.read(1, TimeUnit.SECONDS));
        assertThrows(EventFdClosedException.class, () -> eventFd.tryWrite(1));
        assertThrows(EventFdClosedException.class, () -> eventFd.write(1));
        assertDoesNotThrow(eventFd::signal, "signal never throws");
        assertDoesNotThrow(eventFd::close, "closing twice is harmless");
    }

    @Test
    void shouldThrowInterruptedWhenBlockedReaderInterrupted() throws InterruptedException
    {
        final EventFd eventFd = create();
        final BlockingCall reader = BlockingCall.start("reader", eventFd::read).awaitBlocked();
        reader.interrupt();
        assertInstanceOf(InterruptedException.class, reader.awaitFailure());
        assertFalse(eventFd.isClosed());
    }

    @Test
    void shouldCountEverySignalWhenSignalledFromSeveralThreads() throws InterruptedException
    {
        final EventFd eventFd = create();
        final int threads = 3;
        final int signalsPerThread = 10_000;
        final List<BlockingCall> signallers = new ArrayList<>();
        for (int t = 0; t < threads; t++)
        {
            signallers.add(BlockingCall.start("signaller-" + t, () ->
            {
                for (int i = 0; i < signalsPerThread; i++)
                {
                    eventFd.signal();
                }
                return signalsPerThread;
            }));
        }
        long total = 0;
        while (total < (long)threads * signalsPerThread)
        {
            final long read = eventFd.read(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertTrue(read > 0, "signals lost: total=" + total);
            total += read;
        }
        for (final BlockingCall signaller : signallers)
        {
            assertEquals(signalsPerThread, signaller.awaitResult());
        }
        assertEquals((long)threads * signalsPerThread, total);
        assertEquals(0, eventFd.tryRead());
    }
}
