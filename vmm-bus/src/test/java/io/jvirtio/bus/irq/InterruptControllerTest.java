package io.jvirtio.bus.irq;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static io.jvirtio.bus.irq.InterruptController.KVM_USERSPACE_IRQ_SOURCE_ID;
import static io.jvirtio.bus.irq.InterruptController.NO_VECTOR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The simulated interrupt controller: routing, IOAPIC pins, local APIC priority, EOI, and the HLT wait. */
class InterruptControllerTest
{
    private static final long FAILURE_TIMEOUT_SECONDS = 60;
    private static final int SOURCE = KVM_USERSPACE_IRQ_SOURCE_ID;

    private final InterruptController irqchip = new InterruptController(2);

    @Test
    void shouldDeliverMsiToItsDestinationVcpu()
    {
        irqchip.signalMsi(MsiMessage.of(1, 0x41));
        assertEquals(NO_VECTOR, irqchip.pendingVector(0));
        assertEquals(0x41, irqchip.pendingVector(1));
        assertEquals(1, irqchip.delivered(1, 0x41));
    }

    @Test
    void shouldDecodeTheMsiAddressAndData()
    {
        final MsiMessage message = new MsiMessage(0xFEE0_1000L, 0x0151);
        assertEquals(1, message.destination());
        assertEquals(0x51, message.vector());
        assertEquals(MsiMessage.DELIVERY_LOWEST_PRIORITY, message.deliveryMode());
        assertTrue(message.isDeliverable());
        assertFalse(new MsiMessage(0xFED0_0000L, 0x51).isDeliverable(), "not the local APIC range");
        assertFalse(new MsiMessage(0xFEE0_0000L, 0x0451).isDeliverable(), "delivery mode SMI");
    }

    @Test
    void shouldCountUndeliverableMsiInsteadOfThrowing()
    {
        irqchip.signalMsi(new MsiMessage(0x1234_0000L, 0x41));
        irqchip.signalMsi(new MsiMessage(0xFEE0_0000L, 0x0741));
        irqchip.signalMsi(MsiMessage.of(7, 0x41));
        irqchip.signalMsi(MsiMessage.of(0, 0x0F));
        assertEquals(2, irqchip.count(IrqCounter.BAD_MSI));
        assertEquals(1, irqchip.count(IrqCounter.BAD_DESTINATION));
        assertEquals(1, irqchip.count(IrqCounter.ILLEGAL_VECTOR));
        assertEquals(NO_VECTOR, irqchip.pendingVector(0));
        assertEquals(NO_VECTOR, irqchip.pendingVector(1));
    }

    @Test
    void shouldCoalesceAVectorThatIsAlreadyPending()
    {
        irqchip.signalMsi(MsiMessage.of(0, 0x41));
        irqchip.signalMsi(MsiMessage.of(0, 0x41));
        assertEquals(1, irqchip.delivered(0, 0x41));
        assertEquals(1, irqchip.count(IrqCounter.COALESCED));
        assertEquals(0x41, irqchip.acknowledge(0));
        assertEquals(NO_VECTOR, irqchip.acknowledge(0), "one interrupt, not two");
    }

    @Test
    void shouldAcknowledgeTheHighestVectorFirst()
    {
        irqchip.signalMsi(MsiMessage.of(0, 0x31));
        irqchip.signalMsi(MsiMessage.of(0, 0x82));
        irqchip.signalMsi(MsiMessage.of(0, 0x55));
        assertEquals(0x82, irqchip.acknowledge(0));
        assertTrue(irqchip.inService(0, 0x82));
        assertEquals(0x82, irqchip.eoi(0));
        assertEquals(0x55, irqchip.acknowledge(0));
        assertEquals(0x55, irqchip.eoi(0));
        assertEquals(0x31, irqchip.acknowledge(0));
    }

    @Test
    void shouldHoldVectorsOfTheSameOrLowerPriorityClassWhileOneIsInService()
    {
        irqchip.signalMsi(MsiMessage.of(0, 0x55));
        assertEquals(0x55, irqchip.acknowledge(0));
        irqchip.signalMsi(MsiMessage.of(0, 0x51));
        irqchip.signalMsi(MsiMessage.of(0, 0x42));
        assertEquals(NO_VECTOR, irqchip.pendingVector(0), "0x51 is in the same class as 0x55");
        irqchip.signalMsi(MsiMessage.of(0, 0x61));
        assertEquals(0x61, irqchip.acknowledge(0), "a higher class nests");
        assertEquals(0x61, irqchip.eoi(0));
        assertEquals(0x55, irqchip.eoi(0));
        assertEquals(0x51, irqchip.acknowledge(0));
    }

    @Test
    void shouldCountAnEoiWithNothingInService()
    {
        assertEquals(NO_VECTOR, irqchip.eoi(0));
        assertEquals(1, irqchip.count(IrqCounter.SPURIOUS_EOI));
    }

    @Test
    void shouldDeliverAnEdgePinOnTheRisingEdgeOnly()
    {
        irqchip.programPin(4, RedirectionEntry.edge(0x34, 0));
        irqchip.setIrq(SOURCE, 4, true);
        assertEquals(0x34, irqchip.acknowledge(0));
        irqchip.eoi(0);
        irqchip.setIrq(SOURCE, 4, true);
        assertEquals(NO_VECTOR, irqchip.pendingVector(0), "no edge while the line stays high");
        irqchip.setIrq(SOURCE, 4, false);
        irqchip.setIrq(SOURCE, 4, true);
        assertEquals(0x34, irqchip.pendingVector(0));
        assertEquals(2, irqchip.delivered(0, 0x34));
        assertEquals(3, irqchip.gsiRaised(4));
    }

    @Test
    void shouldNotRedeliverALevelPinBeforeItsEoi()
    {
        irqchip.programPin(9, RedirectionEntry.level(0x39, 1));
        irqchip.setIrq(SOURCE, 9, true);
        assertEquals(0x39, irqchip.acknowledge(1));
        irqchip.setIrq(SOURCE, 9, false);
        irqchip.setIrq(SOURCE, 9, true);
        assertEquals(NO_VECTOR, irqchip.pendingVector(1), "remote IRR holds it");
        assertEquals(1, irqchip.delivered(1, 0x39));
    }

    @Test
    void shouldRedeliverALevelPinAfterEoiWhileItsLineStaysHigh()
    {
        irqchip.programPin(9, RedirectionEntry.level(0x39, 0));
        irqchip.setIrq(SOURCE, 9, true);
        assertEquals(0x39, irqchip.acknowledge(0));
        assertEquals(0x39, irqchip.eoi(0));
        assertEquals(0x39, irqchip.pendingVector(0), "the line is still high");
        assertEquals(0x39, irqchip.acknowledge(0));
        irqchip.setIrq(SOURCE, 9, false);
        irqchip.eoi(0);
        assertEquals(NO_VECTOR, irqchip.pendingVector(0));
        assertEquals(2, irqchip.delivered(0, 0x39));
    }

    @Test
    void shouldOrTheLevelsOfAllSources()
    {
        irqchip.programPin(11, RedirectionEntry.level(0x3B, 0));
        irqchip.setIrq(0, 11, true);
        irqchip.setIrq(3, 11, true);
        irqchip.setIrq(0, 11, false);
        assertEquals(0x3B, irqchip.acknowledge(0));
        irqchip.eoi(0);
        assertEquals(0x3B, irqchip.pendingVector(0), "source 3 still holds the line");
    }

    @Test
    void shouldRunAckNotifiersOnTheEoiOfAPinsVector()
    {
        final List<Integer> acked = new ArrayList<>();
        irqchip.registerAckNotifier(9, acked::add);
        irqchip.registerAckNotifier(10, acked::add);
        irqchip.programPin(9, RedirectionEntry.level(0x39, 0));
        irqchip.setIrq(SOURCE, 9, true);
        irqchip.acknowledge(0);
        irqchip.eoi(0);
        assertEquals(List.of(9), acked);

        irqchip.signalMsi(MsiMessage.of(0, 0x50));
        irqchip.acknowledge(0);
        irqchip.eoi(0);
        assertEquals(List.of(9), acked, "an MSI vector reaches no pin");
    }

    @Test
    void shouldLetTheAckNotifierLowerTheLineBeforeRedelivery()
    {
        irqchip.programPin(9, RedirectionEntry.level(0x39, 0));
        irqchip.registerAckNotifier(9, gsi -> irqchip.setIrq(SOURCE, gsi, false));
        irqchip.setIrq(SOURCE, 9, true);
        irqchip.acknowledge(0);
        irqchip.eoi(0);
        assertEquals(NO_VECTOR, irqchip.pendingVector(0));
    }

    @Test
    void shouldStopCallingAnUnregisteredAckNotifier()
    {
        final AtomicInteger acked = new AtomicInteger();
        final AckNotifier notifier = gsi -> acked.incrementAndGet();
        irqchip.registerAckNotifier(9, notifier);
        irqchip.unregisterAckNotifier(9, notifier);
        irqchip.programPin(9, RedirectionEntry.level(0x39, 0));
        irqchip.setIrq(SOURCE, 9, true);
        irqchip.acknowledge(0);
        irqchip.eoi(0);
        assertEquals(0, acked.get());
    }

    @Test
    void shouldCountAssertsOfAMaskedPinAndDeliverALevelPinWhenUnmasked()
    {
        irqchip.setIrq(SOURCE, 5, true);
        assertEquals(1, irqchip.count(IrqCounter.MASKED), "pins start masked");
        assertEquals(NO_VECTOR, irqchip.pendingVector(0));
        irqchip.programPin(5, RedirectionEntry.level(0x35, 0));
        assertEquals(0x35, irqchip.pendingVector(0), "the line was high when it was unmasked");
    }

    @Test
    void shouldRouteGsisAboveThePinsToMsiMessages()
    {
        irqchip.setIrq(SOURCE, 40, true);
        assertEquals(1, irqchip.count(IrqCounter.UNROUTED_GSI));
        irqchip.setMsiRoute(40, MsiMessage.of(1, 0x70));
        irqchip.setIrq(SOURCE, 40, true);
        irqchip.setIrq(SOURCE, 40, false);
        assertEquals(0x70, irqchip.pendingVector(1));
        assertEquals(1, irqchip.delivered(1, 0x70));
        irqchip.setMsiRoute(40, null);
        irqchip.setIrq(SOURCE, 40, true);
        assertEquals(2, irqchip.count(IrqCounter.UNROUTED_GSI));
    }

    @Test
    void shouldCountGsisOutsideTheRoutingTable()
    {
        irqchip.setIrq(SOURCE, InterruptController.KVM_MAX_IRQ_ROUTES, true);
        irqchip.setIrq(SOURCE, -1, true);
        assertEquals(2, irqchip.count(IrqCounter.UNROUTED_GSI));
    }

    @Test
    void shouldRefuseHostArgumentsThatNameNothing()
    {
        assertThrows(IllegalArgumentException.class, () -> irqchip.pendingVector(2));
        assertThrows(IllegalArgumentException.class, () -> irqchip.programPin(24, RedirectionEntry.RESET));
        assertThrows(IllegalArgumentException.class, () -> irqchip.setMsiRoute(3, MsiMessage.of(0, 0x40)));
        assertThrows(IllegalArgumentException.class, () -> irqchip.setIrq(30, 1, true));
        assertThrows(IllegalArgumentException.class, () -> new InterruptController(0));
        assertThrows(IllegalArgumentException.class, () -> irqchip.gsiRaised(InterruptController.KVM_MAX_IRQ_ROUTES));
    }

    @Test
    void shouldEndTheNextWaitWhenKickedBeforeIt() throws InterruptedException
    {
        irqchip.kick(0);
        assertFalse(irqchip.awaitInterrupt(0, FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
        assertFalse(irqchip.awaitInterrupt(0, 1, TimeUnit.MILLISECONDS), "one kick ends one wait");
    }

    @Test
    void shouldReturnAtOnceWhenAnInterruptIsAlreadyPending() throws InterruptedException
    {
        irqchip.signalMsi(MsiMessage.of(0, 0x41));
        assertTrue(irqchip.awaitInterrupt(0, FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
    }

    @Test
    void shouldReturnFalseWhenTheTimeoutPasses() throws InterruptedException
    {
        assertFalse(irqchip.awaitInterrupt(0, 1, TimeUnit.MILLISECONDS));
    }

    @Test
    void shouldWakeAHaltedVcpuWhenAnInterruptArrives() throws Exception
    {
        final AtomicReference<Boolean> woke = new AtomicReference<>();
        final Thread vcpu = Thread.ofPlatform().name("vcpu-0").start(() ->
        {
            try
            {
                woke.set(irqchip.awaitInterrupt(0, FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
            }
        });
        awaitParked(vcpu);
        irqchip.signalMsi(MsiMessage.of(1, 0x41));
        irqchip.signalMsi(MsiMessage.of(0, 0x42));
        vcpu.join(TimeUnit.SECONDS.toMillis(FAILURE_TIMEOUT_SECONDS));
        assertEquals(Boolean.TRUE, woke.get());
    }

    @Test
    void shouldReturnFalseWhenKicked() throws Exception
    {
        final AtomicReference<Boolean> woke = new AtomicReference<>();
        final Thread vcpu = Thread.ofPlatform().name("vcpu-1").start(() ->
        {
            try
            {
                woke.set(irqchip.awaitInterrupt(1, FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
            }
        });
        awaitParked(vcpu);
        irqchip.kick(1);
        vcpu.join(TimeUnit.SECONDS.toMillis(FAILURE_TIMEOUT_SECONDS));
        assertEquals(Boolean.FALSE, woke.get());
    }

    @Test
    void shouldNeverLoseAWakeUp() throws Exception
    {
        final int interrupts = 2_000;
        final AtomicInteger handled = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final Thread vcpu = Thread.ofPlatform().name("vcpu-0").start(() ->
        {
            try
            {
                for (int i = 0; i < interrupts; i++)
                {
                    // a lost wake-up would sleep to the failure timeout and return false
                    assertTrue(irqchip.awaitInterrupt(0, FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
                    assertEquals(0x41, irqchip.acknowledge(0));
                    irqchip.eoi(0);
                    handled.incrementAndGet();
                }
            }
            catch (final Throwable t)
            {
                failure.set(t);
            }
        });
        for (int i = 0; i < interrupts && failure.get() == null; i++)
        {
            // bound: the vCPU handles each interrupt, or fails and the loop ends
            while (handled.get() < i && vcpu.isAlive())
            {
                Thread.onSpinWait();
            }
            irqchip.signalMsi(MsiMessage.of(0, 0x41));
        }
        vcpu.join(TimeUnit.SECONDS.toMillis(FAILURE_TIMEOUT_SECONDS));
        assertNull(failure.get(), () -> "vcpu failed: " + failure.get());
        assertEquals(interrupts, handled.get());
        assertEquals(interrupts, irqchip.delivered(0, 0x41));
    }

    private static void awaitParked(final Thread thread) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(FAILURE_TIMEOUT_SECONDS);
        // bound: the failure timeout
        while (thread.getState() != Thread.State.TIMED_WAITING && System.nanoTime() - deadline < 0)
        {
            Thread.sleep(1);
        }
        assertEquals(Thread.State.TIMED_WAITING, thread.getState(), "the vcpu never parked");
    }
}
