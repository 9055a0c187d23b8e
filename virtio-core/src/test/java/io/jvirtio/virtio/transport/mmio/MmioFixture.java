package io.jvirtio.virtio.transport.mmio;

import io.jvirtio.bus.irq.RedirectionEntry;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.vm.SimulatedVm;
import io.jvirtio.bus.vm.Vcpu;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.virtio.driver.DriverTransport;
import io.jvirtio.virtio.driver.MmioDriverTransport;
import io.jvirtio.virtio.driver.RawRegisters;
import io.jvirtio.virtio.driver.VirtioDriver;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.transport.LoopbackDevice;
import io.jvirtio.virtio.transport.TransportCounter;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A VM with one virtio-mmio loopback device and its guest driver on vCPU 0, driven by the test thread.
 */
final class MmioFixture implements AutoCloseable
{
    static final long BASE = 0xd000_0000L;
    static final int GSI = 5;
    static final int VECTOR = 0x35;
    static final long TIMEOUT_SECONDS = 30;
    /** Interrupt waits per expected used buffer before the test fails: each wait is itself bounded. */
    private static final int MAX_WAITS = 100;

    final SimulatedVm vm;
    final GuestMemory memory;
    final LoopbackDevice device = new LoopbackDevice();
    final VirtioMmioTransport transport;
    final Vcpu vcpu;
    final MmioDriverTransport driverTransport;
    final VirtioDriver driver;
    final RawRegisters raw;

    MmioFixture(final MmioNotifyMode mode)
    {
        vm = SimulatedVm.create(VmConfig.defaults());
        memory = vm.memory();
        vm.irqchip().programPin(GSI, RedirectionEntry.level(VECTOR, 0));
        transport = VirtioMmioTransport.create(vm, BASE, GSI, device, mode);
        vcpu = vm.vcpu(0);
        driverTransport = MmioDriverTransport.probe(vcpu, vm.guestAddressSpace(), BASE, transport.windowLength());
        driver = new VirtioDriver(driverTransport, vcpu, vm.guestAddressSpace(), memory);
        raw = driverTransport.raw();
    }

    long count(final TransportCounter counter)
    {
        return transport.counters().get(counter);
    }

    long rawRead(final int offset)
    {
        return raw.read(offset, 4);
    }

    void rawWrite(final int offset, final long value)
    {
        raw.write(offset, 4, value);
    }

    /** Initializes with {@code features}, sets up queue 0 with {@code size} entries, and sets DRIVER_OK. */
    SplitQueueDriver start(final long features, final int size)
    {
        driver.initialize(features);
        final SplitQueueDriver queue = driver.setupQueue(0, size);
        driver.driverOk();
        return queue;
    }

    long allocate(final int bytes)
    {
        return vm.guestAddressSpace().allocate(bytes, 64);
    }

    /** Posts one chain: {@code payload} readable, then as many writable bytes; returns the head. */
    int post(final SplitQueueDriver queue, final long in, final long out, final byte[] payload)
    {
        memory.copyIn(in, payload, 0, payload.length);
        final int head = queue.post(new long[] {in, out}, new long[] {payload.length, payload.length}, 1, 1);
        assertNotEquals(SplitQueueDriver.NO_SPACE, head);
        return head;
    }

    /** Reaps the next used element, halting for interrupts while there is none; fails after a bounded wait. */
    int reap(final SplitQueueDriver queue) throws InterruptedException
    {
        // bound: MAX_WAITS interrupt waits, each at most TIMEOUT_SECONDS
        for (int i = 0; i < MAX_WAITS; i++)
        {
            final int head = queue.reap();
            if (head != SplitQueueDriver.NOTHING_USED)
            {
                return head;
            }
            if (queue.enableInterruptsAndCheck())
            {
                continue;
            }
            final int causes = driver.awaitInterrupt(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (causes == VirtioDriver.NO_INTERRUPT)
            {
                fail("no interrupt for a used buffer: " + transport.counters());
            }
        }
        return fail("no used buffer after " + MAX_WAITS + " interrupts");
    }

    /** One loopback round trip of {@code payload}, checked byte for byte. */
    void roundTrip(final SplitQueueDriver queue, final byte[] payload) throws InterruptedException
    {
        final long in = allocate(payload.length);
        final long out = allocate(payload.length);
        final int head = post(queue, in, out, payload);
        kick(queue);
        assertEquals(head, reap(queue));
        assertEquals(payload.length, queue.reapedLength());
        final byte[] echoed = new byte[payload.length];
        memory.copyOut(out, echoed, 0, echoed.length);
        assertTrue(Arrays.equals(payload, echoed), "loopback bytes differ");
    }

    /** Kicks queue 0 through the driver core, or directly for a ring the test set up by hand. */
    void kick(final SplitQueueDriver queue)
    {
        if (driver.queue(0) == queue)
        {
            driver.kick(0);
            return;
        }
        queue.publish();
        if (queue.needsKick())
        {
            driverTransport.notifyQueue(0);
        }
    }

    /** Waits for an interrupt and returns its causes, failing on timeout. */
    int awaitCauses() throws InterruptedException
    {
        final int causes = driver.awaitInterrupt(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        if (causes == VirtioDriver.NO_INTERRUPT)
        {
            fail("no interrupt: " + transport.counters());
        }
        return causes;
    }

    static int causeConfig()
    {
        return DriverTransport.INTERRUPT_CONFIG_CHANGE;
    }

    @Override
    public void close()
    {
        transport.close();
        vm.close();
    }
}
