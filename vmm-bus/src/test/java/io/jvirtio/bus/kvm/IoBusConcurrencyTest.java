package io.jvirtio.bus.kvm;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static io.jvirtio.bus.kvm.KvmAssertions.mmio;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * virt/kvm/kvm_main.c under concurrency: vCPUs write the buses lock-free while other threads assign and
 * deassign. Timeouts here only turn a hang into a failure; nothing asserts on elapsed time.
 */
class IoBusConcurrencyTest
{
    private static final long FAILURE_TIMEOUT_SECONDS = 60;
    private static final int ADDRESSES = 8;
    private static final int WRITERS = 2;
    private static final int READERS = 2;
    private static final int ROUNDS = 150;
    private static final long BASE = 0xFE10_0000L;

    /** One assignment of one address: its eventfd and the signal count seen when its deassign returned. */
    private record Assignment(int address, CountingEventFd eventFd, long signalsAtDeassign)
    {
    }

    @Test
    void shouldNeverLoseAKickNorDeliverOneAfterDeassignReturns() throws Exception
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        final IoEventFds ioeventfds = new IoEventFds(buses);
        final AtomicBoolean writersDone = new AtomicBoolean();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final long[][] handled = new long[READERS][ADDRESSES];
        final List<List<Assignment>> assignments = new ArrayList<>();

        final List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++)
        {
            final int writer = w;
            final List<Assignment> mine = new ArrayList<>();
            assignments.add(mine);
            writers.add(Thread.ofPlatform().name("writer-" + w).start(() -> guard(failure, () ->
            {
                for (int round = 0; round < ROUNDS; round++)
                {
                    // each writer owns every WRITERS-th address, so its assigns never collide with the other's
                    for (int a = writer; a < ADDRESSES; a += WRITERS)
                    {
                        final CountingEventFd kick = new CountingEventFd();
                        final KvmIoEventFd request = mmio(BASE + 0x1000L * a, 0, kick);
                        ioeventfds.assign(request);
                        Thread.yield();
                        ioeventfds.deassign(request);
                        mine.add(new Assignment(a, kick, kick.signals()));
                    }
                }
            })));
        }
        final List<Thread> readers = new ArrayList<>();
        for (int r = 0; r < READERS; r++)
        {
            final long[] mine = handled[r];
            final boolean fast = r % 2 == 0;
            readers.add(Thread.ofPlatform().name("vcpu-" + r).start(() -> guard(failure, () ->
            {
                // bound: runs until the writers finish, then one more pass
                boolean last = false;
                while (!last)
                {
                    last = writersDone.get();
                    for (int a = 0; a < ADDRESSES; a++)
                    {
                        final long gpa = BASE + 0x1000L * a;
                        final int result = fast ? buses.write(Bus.FAST_MMIO, gpa, 0, 0) :
                            buses.write(Bus.MMIO, gpa, 2, a);
                        if (result == IoBuses.HANDLED)
                        {
                            mine[a]++;
                        }
                    }
                }
            })));
        }
        joinAll(writers);
        writersDone.set(true);
        joinAll(readers);
        assertNull(failure.get(), () -> "a thread failed: " + failure.get());

        long totalHandled = 0;
        for (int a = 0; a < ADDRESSES; a++)
        {
            long accepted = 0;
            for (int r = 0; r < READERS; r++)
            {
                accepted += handled[r][a];
            }
            long signalled = 0;
            for (final List<Assignment> list : assignments)
            {
                for (final Assignment assignment : list)
                {
                    if (assignment.address() == a)
                    {
                        signalled += assignment.eventFd().signals();
                        assertEquals(assignment.signalsAtDeassign(), assignment.eventFd().signals(),
                            "a kick reached an ioeventfd after its deassign returned: address=" + a);
                    }
                }
            }
            assertEquals(accepted, signalled, "every handled write signalled exactly once: address=" + a);
            totalHandled += accepted;
        }
        assertTrue(totalHandled > 0, "the readers hit registered ioeventfds at least once");
        assertEquals(0, ioeventfds.size());
        assertEquals(0, buses.deviceCount(Bus.MMIO));
        assertEquals(0, buses.deviceCount(Bus.FAST_MMIO));
    }

    @Test
    void shouldLetVcpusWriteWhileAWriterHoldsTheBusLock() throws Exception
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        final IoEventFds ioeventfds = new IoEventFds(buses);
        final CountingEventFd kick = new CountingEventFd();
        ioeventfds.assign(mmio(BASE, 0, kick));
        final int writes = 10_000;
        final CountDownLatch readersDone = new CountDownLatch(READERS);
        final CountDownLatch assignDone = new CountDownLatch(1);
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        buses.slotsLock().lock();
        final Thread blockedWriter;
        final List<Thread> readers = new ArrayList<>();
        try
        {
            blockedWriter = Thread.ofPlatform().name("blocked-writer").start(() -> guard(failure, () ->
            {
                ioeventfds.assign(mmio(BASE + 0x1000, 4, new CountingEventFd()));
                assignDone.countDown();
            }));
            for (int r = 0; r < READERS; r++)
            {
                readers.add(Thread.ofPlatform().name("vcpu-" + r).start(() -> guard(failure, () ->
                {
                    for (int i = 0; i < writes; i++)
                    {
                        assertEquals(IoBuses.HANDLED, buses.write(Bus.FAST_MMIO, BASE, 0, 0));
                    }
                    readersDone.countDown();
                })));
            }
            assertTrue(readersDone.await(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS),
                "vcpus blocked behind the bus lock");
            assertEquals(1, assignDone.getCount(), "the writer cannot get past the lock this test holds");
        }
        finally
        {
            buses.slotsLock().unlock();
        }
        assertTrue(assignDone.await(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
        joinAll(readers);
        blockedWriter.join(TimeUnit.SECONDS.toMillis(FAILURE_TIMEOUT_SECONDS));
        assertNull(failure.get(), () -> "a thread failed: " + failure.get());
        assertEquals((long)READERS * writes, kick.signals());
    }

    @Test
    void shouldWaitForVcpusInsideTheBusBeforeUnregisterReturns() throws Exception
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        final CountDownLatch inside = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicBoolean unregistered = new AtomicBoolean();
        final AtomicBoolean calledAfterUnregister = new AtomicBoolean();
        final IoDevice slow = new IoDevice()
        {
            @Override
            public boolean write(final long addr, final int len, final long value)
            {
                inside.countDown();
                try
                {
                    assertTrue(release.await(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
                }
                catch (final InterruptedException e)
                {
                    Thread.currentThread().interrupt();
                }
                calledAfterUnregister.set(unregistered.get());
                return true;
            }

            @Override
            public boolean read(final long addr, final int len, final IoValue value)
            {
                return false;
            }
        };
        buses.register(Bus.MMIO, BASE, 4, slow);
        final Thread vcpu = Thread.ofPlatform().name("vcpu").start(() -> buses.write(Bus.MMIO, BASE, 4, 0));
        assertTrue(inside.await(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS));

        final Thread remover = Thread.ofPlatform().name("remover").start(() ->
        {
            buses.unregister(Bus.MMIO, slow);
            unregistered.set(true);
        });
        // the remover must still be waiting for the vCPU's read-side critical section
        assertFalse(unregistered.get());
        assertEquals(Thread.State.TIMED_WAITING, awaitBlocked(remover));
        release.countDown();
        remover.join(TimeUnit.SECONDS.toMillis(FAILURE_TIMEOUT_SECONDS));
        vcpu.join(TimeUnit.SECONDS.toMillis(FAILURE_TIMEOUT_SECONDS));
        assertTrue(unregistered.get());
        assertFalse(calledAfterUnregister.get(), "unregister returned while the device was still running");
    }

    private static Thread.State awaitBlocked(final Thread thread) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(FAILURE_TIMEOUT_SECONDS);
        // bound: the failure timeout
        while (System.nanoTime() - deadline < 0)
        {
            final Thread.State state = thread.getState();
            if (state == Thread.State.TIMED_WAITING || state == Thread.State.WAITING)
            {
                return state;
            }
            Thread.sleep(1);
        }
        return thread.getState();
    }

    private static void joinAll(final List<Thread> threads) throws InterruptedException
    {
        for (final Thread thread : threads)
        {
            thread.join(TimeUnit.SECONDS.toMillis(FAILURE_TIMEOUT_SECONDS));
            assertFalse(thread.isAlive(), () -> thread.getName() + " did not finish");
        }
    }

    private static void guard(final AtomicReference<Throwable> failure, final Runnable body)
    {
        try
        {
            body.run();
        }
        catch (final Throwable t)
        {
            failure.compareAndSet(null, t);
        }
    }
}
