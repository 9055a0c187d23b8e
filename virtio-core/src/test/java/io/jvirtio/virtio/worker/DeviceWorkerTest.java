package io.jvirtio.virtio.worker;

import io.jvirtio.bus.event.BackoffIdleStrategy;
import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.event.ParkingIdleStrategy;
import org.junit.jupiter.api.Test;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeviceWorkerTest
{
    private static final long TIMEOUT_SECONDS = 30;

    @Test
    void shouldServiceEveryQueueOnceAtStartForKicksBeforeActivation() throws Exception
    {
        final ConcurrentLinkedQueue<Integer> serviced = new ConcurrentLinkedQueue<>();
        final CountDownLatch both = new CountDownLatch(2);
        try (EventFd a = EventFds.jvm();
            EventFd b = EventFds.jvm())
        {
            final DeviceWorker worker = new DeviceWorker("w", ParkingIdleStrategy.INSTANCE, 8, (queue, budget) ->
            {
                serviced.add(queue);
                both.countDown();
                return false;
            });
            worker.addQueue(0, a);
            worker.addQueue(1, b);
            worker.start();
            assertTrue(both.await(TIMEOUT_SECONDS, TimeUnit.SECONDS));
            worker.stop();
            assertTrue(serviced.contains(0) && serviced.contains(1));
        }
    }

    @Test
    void shouldWakeEveryQueueSharingOneKickEventFd() throws Exception
    {
        final AtomicIntegerArray calls = new AtomicIntegerArray(3);
        final CountDownLatch first = new CountDownLatch(3);
        final CountDownLatch second = new CountDownLatch(3);
        try (EventFd shared = EventFds.jvm())
        {
            final DeviceWorker worker = new DeviceWorker("w", new BackoffIdleStrategy(), 8, (queue, budget) ->
            {
                final int n = calls.incrementAndGet(queue);
                if (n == 1)
                {
                    first.countDown();
                }
                if (n == 2)
                {
                    second.countDown();
                }
                return false;
            });
            for (int q = 0; q < 3; q++)
            {
                worker.addQueue(q, shared);
            }
            worker.start();
            assertTrue(first.await(TIMEOUT_SECONDS, TimeUnit.SECONDS), "the start-up pass services all three");
            shared.signal();
            assertTrue(second.await(TIMEOUT_SECONDS, TimeUnit.SECONDS), "one signal services all three queues");
            worker.stop();
        }
    }

    @Test
    void shouldCallAgainWithoutKickWhileHandlerReportsMoreWork() throws Exception
    {
        final AtomicInteger remaining = new AtomicInteger(1000);
        final CountDownLatch drained = new CountDownLatch(1);
        try (EventFd kick = EventFds.jvm())
        {
            final DeviceWorker worker = new DeviceWorker("w", ParkingIdleStrategy.INSTANCE, 16, (queue, budget) ->
            {
                final int left = remaining.addAndGet(-Math.min(budget, remaining.get()));
                if (left == 0)
                {
                    drained.countDown();
                }
                return left > 0;
            });
            worker.addQueue(0, kick);
            worker.start();
            assertTrue(drained.await(TIMEOUT_SECONDS, TimeUnit.SECONDS), "1000 items drained in budgets of 16");
            worker.stop();
            assertTrue(worker.handlerCalls() >= 1000 / 16);
        }
    }

    @Test
    void shouldNeverCallHandlerAfterStopReturns() throws Exception
    {
        final AtomicBoolean stopped = new AtomicBoolean();
        final AtomicInteger callsAfterStop = new AtomicInteger();
        try (EventFd kick = EventFds.jvm())
        {
            final DeviceWorker worker = new DeviceWorker("w", new BackoffIdleStrategy(), 4, (queue, budget) ->
            {
                if (stopped.get())
                {
                    callsAfterStop.incrementAndGet();
                }
                return true;
            });
            worker.addQueue(0, kick);
            worker.start();
            final Thread kicker = Thread.ofPlatform().start(() ->
            {
                for (int i = 0; i < 10_000; i++)
                {
                    kick.signal();
                }
            });
            worker.stop();
            stopped.set(true);
            kicker.join();
            assertEquals(0, callsAfterStop.get());
        }
    }

    @Test
    void shouldCountAndSurviveHandlerException() throws Exception
    {
        final AtomicInteger calls = new AtomicInteger();
        final CountDownLatch thrown = new CountDownLatch(1);
        final CountDownLatch again = new CountDownLatch(1);
        try (EventFd kick = EventFds.jvm())
        {
            final DeviceWorker worker = new DeviceWorker("w", ParkingIdleStrategy.INSTANCE, 4, (queue, budget) ->
            {
                if (calls.incrementAndGet() == 1)
                {
                    thrown.countDown();
                    throw new IllegalStateException("device bug");
                }
                again.countDown();
                return false;
            });
            worker.addQueue(0, kick);
            worker.start();
            assertTrue(thrown.await(TIMEOUT_SECONDS, TimeUnit.SECONDS));
            kick.signal();
            assertTrue(again.await(TIMEOUT_SECONDS, TimeUnit.SECONDS), "the worker survived and serves the next kick");
            worker.stop();
            assertEquals(1, worker.handlerErrors());
            assertFalse(worker.lastError() == null);
        }
    }
}
