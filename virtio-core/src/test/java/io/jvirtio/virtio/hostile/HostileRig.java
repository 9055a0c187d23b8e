package io.jvirtio.virtio.hostile;

import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.driver.DriverTransport;
import io.jvirtio.virtio.driver.PciDriverTransport;
import io.jvirtio.virtio.driver.RawRegisters;
import io.jvirtio.virtio.driver.VirtioDriver;
import io.jvirtio.virtio.machine.AttachedDevice;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.machine.VirtioMachine;
import io.jvirtio.virtio.queue.DescriptorLayout;
import io.jvirtio.virtio.queue.QueueError;
import io.jvirtio.virtio.queue.RawSplitRing;
import io.jvirtio.virtio.queue.SplitQueue;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.testkit.HostHealth;
import io.jvirtio.virtio.transport.LoopbackDevice;
import io.jvirtio.virtio.transport.QueueArea;
import io.jvirtio.virtio.transport.TransportCounter;
import io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters;
import io.jvirtio.virtio.transport.pci.CommonCfgLayout;
import io.jvirtio.virtio.transport.pci.VirtioPciTransport;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A machine with one {@link LoopbackDevice} under attack on a chosen transport, its guest driver on vCPU 0, and the
 * register and ring access a hostile driver needs: every register access is a load or store through the vCPU (an
 * exit), every kick a store to the notify address (an ioeventfd on the fast-MMIO path, or a datamatch one), and the
 * device's worker runs on its own thread.
 * <p>
 * Thread safety: the test thread, which plays the guest.
 */
final class HostileRig implements AutoCloseable
{
    /** Queue Size of both queues, unless a test sets up its own. */
    static final int N = 16;
    /** Bytes per buffer slot of {@link #buffer(int)}. */
    static final int SLOT = 256;
    /** Buffer slots allocated before the watch starts. */
    static final int SLOTS = 256;
    /** RAM of the machine: small, so the canary fill and check are quick. */
    static final long RAM = 16L << 20;
    private static final int MAX_POLLS = 300_000;
    private static final long POLL_NANOS = 100_000;
    private static final int MAX_INTERRUPT_WAITS = 100;

    final VirtioMachine machine;
    final TransportKind kind;
    final AttachedDevice dut;
    final LoopbackDevice device;
    final GuestMemory memory;
    final RawRegisters raw;
    final long buffers;
    SplitQueueDriver q0;
    SplitQueueDriver q1;
    RawSplitRing ring;
    HostHealth health;
    private int availIdx;

    HostileRig(final TransportKind kind)
    {
        this(kind, new LoopbackDevice());
    }

    HostileRig(final TransportKind kind, final LoopbackDevice device)
    {
        this.kind = kind;
        this.machine = VirtioMachine.create(VmConfig.defaults().withMemoryBytes(RAM));
        this.device = device;
        this.dut = machine.attach(device, kind);
        this.memory = machine.vm().memory();
        this.raw = dut.driver().transport().raw();
        this.buffers = machine.vm().guestAddressSpace().allocate((long)SLOT * SLOTS, 4096);
    }

    /** Negotiates {@code features}, sets up both queues of {@link #N} entries (no queue interrupts), DRIVER_OK. */
    HostileRig start(final long features)
    {
        return start(features, N);
    }

    /** As {@link #start(long)} with queue 0 of {@code size} entries. */
    HostileRig start(final long features, final int size)
    {
        driver().initialize(features);
        q0 = driver().setupQueue(0, size);
        q1 = driver().setupQueue(1, N);
        q0.disableInterrupts();
        q1.disableInterrupts();
        driver().driverOk();
        ring = q0.raw();
        availIdx = ring.availIdx();
        return this;
    }

    /** Starts watching host health; call after the rings and buffers of the attack are set up. */
    HostHealth watch()
    {
        health = HostHealth.watch(machine);
        return health;
    }

    VirtioDriver driver()
    {
        return dut.driver();
    }

    long buffer(final int slot)
    {
        return buffers + (long)slot * SLOT;
    }

    long count(final TransportCounter counter)
    {
        return dut.core().counters().get(counter);
    }

    SplitQueue deviceQueue(final int queue)
    {
        return dut.core().queue(queue);
    }

    VirtioPciTransport pci()
    {
        return machine.pciTransport(dut);
    }

    // ------------------------------------------------------------------------------------------ ring, hostile side

    /** Makes {@code head} available in the next avail slot and publishes the new avail.idx (no kick). */
    HostileRig offer(final int head)
    {
        ring.availEntry(availIdx % ring.size(), head);
        availIdx = (availIdx + 1) & 0xFFFF;
        ring.availIdx(availIdx);
        return this;
    }

    /** Sets avail.idx to {@code idx} (any value), as a hostile driver would. */
    HostileRig availIdx(final int idx)
    {
        availIdx = idx & 0xFFFF;
        ring.availIdx(availIdx);
        return this;
    }

    /** A kick of queue {@code queue} through its notify address: a store through the vCPU. */
    void kick(final int queue)
    {
        driver().transport().notifyQueue(queue);
    }

    /** @return the guest-physical address of the device's own notify register (its MMIO, not RAM). */
    long notifyGpa()
    {
        if (kind == TransportKind.PCI)
        {
            return ((PciDriverTransport)driver().transport()).barAddress(
                VirtioPciTransport.STRUCTURE_BAR) + VirtioPciTransport.NOTIFY_OFFSET;
        }
        return VirtioMachine.MMIO_BASE + VirtioMmioRegisters.QUEUE_NOTIFY;
    }

    /** @return the guest-physical address of queue 0's used ring. */
    long usedRingGpa()
    {
        return dut.core().queueAddress(0, QueueArea.DEVICE);
    }

    /**
     * Writes descriptors {@code first} to {@code first + 1} as one request: {@code length} readable bytes in buffer
     * slot {@code slot} holding a pattern, then as many writable bytes in slot {@code slot + 1}.
     */
    HostileRig pair(final int first, final int slot, final int length)
    {
        final byte[] pattern = new byte[length];
        // bound: length bytes
        for (int i = 0; i < length; i++)
        {
            pattern[i] = (byte)(slot * 7 + i + 1);
        }
        memory.copyIn(buffer(slot), pattern, 0, length);
        ring.descriptor(first, buffer(slot), length, DescriptorLayout.VIRTQ_DESC_F_NEXT, first + 1);
        ring.descriptor(first + 1, buffer(slot + 1), length, DescriptorLayout.VIRTQ_DESC_F_WRITE, 0);
        return this;
    }

    /** Waits (bounded) until the device has published {@code usedIdx} on queue 0. */
    void awaitUsedIdx(final int usedIdx)
    {
        // bound: MAX_POLLS polls, a failure timeout
        for (int i = 0; i < MAX_POLLS; i++)
        {
            if (ring.usedIdx() == (usedIdx & 0xFFFF))
            {
                return;
            }
            LockSupport.parkNanos(POLL_NANOS);
        }
        fail("the device did not publish: usedIdx=" + ring.usedIdx() + ", wanted=" + usedIdx + ", counters="
            + dut.core().counters());
    }

    /**
     * The NEEDS_RESET outcome: a configuration change interrupt arrives, the status shows DEVICE_NEEDS_RESET, queue 0
     * broke for {@code error} and the transport counted it; nothing was published to the used ring.
     */
    void expectNeedsReset(final QueueError error) throws InterruptedException
    {
        awaitConfigInterrupt();
        assertTrue((driver().transport().readStatus() & DeviceStatus.DEVICE_NEEDS_RESET) != 0,
            "status lacks DEVICE_NEEDS_RESET: status=0x" + Integer.toHexString(driver().transport().readStatus()));
        assertEquals(error, deviceQueue(0).brokenReason());
        assertEquals(1, count(TransportCounter.QUEUE_BROKEN));
    }

    /** Halts for interrupts until one carries a configuration change; fails after a bounded number of waits. */
    void awaitConfigInterrupt() throws InterruptedException
    {
        // bound: MAX_INTERRUPT_WAITS waits of at most 30 s each, a failure timeout
        for (int i = 0; i < MAX_INTERRUPT_WAITS; i++)
        {
            final int causes = driver().awaitInterrupt(30, TimeUnit.SECONDS);
            if (causes == VirtioDriver.NO_INTERRUPT)
            {
                break;
            }
            if ((causes & DriverTransport.INTERRUPT_CONFIG_CHANGE) != 0)
            {
                return;
            }
        }
        fail("no configuration change interrupt: counters=" + dut.core().counters());
    }

    /** After a NEEDS_RESET outcome: the host is healthy, and after a reset both queues work again. */
    void expectHealthyAfterReset()
    {
        health.checkHealthy();
        health.loopbackRoundTripAfterReset(dut, N);
    }

    /** After an outcome that keeps the device running: the host is healthy and the other queue still works. */
    void expectHealthyAndOtherQueueWorks()
    {
        health.checkHealthy();
        health.loopbackRoundTrip(dut, 1);
    }

    // ------------------------------------------------------------------------------------ registers, any transport

    /** Writes queue_select / QueueSel (16 bits on PCI, 32 on MMIO). */
    void queueSelect(final long queue)
    {
        regWrite(CommonCfgLayout.QUEUE_SELECT, 2, VirtioMmioRegisters.QUEUE_SEL, queue);
    }

    void queueSize(final long size)
    {
        regWrite(CommonCfgLayout.QUEUE_SIZE, 2, VirtioMmioRegisters.QUEUE_SIZE, size);
    }

    long queueSize()
    {
        return regRead(CommonCfgLayout.QUEUE_SIZE, 2, VirtioMmioRegisters.QUEUE_SIZE);
    }

    void queueReady(final long ready)
    {
        regWrite(CommonCfgLayout.QUEUE_ENABLE, 2, VirtioMmioRegisters.QUEUE_READY, ready);
    }

    long queueReady()
    {
        return regRead(CommonCfgLayout.QUEUE_ENABLE, 2, VirtioMmioRegisters.QUEUE_READY);
    }

    /** Writes one 32-bit half of a queue area address. */
    void queueAddressHalf(final QueueArea area, final boolean high, final long value)
    {
        final int pci = switch (area)
        {
            case DESC -> CommonCfgLayout.QUEUE_DESC;
            case DRIVER -> CommonCfgLayout.QUEUE_DRIVER;
            case DEVICE -> CommonCfgLayout.QUEUE_DEVICE;
        };
        final int mmio = switch (area)
        {
            case DESC -> VirtioMmioRegisters.QUEUE_DESC_LOW;
            case DRIVER -> VirtioMmioRegisters.QUEUE_DRIVER_LOW;
            case DEVICE -> VirtioMmioRegisters.QUEUE_DEVICE_LOW;
        };
        final int half = high ? 4 : 0;
        regWrite(pci + half, 4, mmio + half, value & 0xFFFF_FFFFL);
    }

    /** Writes all three area addresses, low halves first. */
    void queueAddresses(final long desc, final long driverArea, final long deviceArea)
    {
        queueAddressHalf(QueueArea.DESC, false, desc);
        queueAddressHalf(QueueArea.DESC, true, desc >>> 32);
        queueAddressHalf(QueueArea.DRIVER, false, driverArea);
        queueAddressHalf(QueueArea.DRIVER, true, driverArea >>> 32);
        queueAddressHalf(QueueArea.DEVICE, false, deviceArea);
        queueAddressHalf(QueueArea.DEVICE, true, deviceArea >>> 32);
    }

    void status(final int status)
    {
        regWrite(CommonCfgLayout.DEVICE_STATUS, 1, VirtioMmioRegisters.STATUS, status);
    }

    int status()
    {
        return (int)regRead(CommonCfgLayout.DEVICE_STATUS, 1, VirtioMmioRegisters.STATUS);
    }

    void driverFeatures(final long select, final long value)
    {
        regWrite(CommonCfgLayout.DRIVER_FEATURE_SELECT, 4, VirtioMmioRegisters.DRIVER_FEATURES_SEL, select);
        regWrite(CommonCfgLayout.DRIVER_FEATURE, 4, VirtioMmioRegisters.DRIVER_FEATURES, value);
    }

    /**
     * A notification carrying {@code value}: on virtio-mmio the value written to QueueNotify; on virtio-pci the
     * 16-bit value written to the notify address of queue {@code addressOf} (each queue has its own).
     */
    void notifyRaw(final int addressOf, final long value)
    {
        if (kind == TransportKind.PCI)
        {
            raw.write(VirtioPciTransport.NOTIFY_OFFSET
                + (long)addressOf * VirtioPciTransport.NOTIFY_OFF_MULTIPLIER, 2, value);
        }
        else
        {
            raw.write(VirtioMmioRegisters.QUEUE_NOTIFY, 4, value);
        }
    }

    /** @return where device configuration space starts in the raw window. */
    long configBase()
    {
        return kind == TransportKind.PCI ? VirtioPciTransport.DEVICE_CFG_OFFSET : VirtioMmioRegisters.CONFIG;
    }

    private void regWrite(final int pciOffset, final int pciSize, final int mmioOffset, final long value)
    {
        if (kind == TransportKind.PCI)
        {
            raw.write(VirtioPciTransport.COMMON_CFG_OFFSET + pciOffset, pciSize, value);
        }
        else
        {
            raw.write(mmioOffset, VirtioMmioRegisters.REGISTER_SIZE, value);
        }
    }

    private long regRead(final int pciOffset, final int pciSize, final int mmioOffset)
    {
        if (kind == TransportKind.PCI)
        {
            return raw.read(VirtioPciTransport.COMMON_CFG_OFFSET + pciOffset, pciSize);
        }
        return raw.read(mmioOffset, VirtioMmioRegisters.REGISTER_SIZE);
    }

    @Override
    public void close()
    {
        if (health != null)
        {
            health.close();
        }
        machine.close();
    }
}
