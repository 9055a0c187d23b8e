package io.jvirtio.bus.irq;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * One VM's simulated in-kernel interrupt controller: the target of irqfds and of {@code KVM_IRQ_LINE} /
 * {@code KVM_SIGNAL_MSI}.
 * <ul>
 *   <li><b>GSI routing.</b> GSIs 0 to {@link #IOAPIC_NUM_PINS} - 1 are the IOAPIC's pins (KVM's default x86 routing);
 *       GSIs from {@link #IOAPIC_NUM_PINS} up to {@link #KVM_MAX_IRQ_ROUTES} - 1 may be routed to an
 *       {@link MsiMessage} ({@code KVM_IRQ_ROUTING_MSI}), as a VMM does for MSI-X vectors.</li>
 *   <li><b>IOAPIC pins.</b> A pin's line is the OR of its sources' levels ({@code kvm_set_irq} with an IRQ source
 *       id). An edge-triggered pin delivers on a rising edge. A level-triggered pin delivers while the line is high
 *       and its remote IRR is clear, sets remote IRR, and on the guest's EOI of its vector runs the GSI's
 *       {@link AckNotifier}s, clears remote IRR and delivers again if the line is still high (KVM's
 *       {@code __kvm_ioapic_update_eoi}).</li>
 *   <li><b>Local APICs.</b> Delivery sets the vector pending (IRR) on the destination vCPU and wakes it if it waits
 *       in {@link #awaitInterrupt}; the vCPU {@link #acknowledge}s the highest deliverable vector (IRR to ISR) and
 *       signals {@link #eoi}.</li>
 * </ul>
 * Whatever the guest programmed, nothing here throws on the data path: undeliverable interrupts are counted under
 * an {@link IrqCounter}. Arguments that only the host chooses (a vCPU index, a source id, a pin number) are checked
 * and refused with {@link IllegalArgumentException}.
 * <p>
 * Thread safety: {@link #setIrq}, {@link #signalMsi} and every getter from any thread, lock-free and allocation-free;
 * {@link #pendingVector}, {@link #acknowledge}, {@link #eoi} and {@link #awaitInterrupt} for a vCPU only on that
 * vCPU's thread; {@link #programPin}, {@link #setMsiRoute} and the notifier methods from any thread (the control
 * path).
 */
public final class InterruptController
{
    /** {@code IOAPIC_NUM_PINS}. */
    public static final int IOAPIC_NUM_PINS = 24;
    /** {@code KVM_MAX_IRQ_ROUTES} on x86: the size of the GSI routing table. */
    public static final int KVM_MAX_IRQ_ROUTES = 4096;
    /** {@code KVM_USERSPACE_IRQ_SOURCE_ID}: KVM_IRQ_LINE and edge irqfds. */
    public static final int KVM_USERSPACE_IRQ_SOURCE_ID = 0;
    /** {@code KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID}: the level of resample irqfds. */
    public static final int KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID = 1;
    /** The number of IRQ source ids a pin's level can combine. */
    public static final int IRQ_SOURCE_IDS = 30;
    /** No vector is pending or in service. */
    public static final int NO_VECTOR = Lapic.NO_VECTOR;

    private static final int SOURCES_MASK = (1 << IRQ_SOURCE_IDS) - 1;
    private static final int REMOTE_IRR = 1 << IRQ_SOURCE_IDS;
    private static final int FIRST_VALID_VECTOR = 16;
    private static final AckRegistration[] NO_NOTIFIERS = new AckRegistration[0];

    private final Lapic[] lapics;
    private final AtomicReferenceArray<RedirectionEntry> redirectionTable =
        new AtomicReferenceArray<>(IOAPIC_NUM_PINS);
    /** Per pin: the asserting sources in bits 0-29, remote IRR in bit 30. */
    private final AtomicIntegerArray pinStates = new AtomicIntegerArray(IOAPIC_NUM_PINS);
    private final AtomicReferenceArray<MsiMessage> msiRoutes = new AtomicReferenceArray<>(KVM_MAX_IRQ_ROUTES);
    private final AtomicLongArray gsiRaised = new AtomicLongArray(KVM_MAX_IRQ_ROUTES);
    private final AtomicLongArray counters = new AtomicLongArray(IrqCounter.values().length);
    private final Object notifierLock = new Object();
    private volatile AckRegistration[] ackNotifiers = NO_NOTIFIERS;

    /**
     * @param vcpuCount the number of vCPUs, whose APIC ids are 0 to {@code vcpuCount - 1}.
     */
    public InterruptController(final int vcpuCount)
    {
        if (vcpuCount < 1 || vcpuCount > 255)
        {
            throw new IllegalArgumentException("vcpu count must be 1 to 255: vcpuCount=" + vcpuCount);
        }
        lapics = new Lapic[vcpuCount];
        for (int i = 0; i < vcpuCount; i++)
        {
            lapics[i] = new Lapic();
        }
        for (int pin = 0; pin < IOAPIC_NUM_PINS; pin++)
        {
            redirectionTable.set(pin, RedirectionEntry.RESET);
        }
    }

    /** @return the number of vCPUs. */
    public int vcpuCount()
    {
        return lapics.length;
    }

    /**
     * The guest's write of one IOAPIC redirection entry. Unmasking a level-triggered pin whose line is high
     * delivers it, as KVM's {@code ioapic_write_indirect} does.
     *
     * @param pin   0 to {@link #IOAPIC_NUM_PINS} - 1.
     * @param entry the new entry.
     */
    public void programPin(final int pin, final RedirectionEntry entry)
    {
        checkPin(pin);
        redirectionTable.set(pin, entry);
        if (entry.levelTriggered())
        {
            updatePin(pin, 0, false, false);
        }
    }

    /** @return the redirection entry of {@code pin}. */
    public RedirectionEntry pinEntry(final int pin)
    {
        checkPin(pin);
        return redirectionTable.get(pin);
    }

    /**
     * Routes {@code gsi} to an MSI message, or removes its route.
     *
     * @param gsi     {@link #IOAPIC_NUM_PINS} to {@link #KVM_MAX_IRQ_ROUTES} - 1.
     * @param message the message, or null for no route.
     */
    public void setMsiRoute(final int gsi, final MsiMessage message)
    {
        if (gsi < IOAPIC_NUM_PINS || gsi >= KVM_MAX_IRQ_ROUTES)
        {
            throw new IllegalArgumentException("msi routes use gsis above the ioapic pins: gsi=" + gsi);
        }
        msiRoutes.set(gsi, message);
    }

    /**
     * {@code kvm_set_irq}: sets source {@code sourceId}'s level on {@code gsi}. On a pin the line is the OR of all
     * sources; on an MSI route a level of 1 sends the message and 0 does nothing. A GSI without a route is counted
     * ({@link IrqCounter#UNROUTED_GSI}).
     *
     * @param sourceId 0 to {@link #IRQ_SOURCE_IDS} - 1, such as {@link #KVM_USERSPACE_IRQ_SOURCE_ID}.
     * @param gsi      the GSI, treated as unsigned.
     * @param level    true to assert, false to de-assert.
     */
    public void setIrq(final int sourceId, final int gsi, final boolean level)
    {
        if (sourceId < 0 || sourceId >= IRQ_SOURCE_IDS)
        {
            throw new IllegalArgumentException("irq source id must be 0 to 29: sourceId=" + sourceId);
        }
        if (Integer.compareUnsigned(gsi, KVM_MAX_IRQ_ROUTES) >= 0)
        {
            counters.getAndIncrement(IrqCounter.UNROUTED_GSI.ordinal());
            return;
        }
        if (level)
        {
            gsiRaised.getAndIncrement(gsi);
        }
        if (gsi < IOAPIC_NUM_PINS)
        {
            updatePin(gsi, 1 << sourceId, level, false);
            return;
        }
        final MsiMessage message = msiRoutes.get(gsi);
        if (message == null)
        {
            counters.getAndIncrement(IrqCounter.UNROUTED_GSI.ordinal());
            return;
        }
        if (level)
        {
            signalMsi(message);
        }
    }

    /**
     * {@code KVM_SIGNAL_MSI} / {@code kvm_set_msi}: delivers an MSI message, edge-triggered.
     *
     * @param message the message; one that is not deliverable is counted ({@link IrqCounter#BAD_MSI}).
     */
    public void signalMsi(final MsiMessage message)
    {
        if (!message.isDeliverable())
        {
            counters.getAndIncrement(IrqCounter.BAD_MSI.ordinal());
            return;
        }
        deliver(message.destination(), message.vector(), false);
    }

    /**
     * {@code kvm_register_irq_ack_notifier}: {@code notifier} is called whenever the guest EOIs an interrupt from
     * the pin that {@code gsi} routes to.
     */
    public void registerAckNotifier(final int gsi, final AckNotifier notifier)
    {
        synchronized (notifierLock)
        {
            final AckRegistration[] next = Arrays.copyOf(ackNotifiers, ackNotifiers.length + 1);
            next[next.length - 1] = new AckRegistration(gsi, notifier);
            ackNotifiers = next;
        }
    }

    /** {@code kvm_unregister_irq_ack_notifier}: removes a registration made with the same gsi and notifier. */
    public void unregisterAckNotifier(final int gsi, final AckNotifier notifier)
    {
        synchronized (notifierLock)
        {
            final AckRegistration[] old = ackNotifiers;
            // bound: one pass over the registered notifiers
            for (int i = 0; i < old.length; i++)
            {
                if (old[i].gsi == gsi && old[i].notifier == notifier)
                {
                    final AckRegistration[] next = new AckRegistration[old.length - 1];
                    System.arraycopy(old, 0, next, 0, i);
                    System.arraycopy(old, i + 1, next, i, old.length - i - 1);
                    ackNotifiers = next;
                    return;
                }
            }
        }
    }

    /**
     * @return the highest vector that would be delivered to {@code vcpu} now, or {@link #NO_VECTOR}. vCPU thread.
     */
    public int pendingVector(final int vcpu)
    {
        return lapic(vcpu).pendingVector();
    }

    /**
     * The interrupt-acknowledge cycle: moves the highest deliverable vector from pending to in service.
     *
     * @return the vector the vCPU now handles, or {@link #NO_VECTOR}. vCPU thread.
     */
    public int acknowledge(final int vcpu)
    {
        return lapic(vcpu).acknowledge();
    }

    /**
     * The guest's write to the local APIC's EOI register: ends the highest in-service vector. For a vector that the
     * IOAPIC delivers, the EOI reaches the IOAPIC: ack notifiers run for each pin with that vector, and for a
     * level-triggered one remote IRR is cleared and the pin delivers again if its line is still high. An EOI with
     * nothing in service is counted ({@link IrqCounter#SPURIOUS_EOI}).
     *
     * @return the vector that ended, or {@link #NO_VECTOR}. vCPU thread.
     */
    public int eoi(final int vcpu)
    {
        final int result = lapic(vcpu).eoi();
        if (result == NO_VECTOR)
        {
            counters.getAndIncrement(IrqCounter.SPURIOUS_EOI.ordinal());
            return NO_VECTOR;
        }
        final int vector = result & 0xFF;
        final boolean levelTriggered = (result & 0x100) != 0;
        // bound: the fixed number of IOAPIC pins
        for (int pin = 0; pin < IOAPIC_NUM_PINS; pin++)
        {
            final RedirectionEntry entry = redirectionTable.get(pin);
            if (entry.vector() != vector)
            {
                continue;
            }
            notifyAcked(pin);
            if (levelTriggered && entry.levelTriggered())
            {
                updatePin(pin, 0, false, true);
            }
        }
        return vector;
    }

    /**
     * The HLT wait: blocks until an interrupt is deliverable to {@code vcpu}, the timeout passes, or
     * {@link #kick(int)} is called. An injection wakes it directly (no lost wake-up: the waiter publishes itself
     * before it re-checks, and injection sets the vector before it looks for a waiter). vCPU thread.
     *
     * @return true if an interrupt is deliverable, false on timeout or kick.
     * @throws InterruptedException if the thread is interrupted while it waits.
     */
    public boolean awaitInterrupt(final int vcpu, final long timeout, final TimeUnit unit) throws InterruptedException
    {
        return lapic(vcpu).await(timeout, unit);
    }

    /**
     * Wakes {@code vcpu} from {@link #awaitInterrupt} without an interrupt, as {@code kvm_vcpu_kick}; a kick while
     * the vCPU is not waiting ends its next wait at once, so a stop request is never missed. Any thread.
     */
    public void kick(final int vcpu)
    {
        lapic(vcpu).kick();
    }

    /** @return true if {@code vector} is in service on {@code vcpu}. */
    public boolean inService(final int vcpu, final int vector)
    {
        return lapic(vcpu).inService(vector & 0xFF);
    }

    /** @return how often {@code gsi} was asserted, by any source. */
    public long gsiRaised(final int gsi)
    {
        if (gsi < 0 || gsi >= KVM_MAX_IRQ_ROUTES)
        {
            throw new IllegalArgumentException("gsi outside the routing table: gsi=" + gsi);
        }
        return gsiRaised.get(gsi);
    }

    /** @return how often {@code vector} became pending on {@code vcpu} (coalesced ones not counted). */
    public long delivered(final int vcpu, final int vector)
    {
        return lapic(vcpu).delivered(vector & 0xFF);
    }

    /** @return the value of a named counter. */
    public long count(final IrqCounter counter)
    {
        return counters.get(counter.ordinal());
    }

    /**
     * Changes one pin's state atomically and delivers what the change calls for.
     *
     * @param sourceBit the source whose level changes, or 0 for none.
     * @param level     that source's new level.
     * @param eoi       true to clear remote IRR first (the EOI of a level-triggered pin).
     */
    private void updatePin(final int pin, final int sourceBit, final boolean level, final boolean eoi)
    {
        final RedirectionEntry entry = redirectionTable.get(pin);
        // bound: a failed compare-and-set means another thread changed this pin; lock-free, each retry re-reads
        while (true)
        {
            final int old = pinStates.get(pin);
            final int sources = (level ? old | sourceBit : old & ~sourceBit) & SOURCES_MASK;
            final boolean wasHigh = (old & SOURCES_MASK) != 0;
            final boolean high = (sources & SOURCES_MASK) != 0;
            final int remoteIrr = eoi ? 0 : old & REMOTE_IRR;
            final boolean deliver;
            final int next;
            if (entry.levelTriggered())
            {
                deliver = high && !entry.masked() && remoteIrr == 0;
                next = sources | (deliver ? REMOTE_IRR : remoteIrr);
            }
            else
            {
                deliver = high && !wasHigh && !entry.masked() && sourceBit != 0;
                next = sources;
            }
            if (pinStates.compareAndSet(pin, old, next))
            {
                if (high && entry.masked() && sourceBit != 0 && level)
                {
                    counters.getAndIncrement(IrqCounter.MASKED.ordinal());
                }
                if (deliver)
                {
                    deliver(entry.destination(), entry.vector(), entry.levelTriggered());
                }
                return;
            }
        }
    }

    private void deliver(final int destination, final int vector, final boolean levelTriggered)
    {
        if (destination < 0 || destination >= lapics.length)
        {
            counters.getAndIncrement(IrqCounter.BAD_DESTINATION.ordinal());
            return;
        }
        if (vector < FIRST_VALID_VECTOR || vector > 0xFF)
        {
            counters.getAndIncrement(IrqCounter.ILLEGAL_VECTOR.ordinal());
            return;
        }
        if (!lapics[destination].accept(vector, levelTriggered))
        {
            counters.getAndIncrement(IrqCounter.COALESCED.ordinal());
        }
    }

    private void notifyAcked(final int gsi)
    {
        final AckRegistration[] registrations = ackNotifiers;
        // bound: one pass over the registered notifiers
        for (int i = 0; i < registrations.length; i++)
        {
            if (registrations[i].gsi == gsi)
            {
                registrations[i].notifier.irqAcked(gsi);
            }
        }
    }

    private Lapic lapic(final int vcpu)
    {
        if (vcpu < 0 || vcpu >= lapics.length)
        {
            throw new IllegalArgumentException("no such vcpu: vcpu=" + vcpu + ", vcpuCount=" + lapics.length);
        }
        return lapics[vcpu];
    }

    private static void checkPin(final int pin)
    {
        if (pin < 0 || pin >= IOAPIC_NUM_PINS)
        {
            throw new IllegalArgumentException("no such ioapic pin: pin=" + pin);
        }
    }

    /** One ack notifier and the GSI it listens to. */
    private record AckRegistration(int gsi, AckNotifier notifier)
    {
    }
}
