package io.jvirtio.bus.kvm;

import io.jvirtio.bus.testing.AllocationProbe;
import io.jvirtio.bus.irq.InterruptController;
import io.jvirtio.bus.irq.MsiMessage;
import io.jvirtio.bus.irq.RedirectionEntry;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.jvirtio.bus.irq.InterruptController.NO_VECTOR;
import static io.jvirtio.bus.kvm.KvmAssertions.assertErrno;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** virt/kvm/eventfd.c: irqfd. */
class IrqFdsTest
{
    private static final long FAILURE_TIMEOUT_SECONDS = 60;
    private static final int EDGE_GSI = 5;
    private static final int LEVEL_GSI = 10;
    private static final int MSI_GSI = 30;

    private final InterruptController irqchip = new InterruptController(2);
    private final IrqFds irqfds = new IrqFds(irqchip);
    private final CountingEventFd eventFd = new CountingEventFd();
    private final CountingEventFd resampleFd = new CountingEventFd();

    IrqFdsTest()
    {
        irqchip.programPin(EDGE_GSI, RedirectionEntry.edge(0x35, 0));
        irqchip.programPin(LEVEL_GSI, RedirectionEntry.level(0x3A, 0));
        irqchip.setMsiRoute(MSI_GSI, MsiMessage.of(1, 0x51));
    }

    @Test
    void shouldPulseTheGsiWhenAnEdgeIrqfdIsSignalled()
    {
        irqfds.assign(KvmIrqFd.edge(eventFd, EDGE_GSI));
        eventFd.signal();
        assertEquals(0x35, irqchip.pendingVector(0));
        assertEquals(1, irqchip.gsiRaised(EDGE_GSI));
        assertFalse(eventFd.isReadable(), "the wake-up consumed the counter");

        irqchip.acknowledge(0);
        irqchip.eoi(0);
        eventFd.signal();
        assertEquals(0x35, irqchip.pendingVector(0), "the line went low again, so the next pulse is an edge");
        assertEquals(2, irqchip.delivered(0, 0x35));
    }

    @Test
    void shouldLeaveALevelLineLowAfterAnEdgePulse()
    {
        irqfds.assign(KvmIrqFd.edge(eventFd, LEVEL_GSI));
        eventFd.signal();
        assertEquals(0x3A, irqchip.acknowledge(0));
        irqchip.eoi(0);
        assertEquals(NO_VECTOR, irqchip.pendingVector(0), "set 1 then 0: nothing to deliver again after EOI");
    }

    @Test
    void shouldSendTheMsiOfAnMsiRoutedGsi()
    {
        irqfds.assign(KvmIrqFd.edge(eventFd, MSI_GSI));
        eventFd.signal();
        assertEquals(0x51, irqchip.pendingVector(1));
        assertEquals(1, irqchip.delivered(1, 0x51));
    }

    @Test
    void shouldHoldTheResampleLineUntilEoiThenSignalTheResamplefd()
    {
        irqfds.assign(KvmIrqFd.resample(eventFd, LEVEL_GSI, resampleFd));
        eventFd.signal();
        assertEquals(0x3A, irqchip.acknowledge(0));
        eventFd.signal();
        assertEquals(1, irqchip.delivered(0, 0x3A), "the line is held; a second signal before EOI adds nothing");
        assertEquals(0, resampleFd.signals());

        irqchip.eoi(0);
        assertEquals(1, resampleFd.signals(), "the EOI signals the resamplefd");
        assertEquals(NO_VECTOR, irqchip.pendingVector(0), "the resampler de-asserted the line first");

        eventFd.signal();
        assertEquals(0x3A, irqchip.pendingVector(0), "the device signals again after checking its state");
        assertEquals(2, irqchip.delivered(0, 0x3A));
    }

    @Test
    void shouldSignalEveryResamplefdOnTheGsi()
    {
        final CountingEventFd otherEventFd = new CountingEventFd();
        final CountingEventFd otherResampleFd = new CountingEventFd();
        irqfds.assign(KvmIrqFd.resample(eventFd, LEVEL_GSI, resampleFd));
        irqfds.assign(KvmIrqFd.resample(otherEventFd, LEVEL_GSI, otherResampleFd));
        eventFd.signal();
        irqchip.acknowledge(0);
        irqchip.eoi(0);
        assertEquals(1, resampleFd.signals());
        assertEquals(1, otherResampleFd.signals());
    }

    @Test
    void shouldRejectAnEventFdThatAlreadyDrivesAnIrqfdWithEbusy()
    {
        irqfds.assign(KvmIrqFd.edge(eventFd, EDGE_GSI));
        assertErrno(Errno.EBUSY, () -> irqfds.assign(KvmIrqFd.edge(eventFd, MSI_GSI)));
        assertErrno(Errno.EBUSY, () -> irqfds.assign(KvmIrqFd.edge(eventFd, EDGE_GSI)));
        assertEquals(1, irqfds.size());
        assertEquals(1, eventFd.waiterCount());
    }

    @Test
    void shouldRejectUnknownFlagsWithEinval()
    {
        assertErrno(Errno.EINVAL, () -> irqfds.assign(new KvmIrqFd(eventFd, EDGE_GSI, 4, null)));
        assertErrno(Errno.EINVAL, () -> irqfds.deassign(new KvmIrqFd(eventFd, EDGE_GSI, 8, null)));
        assertErrno(Errno.EINVAL, () -> irqfds.irqfd(new KvmIrqFd(eventFd, EDGE_GSI, 1 << 31, null)));
        assertEquals(0, irqfds.size());
    }

    @Test
    void shouldRejectAMissingOrClosedEventFdWithEbadf()
    {
        assertErrno(Errno.EBADF, () -> irqfds.assign(KvmIrqFd.edge(null, EDGE_GSI)));
        assertErrno(Errno.EBADF, () -> irqfds.assign(new KvmIrqFd(eventFd, LEVEL_GSI,
            KvmIrqFd.KVM_IRQFD_FLAG_RESAMPLE, null)), "resample without a resamplefd");
        assertErrno(Errno.EBADF, () -> irqfds.deassign(KvmIrqFd.edge(null, EDGE_GSI)));
        eventFd.close();
        assertErrno(Errno.EBADF, () -> irqfds.assign(KvmIrqFd.edge(eventFd, EDGE_GSI)));
    }

    @Test
    void shouldInjectASignalThatCameBeforeTheAssign()
    {
        eventFd.signal();
        eventFd.signal();
        irqfds.assign(KvmIrqFd.edge(eventFd, EDGE_GSI));
        assertEquals(0x35, irqchip.pendingVector(0), "assign polls the eventfd once");
        assertEquals(1, irqchip.gsiRaised(EDGE_GSI), "one read of the counter, one interrupt");
        assertFalse(eventFd.isReadable());
    }

    @Test
    void shouldDeliverNothingOnceDeassigned()
    {
        irqfds.assign(KvmIrqFd.resample(eventFd, LEVEL_GSI, resampleFd));
        eventFd.signal();
        irqchip.acknowledge(0);
        irqfds.irqfd(KvmIrqFd.resample(eventFd, LEVEL_GSI, resampleFd).deassigning());
        assertEquals(0, irqfds.size());
        assertEquals(0, eventFd.waiterCount());

        irqchip.eoi(0);
        assertEquals(0, resampleFd.signals(), "the resampler went with its last irqfd");
        eventFd.signal();
        assertEquals(1, irqchip.gsiRaised(LEVEL_GSI));
        assertEquals(NO_VECTOR, irqchip.pendingVector(0));
        assertEquals(1, eventFd.count(), "nobody consumes the counter any more");
    }

    @Test
    void shouldDeassignOnlyTheMatchingEventFdAndGsi()
    {
        irqfds.assign(KvmIrqFd.edge(eventFd, EDGE_GSI));
        irqfds.deassign(KvmIrqFd.edge(eventFd, MSI_GSI));
        irqfds.deassign(KvmIrqFd.edge(new CountingEventFd(), EDGE_GSI));
        assertEquals(1, irqfds.size(), "matching nothing is not an error");
        eventFd.signal();
        assertEquals(0x35, irqchip.pendingVector(0));
    }

    @Test
    void shouldDeassignWhenTheEventFdIsClosed()
    {
        irqfds.assign(KvmIrqFd.resample(eventFd, LEVEL_GSI, resampleFd));
        eventFd.signal();
        eventFd.close();
        assertEquals(0, irqfds.size(), "EPOLLHUP deassigns");
        assertEquals(0, eventFd.waiterCount());

        irqchip.acknowledge(0);
        irqchip.eoi(0);
        assertEquals(0, resampleFd.signals());
        assertEquals(NO_VECTOR, irqchip.pendingVector(0), "the resample line was de-asserted");

        final CountingEventFd next = new CountingEventFd();
        irqfds.assign(KvmIrqFd.edge(next, LEVEL_GSI));
        assertEquals(1, irqfds.size());
    }

    @Test
    void shouldInjectNothingAfterDeassignReturnsWhileAnotherThreadSignals() throws Exception
    {
        for (int round = 0; round < 50; round++)
        {
            final CountingEventFd kick = new CountingEventFd();
            irqfds.assign(KvmIrqFd.edge(kick, MSI_GSI));
            final AtomicBoolean stop = new AtomicBoolean();
            final Thread worker = Thread.ofPlatform().name("worker").start(() ->
            {
                // bound: until the test stops it, after the deassign
                while (!stop.get())
                {
                    kick.signal();
                }
            });
            // bound: the worker's signals show up within the failure timeout
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(FAILURE_TIMEOUT_SECONDS);
            while (kick.signals() < 100 && System.nanoTime() - deadline < 0)
            {
                Thread.onSpinWait();
            }
            irqfds.deassign(KvmIrqFd.edge(kick, MSI_GSI));
            final long raisedAtDeassign = irqchip.gsiRaised(MSI_GSI);
            final long signalsAtDeassign = kick.signals();
            // bound: the worker keeps signalling for a while after the deassign
            while (kick.signals() < signalsAtDeassign + 1_000 && System.nanoTime() - deadline < 0)
            {
                Thread.onSpinWait();
            }
            stop.set(true);
            worker.join(TimeUnit.SECONDS.toMillis(FAILURE_TIMEOUT_SECONDS));
            assertEquals(raisedAtDeassign, irqchip.gsiRaised(MSI_GSI), "an interrupt after deassign returned");
        }
    }

    @Test
    void shouldAllocateNothingWhenAnIrqfdInjects()
    {
        irqfds.assign(KvmIrqFd.edge(eventFd, MSI_GSI));
        irqfds.assign(KvmIrqFd.resample(resampleFd, LEVEL_GSI, new CountingEventFd()));
        interrupts(100_000);
        final long allocated = AllocationProbe.leastAllocated(3, () -> interrupts(100_000));
        assertEquals(0, irqchip.delivered(1, 0x51) % 100_000, "every MSI delivered");
        assertEquals(irqchip.delivered(1, 0x51), irqchip.delivered(0, 0x3A), "every level interrupt delivered");
        assertEquals(0, allocated, "bytes allocated by 100000 irqfd injections of each kind");
    }

    /** Signal, take and EOI one MSI and one level interrupt per round, all on this thread. */
    private void interrupts(final int rounds)
    {
        for (int i = 0; i < rounds; i++)
        {
            eventFd.signal();
            irqchip.acknowledge(1);
            irqchip.eoi(1);
            resampleFd.signal();
            irqchip.acknowledge(0);
            irqchip.eoi(0);
        }
    }
}
