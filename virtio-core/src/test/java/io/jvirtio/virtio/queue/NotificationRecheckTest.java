package io.jvirtio.virtio.queue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static io.jvirtio.virtio.queue.RingFixture.buffer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The re-enable-then-recheck race, both ways, with real sleeping: the device worker sleeps on a kick semaphore only
 * when {@link VirtQueue#enableNotificationAndRecheck()} says no chain is waiting, and the driver sleeps on an
 * interrupt semaphore only when {@link SplitQueueDriver#enableInterruptsAndCheck()} says nothing is used. The driver
 * kicks only when {@link SplitQueueDriver#needsKick()} says so and the device interrupts only when
 * {@link VirtQueue#needsInterrupt()} says so. A lost kick or a lost interrupt leaves one side asleep with work
 * pending: the bounded wait then fails the test (the time limit is only a failure timeout).
 */
class NotificationRecheckTest
{
    private static final int N = 16;
    private static final long CHAINS = 20_000;
    private static final long WAIT_SECONDS = 20;

    @ParameterizedTest(name = "eventIdx={0}")
    @ValueSource(booleans = {false, true})
    void shouldLoseNoKickAndNoInterruptWhenBothSidesSleep(final boolean eventIdx) throws Exception
    {
        try (RingFixture f = new RingFixture(N, eventIdx, false))
        {
            final Semaphore kick = new Semaphore(0);
            final Semaphore interrupt = new Semaphore(0);
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicReference<Throwable> deviceFailure = new AtomicReference<>();
            final Thread device = new Thread(() ->
            {
                try
                {
                    runWorker(f, kick, interrupt, stop);
                }
                catch (final Throwable t)
                {
                    deviceFailure.set(t);
                }
            }, "worker");
            device.start();
            try
            {
                runDriver(f, kick, interrupt);
            }
            finally
            {
                stop.set(true);
                kick.release();
                device.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            }
            assertNull(deviceFailure.get());
            assertEquals(CHAINS, f.queue.counters().get(QueueCounter.CHAINS_COMPLETED));
        }
    }

    /** The worker loop of {@link VirtQueue}'s class comment, with a semaphore as the kick eventfd. */
    private static void runWorker(
        final RingFixture f, final Semaphore kick, final Semaphore interrupt, final AtomicBoolean stop)
        throws InterruptedException
    {
        final VirtQueue queue = f.queue;
        final DescriptorChain chain = f.chain;
        // bound: runs until the driver is done; each sleep is bounded by the failure timeout
        while (!stop.get())
        {
            queue.disableNotification();
            int budget = N;
            while (budget-- > 0 && queue.pop(chain) == PopStatus.CHAIN)
            {
                queue.complete(chain, chain.write(0, new byte[] {1}, 0, 1));
            }
            queue.publish();
            if (queue.needsInterrupt())
            {
                interrupt.release();
            }
            if (queue.isBroken())
            {
                throw new AssertionError("queue broke: " + queue.brokenReason());
            }
            if (budget < 0 || queue.enableNotificationAndRecheck())
            {
                continue;
            }
            if (!kick.tryAcquire(WAIT_SECONDS, TimeUnit.SECONDS))
            {
                throw new AssertionError("lost kick: the worker slept with chains available");
            }
            kick.drainPermits();
        }
    }

    private static void runDriver(final RingFixture f, final Semaphore kick, final Semaphore interrupt)
        throws InterruptedException
    {
        final SplitQueueDriver driver = f.driver;
        final long[] addrs = {buffer(0), buffer(1)};
        final long[] lens = {8, 8};
        long posted = 0;
        long reaped = 0;
        driver.disableInterrupts();
        // bound: each pass posts or reaps, or sleeps for an interrupt bounded by the failure timeout
        while (reaped < CHAINS)
        {
            boolean postedAny = false;
            while (posted < CHAINS && driver.post(addrs, lens, 1, 1) != SplitQueueDriver.NO_SPACE)
            {
                posted++;
                postedAny = true;
            }
            if (postedAny)
            {
                driver.publish();
                if (driver.needsKick())
                {
                    kick.release();
                }
            }
            boolean reapedAny = false;
            while (driver.reap() != SplitQueueDriver.NOTHING_USED)
            {
                if (driver.reapedLength() != 1)
                {
                    throw new AssertionError("used length: " + driver.reapedLength());
                }
                reaped++;
                reapedAny = true;
            }
            if (reapedAny || reaped == CHAINS)
            {
                continue;
            }
            if (!driver.enableInterruptsAndCheck())
            {
                if (!interrupt.tryAcquire(WAIT_SECONDS, TimeUnit.SECONDS))
                {
                    throw new AssertionError("lost interrupt: posted=" + posted + ", reaped=" + reaped);
                }
                interrupt.drainPermits();
            }
            driver.disableInterrupts();
        }
    }
}
