package io.jvirtio.virtio.driver;

import io.jvirtio.bus.guest.GuestAddressSpace;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.vm.Vcpu;
import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.queue.SplitQueueDriver;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * A guest driver's transport-independent core, written to the driver requirements of virtio-v1.2 §3.1.1 "Driver
 * Requirements: Device Initialization", §2.7.13 "Supplying Buffers to The Device" and §2.7.14 "Receiving Used Buffers
 * From The Device". It reaches the device only through a {@link DriverTransport} (each register access an exit on
 * the vCPU) and through guest RAM (the rings).
 * <p>
 * {@snippet :
 * VirtioDriver driver = new VirtioDriver(MmioDriverTransport.probe(vcpu, vm.guestAddressSpace(), base, 0x200),
 *     vcpu, vm.guestAddressSpace(), vm.memory());
 * driver.initialize(0);                      // reset, ACK, DRIVER, features, FEATURES_OK (checked)
 * SplitQueueDriver q = driver.setupQueue(0, 64);
 * driver.driverOk();
 * q.post(addrs, lens, 1, 1);
 * driver.kick(0);                            // publish, and notify if the device wants it
 * driver.awaitInterrupt(1, TimeUnit.SECONDS); // hlt, read and ACK the causes, EOI
 * int head = q.reap();
 * }
 * <p>
 * Thread safety: the vCPU thread that plays the driver; not thread-safe.
 */
public final class VirtioDriver
{
    /** {@link #awaitInterrupt} result when no interrupt came before the timeout. */
    public static final int NO_INTERRUPT = -1;
    /** Status reads after a reset before giving up: the device shows 0 once it has quiesced. */
    private static final int RESET_POLLS = 1000;
    private static final long VERSION_1 = VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1);

    private final DriverTransport transport;
    private final Vcpu vcpu;
    private final GuestAddressSpace addressSpace;
    private final GuestMemory memory;
    private final SplitQueueDriver[] queues = new SplitQueueDriver[Long.SIZE];
    private long features;
    private long kicks;
    private long interrupts;

    /**
     * @param transport    the transport's driver side.
     * @param vcpu         the vCPU the driver runs on (interrupts are taken here).
     * @param addressSpace where ring memory is allocated.
     * @param memory       guest RAM.
     */
    public VirtioDriver(
        final DriverTransport transport,
        final Vcpu vcpu,
        final GuestAddressSpace addressSpace,
        final GuestMemory memory)
    {
        this.transport = transport;
        this.vcpu = vcpu;
        this.addressSpace = addressSpace;
        this.memory = memory;
    }

    /** @return the transport's driver side (its {@link DriverTransport#raw()} writes anything, for hostile tests). */
    public DriverTransport transport()
    {
        return transport;
    }

    /** Resets the device: writes 0 and waits until the status reads 0 (§4.2.3.1.1, §4.1.4.3.2). */
    public void reset()
    {
        transport.writeStatus(0);
        // bound: a device shows 0 once its workers stopped; give up after RESET_POLLS reads
        for (int i = 0; i < RESET_POLLS; i++)
        {
            if (transport.readStatus() == 0)
            {
                Arrays.fill(queues, null);
                features = 0;
                return;
            }
        }
        throw new VirtioDriverException("device did not complete reset: status=0x"
            + Integer.toHexString(transport.readStatus()));
    }

    /**
     * Steps 1 to 6 of §3.1.1: reset, ACKNOWLEDGE, DRIVER, read the offer, write the accepted subset (always with
     * VIRTIO_F_VERSION_1), set FEATURES_OK and re-read it to check that the device accepted.
     *
     * @param wanted the features the driver understands (VERSION_1 is added).
     * @return the accepted features: {@code offer & (wanted | VERSION_1)}.
     * @throws VirtioDriverException (after setting FAILED) if the device does not offer VERSION_1 or refuses the set.
     */
    public long initialize(final long wanted)
    {
        reset();
        transport.writeStatus(DeviceStatus.ACKNOWLEDGE);
        transport.writeStatus(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        final long offered = transport.readDeviceFeatures();
        if ((offered & VERSION_1) == 0)
        {
            fail();
            throw new VirtioDriverException("device does not offer VIRTIO_F_VERSION_1: offered=0x"
                + Long.toHexString(offered));
        }
        final long accepted = offered & (wanted | VERSION_1);
        transport.writeDriverFeatures(accepted);
        transport.writeStatus(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK);
        final int status = transport.readStatus();
        if ((status & DeviceStatus.FEATURES_OK) == 0)
        {
            fail();
            throw new VirtioDriverException("device refused the features: accepted=0x" + Long.toHexString(accepted)
                + ", status=0x" + Integer.toHexString(status));
        }
        features = accepted;
        return accepted;
    }

    /** Tells the device the driver gave up (FAILED ORed into the status). */
    public void fail()
    {
        transport.writeStatus(transport.readStatus() | DeviceStatus.FAILED);
    }

    /** @return the features accepted by {@link #initialize}; 0 before it. */
    public long features()
    {
        return features;
    }

    /**
     * Step 7 of §3.1.1 for one queue: checks the queue exists and is not ready, allocates its three areas in guest
     * RAM, initializes them, writes the size and addresses, and enables it.
     *
     * @param queue the queue index, 0 to 63.
     * @param size  Queue Size, a power of 2 no larger than QueueSizeMax.
     * @return the ring's driver side.
     * @throws VirtioDriverException if the queue does not exist, is already ready, is smaller than {@code size}, or
     *                               the device did not enable it.
     */
    public SplitQueueDriver setupQueue(final int queue, final int size)
    {
        if (queue < 0 || queue >= queues.length)
        {
            throw new IllegalArgumentException("queue index must be 0 to 63: queue=" + queue);
        }
        if (transport.queueReady(queue))
        {
            throw new VirtioDriverException("queue is already ready: queue=" + queue);
        }
        final int max = transport.queueMaxSize(queue);
        if (max == 0 || size > max)
        {
            throw new VirtioDriverException("queue not available at that size: queue=" + queue + ", size=" + size
                + ", max=" + max);
        }
        final long base = addressSpace.allocate(SplitQueueConfig.contiguousLength(size), 4096);
        final SplitQueueConfig config = SplitQueueConfig.contiguous(base, size,
            VirtioFeatures.has(features, VirtioFeatures.VIRTIO_F_EVENT_IDX), false);
        // the rings are initialized before the device may look at them (used.flags = 0, §2.7.10.1)
        final SplitQueueDriver driver = new SplitQueueDriver(memory, config);
        transport.setupQueue(queue, size, config.descTable(), config.availRing(), config.usedRing());
        transport.enableQueue(queue);
        if (!transport.queueReady(queue))
        {
            throw new VirtioDriverException("device did not enable the queue: queue=" + queue);
        }
        queues[queue] = driver;
        return driver;
    }

    /**
     * Step 8 of §3.1.1: DRIVER_OK.
     *
     * @throws VirtioDriverException if the device reports DEVICE_NEEDS_RESET or did not take DRIVER_OK.
     */
    public void driverOk()
    {
        transport.writeStatus(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK
            | DeviceStatus.DRIVER_OK);
        final int status = transport.readStatus();
        if ((status & DeviceStatus.DRIVER_OK) == 0 || (status & DeviceStatus.DEVICE_NEEDS_RESET) != 0)
        {
            throw new VirtioDriverException("device did not start: status=0x" + Integer.toHexString(status));
        }
    }

    /** @return the driver side of {@code queue}, or null if it was not set up. */
    public SplitQueueDriver queue(final int queue)
    {
        return queues[queue];
    }

    /**
     * Makes what was posted on {@code queue} visible and notifies the device if it wants a notification
     * (§2.7.13.3, §2.7.13.4).
     *
     * @return true if a notification was sent (a store to the notify address: an exit).
     */
    public boolean kick(final int queue)
    {
        final SplitQueueDriver q = queues[queue];
        q.publish();
        if (q.needsKick())
        {
            transport.notifyQueue(queue);
            kicks++;
            return true;
        }
        return false;
    }

    /**
     * Halts until an interrupt arrives, then handles it as an interrupt handler does: reads and acknowledges the
     * causes at the device first, then signals end-of-interrupt (so a level line is re-sampled after the ACK).
     *
     * @return the causes ({@link DriverTransport#INTERRUPT_USED_BUFFER},
     *     {@link DriverTransport#INTERRUPT_CONFIG_CHANGE}, possibly 0 for a shared line), or {@link #NO_INTERRUPT} on
     *     timeout.
     * @throws InterruptedException if the vCPU thread is interrupted.
     */
    public int awaitInterrupt(final long timeout, final TimeUnit unit) throws InterruptedException
    {
        final int vector = vcpu.hlt(timeout, unit);
        if (vector < 0)
        {
            return NO_INTERRUPT;
        }
        return handleInterrupt();
    }

    /**
     * Takes a pending interrupt without halting and handles it like {@link #awaitInterrupt}.
     *
     * @return the causes, or {@link #NO_INTERRUPT} if none was pending.
     */
    public int pollInterrupt()
    {
        final int vector = vcpu.takeInterrupt();
        if (vector < 0)
        {
            return NO_INTERRUPT;
        }
        return handleInterrupt();
    }

    private int handleInterrupt()
    {
        interrupts++;
        final int causes = transport.acknowledgeInterrupt();
        vcpu.eoi();
        return causes;
    }

    /** @return notifications sent by {@link #kick}. */
    public long kicks()
    {
        return kicks;
    }

    /** @return interrupts taken. */
    public long interrupts()
    {
        return interrupts;
    }
}
