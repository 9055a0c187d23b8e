package io.jvirtio.virtio.transport;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.virtio.DeviceHost;
import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.VirtioDevice;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.VirtioInterrupt;
import io.jvirtio.virtio.queue.QueueConfigStatus;
import io.jvirtio.virtio.queue.QueueError;
import io.jvirtio.virtio.queue.SplitQueue;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.queue.VirtQueue;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The transport-independent state of one virtio device: what virtio-mmio and virtio-pci both keep behind their
 * registers. A transport decodes a register access and calls one method here; everything the spec says about the
 * meaning of the access is enforced here, and every refused or ignored guest action is counted in
 * {@link #counters()}, never thrown.
 * <ul>
 *     <li><b>Device status</b> (virtio-v1.2 §2.1, §3.1.1; checklist 3.1): only ACKNOWLEDGE, +DRIVER, +FEATURES_OK,
 *     +DRIVER_OK, one step per write; FAILED may be ORed in at any time; a write that clears bits is ignored; writing
 *     0 resets. DEVICE_NEEDS_RESET is set only by the device.</li>
 *     <li><b>Features</b> (§2.2; checklist 3.2): the offer is {@code device.deviceFeatures() | VERSION_1}. Driver
 *     features are written only while DRIVER is set and FEATURES_OK is not; FEATURES_OK sticks only for a subset of
 *     the offer that includes VERSION_1 and that {@link VirtioDevice#checkFeatures} accepts; the set is then frozen
 *     until reset.</li>
 *     <li><b>Queues</b> (§2.6, §4.1.4.3, §4.2.2; checklist item 4): size and the three addresses are writable only
 *     between FEATURES_OK and DRIVER_OK and never while the queue is ready. Enabling a queue validates it
 *     ({@link SplitQueueConfig#check}) and freezes a copy in its {@link SplitQueue} (CVE-2026-5747); an invalid one
 *     stays not ready. A selected queue index is checked on every access (unsigned, CVE-2011-2512).</li>
 *     <li><b>Config generation</b> (§2.5.1, §4.2.2.1): bumped by {@link DeviceHost#configChanged()}, kept monotonic
 *     across reset.</li>
 *     <li><b>DEVICE_NEEDS_RESET</b> (§2.1.2; checklist item 6): {@link DeviceHost#needsReset} and a queue's broken
 *     listener set it and send a configuration change notification if DRIVER_OK was set. A broken queue is not
 *     touched again until reset ({@link SplitQueue} refuses to pop it).</li>
 *     <li><b>Activation</b> at DRIVER_OK: kicks are registered through the {@link TransportBinding}, a
 *     {@link io.jvirtio.virtio.DeviceContext} with the negotiated features, the enabled queues, their kick eventfds
 *     and the interrupt is built, and {@link VirtioDevice#activate} is called. Kicks that came earlier were not
 *     processed; the device scans every queue at start.</li>
 *     <li><b>Reset</b> (§2.4; checklist 3.1): {@link VirtioDevice#reset()} returns once no worker touches guest
 *     memory; then the queues, the queue registers, the features, the transport's own registers and finally the
 *     status are cleared.</li>
 * </ul>
 * <p>
 * Thread safety: register accesses arrive on vCPU threads. Every control-path change (status, features, queue
 * registers, reset, activation) is serialised by this object's monitor; the control path is not the data path, so a
 * lock is allowed. {@link #status()}, {@link #configGeneration()} and the counters are lock-free reads. The
 * {@link DeviceHost} methods ({@link #needsReset}, {@link #configChanged()}) may be called from any thread, including
 * device workers while a reset waits for them, so they never take the lock: they update the status with a
 * compare-and-set.
 */
public final class TransportCore implements DeviceHost
{
    /** The bits a driver may write into the status field. */
    private static final int DRIVER_BITS = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK
        | DeviceStatus.DRIVER_OK | DeviceStatus.FAILED;
    private static final int INIT_STEPS = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK
        | DeviceStatus.DRIVER_OK;
    private static final long U32_MASK = 0xFFFF_FFFFL;
    private static final VarHandle STATUS;

    static
    {
        try
        {
            STATUS = MethodHandles.lookup().findVarHandle(TransportCore.class, "status", int.class);
        }
        catch (final ReflectiveOperationException e)
        {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final VirtioDevice device;
    private final GuestMemory memory;
    private final VirtioInterrupt interrupt;
    private final TransportBinding binding;
    private final TransportCounters counters = new TransportCounters();
    private final long offeredFeatures;
    private final int queueCount;
    private final SplitQueue[] queues;
    private final int[] queueMaxSize;
    private final int[] queueSize;
    private final long[] queueDesc;
    private final long[] queueDriver;
    private final long[] queueDevice;
    private final boolean[] queueReady;
    private final AtomicInteger configGeneration = new AtomicInteger();

    @SuppressWarnings("unused") // accessed through STATUS
    private volatile int status;
    private long driverFeatures;
    private long negotiatedFeatures;
    private boolean activated;
    private volatile String needsResetReason;

    /**
     * Attaches {@code device} ({@link VirtioDevice#attach} is called with this core as its host).
     *
     * @param device    the device presented.
     * @param memory    guest RAM, where the queues live.
     * @param interrupt how the device notifies the driver (the transport's interrupt).
     * @param binding   the transport's kick registrations and register reset.
     */
    public TransportCore(
        final VirtioDevice device,
        final GuestMemory memory,
        final VirtioInterrupt interrupt,
        final TransportBinding binding)
    {
        this.device = device;
        this.memory = memory;
        this.interrupt = interrupt;
        this.binding = binding;
        this.offeredFeatures = device.deviceFeatures() | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1);
        this.queueCount = device.queueCount();
        if (queueCount < 0 || queueCount > Long.SIZE)
        {
            throw new IllegalArgumentException("a device has 0 to 64 queues: queueCount=" + queueCount);
        }
        this.queues = new SplitQueue[queueCount];
        this.queueMaxSize = new int[queueCount];
        this.queueSize = new int[queueCount];
        this.queueDesc = new long[queueCount];
        this.queueDriver = new long[queueCount];
        this.queueDevice = new long[queueCount];
        this.queueReady = new boolean[queueCount];
        for (int i = 0; i < queueCount; i++)
        {
            queueMaxSize[i] = device.queueMaxSize(i);
            queues[i] = new SplitQueue(memory, queueMaxSize[i],
                (final VirtQueue q, final QueueError reason) -> queueBroken());
            queueSize[i] = queueMaxSize[i];
        }
        device.attach(this);
    }

    /** @return the device this core presents. */
    public VirtioDevice device()
    {
        return device;
    }

    /** @return the refused and ignored guest actions, by name. */
    public TransportCounters counters()
    {
        return counters;
    }

    // ---------------------------------------------------------------------------------------------- status

    /** @return the device status field (§2.1), DEVICE_NEEDS_RESET included. */
    public int status()
    {
        return status;
    }

    /**
     * A driver's write of the device status field.
     *
     * @param value the value written; only the low 8 bits are meaningful.
     */
    public synchronized void writeStatus(final int value)
    {
        if (value == 0)
        {
            reset();
            return;
        }
        final int current = status;
        final int currentDriverBits = current & DRIVER_BITS;
        if ((value & DeviceStatus.DEVICE_NEEDS_RESET) != 0 && (current & DeviceStatus.DEVICE_NEEDS_RESET) == 0)
        {
            counters.increment(TransportCounter.STATUS_NEEDS_RESET_WRITTEN);
        }
        final int written = value & ~DeviceStatus.DEVICE_NEEDS_RESET;
        if ((written & ~DRIVER_BITS) != 0)
        {
            counters.increment(TransportCounter.STATUS_UNKNOWN_BITS);
            return;
        }
        if ((written & currentDriverBits) != currentDriverBits)
        {
            counters.increment(TransportCounter.STATUS_BITS_CLEARED);
            return;
        }
        int added = written & ~currentDriverBits;
        if (added == 0)
        {
            return;
        }
        if ((added & DeviceStatus.FAILED) != 0)
        {
            orStatus(DeviceStatus.FAILED);
            added &= ~DeviceStatus.FAILED;
            if (added != 0)
            {
                counters.increment(TransportCounter.STATUS_TRANSITION_REFUSED);
            }
            return;
        }
        if ((current & DeviceStatus.FAILED) != 0)
        {
            counters.increment(TransportCounter.STATUS_TRANSITION_REFUSED);
            return;
        }
        if ((current & DeviceStatus.DEVICE_NEEDS_RESET) != 0)
        {
            counters.increment(TransportCounter.STATUS_WRITE_WHILE_NEEDS_RESET);
            return;
        }
        // The next step is the lowest step of the initialization sequence not yet set (§3.1.1).
        final int next = nextStep(currentDriverBits & INIT_STEPS);
        if (added != next)
        {
            counters.increment(TransportCounter.STATUS_TRANSITION_REFUSED);
            return;
        }
        switch (next)
        {
            case DeviceStatus.FEATURES_OK:
                if (featuresAcceptable())
                {
                    negotiatedFeatures = driverFeatures;
                    orStatus(DeviceStatus.FEATURES_OK);
                }
                break;
            case DeviceStatus.DRIVER_OK:
                orStatus(DeviceStatus.DRIVER_OK);
                activate();
                break;
            default:
                orStatus(next);
                break;
        }
    }

    private static int nextStep(final int steps)
    {
        if ((steps & DeviceStatus.ACKNOWLEDGE) == 0)
        {
            return DeviceStatus.ACKNOWLEDGE;
        }
        if ((steps & DeviceStatus.DRIVER) == 0)
        {
            return DeviceStatus.DRIVER;
        }
        if ((steps & DeviceStatus.FEATURES_OK) == 0)
        {
            return DeviceStatus.FEATURES_OK;
        }
        if ((steps & DeviceStatus.DRIVER_OK) == 0)
        {
            return DeviceStatus.DRIVER_OK;
        }
        return 0;
    }

    private boolean featuresAcceptable()
    {
        final long accepted = driverFeatures;
        if ((accepted & ~offeredFeatures) != 0)
        {
            counters.increment(TransportCounter.FEATURES_NOT_OFFERED);
            return false;
        }
        if (!VirtioFeatures.has(accepted, VirtioFeatures.VIRTIO_F_VERSION_1))
        {
            counters.increment(TransportCounter.FEATURES_WITHOUT_VERSION_1);
            return false;
        }
        if (device.checkFeatures(accepted) != null)
        {
            counters.increment(TransportCounter.FEATURES_REFUSED_BY_DEVICE);
            return false;
        }
        return true;
    }

    /** ORs bits into the status; lock-free, because device threads set DEVICE_NEEDS_RESET without the lock. */
    private int orStatus(final int bits)
    {
        return (int)STATUS.getAndBitwiseOr(this, bits);
    }

    // ---------------------------------------------------------------------------------------------- features

    /** @return the features offered: the device's bits and VIRTIO_F_VERSION_1. */
    public long deviceFeatures()
    {
        return offeredFeatures;
    }

    /**
     * @param select the 32-bit page (DeviceFeaturesSel, device_feature_select).
     * @return bits {@code 32 * select} to {@code 32 * select + 31} of the offer; 0 for pages other than 0 and 1.
     */
    public int deviceFeatures(final int select)
    {
        return (int)page(offeredFeatures, select);
    }

    /**
     * @param select the 32-bit page (driver_feature_select).
     * @return the driver features as written, page {@code select}; 0 for pages other than 0 and 1.
     */
    public synchronized int driverFeatures(final int select)
    {
        return (int)page(driverFeatures, select);
    }

    /**
     * A driver's write of 32 bits of its accepted features (DriverFeatures with DriverFeaturesSel). Accepted only
     * while DRIVER is set and FEATURES_OK, FAILED and DEVICE_NEEDS_RESET are not (§2.2.1, checklist item 3); the
     * value is kept as written and checked at FEATURES_OK.
     *
     * @param select the page, 0 or 1.
     * @param value  the bits.
     */
    public synchronized void writeDriverFeatures(final int select, final int value)
    {
        final int current = status;
        if ((current & DeviceStatus.DRIVER) == 0
            || (current & (DeviceStatus.FEATURES_OK | DeviceStatus.FAILED | DeviceStatus.DEVICE_NEEDS_RESET)) != 0)
        {
            counters.increment(TransportCounter.FEATURES_WRITE_REFUSED);
            return;
        }
        if (select != 0 && select != 1)
        {
            counters.increment(TransportCounter.FEATURES_SELECT_OUT_OF_RANGE);
            return;
        }
        final int shift = select * Integer.SIZE;
        driverFeatures = (driverFeatures & ~(U32_MASK << shift)) | ((value & U32_MASK) << shift);
    }

    /** @return the features both sides agreed on at FEATURES_OK; 0 before it and after reset. */
    public synchronized long negotiatedFeatures()
    {
        return negotiatedFeatures;
    }

    private static long page(final long features, final int select)
    {
        if (select == 0)
        {
            return features & U32_MASK;
        }
        if (select == 1)
        {
            return features >>> Integer.SIZE;
        }
        return 0;
    }

    // ---------------------------------------------------------------------------------------------- queues

    /** @return the device's queue count. */
    public int queueCount()
    {
        return queueCount;
    }

    /**
     * @param queue a selected queue index, any value.
     * @return true if {@code queue} names an existing queue (an unsigned comparison, CVE-2011-2512).
     */
    public boolean isValidQueue(final int queue)
    {
        return Integer.compareUnsigned(queue, queueCount) < 0;
    }

    /** @return QueueSizeMax of {@code queue}, or 0 for a queue that does not exist (§4.2.2.2). */
    public int queueMaxSize(final int queue)
    {
        return isValidQueue(queue) ? queueMaxSize[queue] : 0;
    }

    /** @return Queue Size as written (the maximum after reset), or 0 for a queue that does not exist. */
    public synchronized int queueSize(final int queue)
    {
        return isValidQueue(queue) ? queueSize[queue] : 0;
    }

    /** @return the address of {@code area} as written, or 0 for a queue that does not exist. */
    public synchronized long queueAddress(final int queue, final QueueArea area)
    {
        if (!isValidQueue(queue))
        {
            return 0;
        }
        switch (area)
        {
            case DESC:
                return queueDesc[queue];
            case DRIVER:
                return queueDriver[queue];
            case DEVICE:
                return queueDevice[queue];
            default:
                return 0;
        }
    }

    /** @return true if {@code queue} is ready (enabled); false for a queue that does not exist. */
    public synchronized boolean queueReady(final int queue)
    {
        return isValidQueue(queue) && queueReady[queue];
    }

    /**
     * A driver's write of Queue Size; validated at enable, not here.
     *
     * @param queue the selected queue.
     * @param size  the value written (u16 on PCI, u32 on MMIO; any value).
     */
    public synchronized void writeQueueSize(final int queue, final int size)
    {
        if (queueWritable(queue))
        {
            queueSize[queue] = size;
        }
    }

    /**
     * A driver's write of one 32-bit half of a queue area's 64-bit address; the halves may come in either order.
     *
     * @param queue the selected queue.
     * @param area  which area.
     * @param high  true for bits 32-63, false for bits 0-31.
     * @param value the half written.
     */
    public synchronized void writeQueueAddress(final int queue, final QueueArea area, final boolean high,
        final int value)
    {
        if (!queueWritable(queue))
        {
            return;
        }
        final int shift = high ? Integer.SIZE : 0;
        final long keep = ~(U32_MASK << shift);
        final long bits = (value & U32_MASK) << shift;
        switch (area)
        {
            case DESC:
                queueDesc[queue] = (queueDesc[queue] & keep) | bits;
                break;
            case DRIVER:
                queueDriver[queue] = (queueDriver[queue] & keep) | bits;
                break;
            case DEVICE:
                queueDevice[queue] = (queueDevice[queue] & keep) | bits;
                break;
            default:
                break;
        }
    }

    /**
     * A driver's write of QueueReady / queue_enable. Writing 1 validates the configuration against guest RAM and the
     * queue's maximum and freezes it; an invalid configuration leaves the queue not ready and is counted. Writing 0
     * to a ready queue inside the window makes it not ready again.
     *
     * @param queue the selected queue.
     * @param ready the value written, non-zero to enable.
     */
    public synchronized void writeQueueReady(final int queue, final boolean ready)
    {
        if (!queueInWindow(queue))
        {
            return;
        }
        if (!ready)
        {
            if (queueReady[queue])
            {
                queues[queue].reset();
                queueReady[queue] = false;
            }
            return;
        }
        if (queueReady[queue])
        {
            return;
        }
        final long features = negotiatedFeatures;
        final SplitQueueConfig config = new SplitQueueConfig(queueSize[queue], queueDesc[queue], queueDriver[queue],
            queueDevice[queue], VirtioFeatures.has(features, VirtioFeatures.VIRTIO_F_EVENT_IDX),
            VirtioFeatures.has(features, VirtioFeatures.VIRTIO_F_INDIRECT_DESC));
        final QueueConfigStatus result = queues[queue].activate(config);
        if (result != QueueConfigStatus.VALID)
        {
            counters.increment(TransportCounter.QUEUE_ENABLE_INVALID);
            return;
        }
        queueReady[queue] = true;
    }

    /** @return the device side of {@code queue} (for tests and transports that report its state). */
    public SplitQueue queue(final int queue)
    {
        return queues[queue];
    }

    private boolean queueInWindow(final int queue)
    {
        if (!isValidQueue(queue))
        {
            counters.increment(TransportCounter.QUEUE_SELECT_OUT_OF_RANGE);
            return false;
        }
        final int current = status;
        if ((current & DeviceStatus.FEATURES_OK) == 0
            || (current & (DeviceStatus.DRIVER_OK | DeviceStatus.FAILED | DeviceStatus.DEVICE_NEEDS_RESET)) != 0)
        {
            counters.increment(TransportCounter.QUEUE_WRITE_OUTSIDE_WINDOW);
            return false;
        }
        return true;
    }

    private boolean queueWritable(final int queue)
    {
        if (!queueInWindow(queue))
        {
            return false;
        }
        if (queueReady[queue])
        {
            counters.increment(TransportCounter.QUEUE_WRITE_WHILE_READY);
            return false;
        }
        return true;
    }

    /**
     * Checks a notification that reached the transport's register file rather than an ioeventfd (§4.2.3.3): before
     * DRIVER_OK it is dropped (the worker scans every queue at activation), for a queue that does not exist or is not
     * ready it is dropped; both counted. A notification is only a hint; nothing else happens here.
     *
     * @param queue the queue index the driver wrote (from the notify value).
     */
    public void notifyInRegisters(final int queue)
    {
        if ((status & DeviceStatus.DRIVER_OK) == 0)
        {
            counters.increment(TransportCounter.NOTIFY_BEFORE_DRIVER_OK);
            return;
        }
        if (!queueReady(queue))
        {
            counters.increment(TransportCounter.NOTIFY_INVALID_QUEUE);
        }
    }

    // ---------------------------------------------------------------------------------------------- config

    /** @return the config generation (§2.5.1); monotonic across reset. */
    public int configGeneration()
    {
        return configGeneration.get();
    }

    /**
     * A driver's read of device configuration space, allowed at any time, also before FEATURES_OK (§2.5.1).
     *
     * @param offset bytes from the start of the device's config space (any value).
     * @param size   1, 2, 4 or 8.
     * @return the bytes in the low {@code 8 * size} bits, or all ones (in those bits) when the access does not lie
     *     inside the config space.
     */
    public long readConfig(final long offset, final int size)
    {
        if (!configInRange(offset, size))
        {
            counters.increment(TransportCounter.CONFIG_READ_OUT_OF_RANGE);
            return size >= Long.BYTES ? -1L : (1L << (size * Byte.SIZE)) - 1;
        }
        return device.readConfig((int)offset, size);
    }

    /**
     * A driver's write of device configuration space; ignored and counted outside the config space.
     *
     * @param offset bytes from the start of the device's config space (any value).
     * @param size   1, 2, 4 or 8.
     * @param value  the bytes in the low {@code 8 * size} bits.
     */
    public synchronized void writeConfig(final long offset, final int size, final long value)
    {
        if (!configInRange(offset, size))
        {
            counters.increment(TransportCounter.CONFIG_WRITE_OUT_OF_RANGE);
            return;
        }
        device.writeConfig((int)offset, size, value);
    }

    private boolean configInRange(final long offset, final int size)
    {
        return (size == 1 || size == 2 || size == 4 || size == 8) && offset >= 0
            && offset <= device.configSize() - size;
    }

    // ---------------------------------------------------------------------------------------------- DeviceHost

    @Override
    public void configChanged()
    {
        configGeneration.getAndIncrement();
        if ((status & DeviceStatus.DRIVER_OK) != 0)
        {
            interrupt.signalConfig();
        }
    }

    @Override
    public void needsReset(final String reason)
    {
        counters.increment(TransportCounter.DEVICE_NEEDS_RESET);
        enterNeedsReset(reason);
    }

    private void queueBroken()
    {
        counters.increment(TransportCounter.QUEUE_BROKEN);
        enterNeedsReset("queue broken");
    }

    private void enterNeedsReset(final String reason)
    {
        if (status == 0)
        {
            // reset (or never initialized): nothing the driver could act on
            return;
        }
        needsResetReason = reason;
        final int before = orStatus(DeviceStatus.DEVICE_NEEDS_RESET);
        if ((before & DeviceStatus.DRIVER_OK) != 0 && (before & DeviceStatus.DEVICE_NEEDS_RESET) == 0)
        {
            interrupt.signalConfig();
        }
    }

    /** @return why DEVICE_NEEDS_RESET was last set, or null. */
    public String needsResetReason()
    {
        return needsResetReason;
    }

    // ---------------------------------------------------------------------------------------------- activation

    /** @return true between a successful activation at DRIVER_OK and the next reset. */
    public synchronized boolean isActivated()
    {
        return activated;
    }

    private void activate()
    {
        final EventFd[] kicks = new EventFd[queueCount];
        try
        {
            for (int i = 0; i < queueCount; i++)
            {
                if (queueReady[i])
                {
                    kicks[i] = binding.assignKick(i);
                }
            }
            device.activate(new ActiveContext(negotiatedFeatures, memory, queues, queueReady.clone(), kicks,
                interrupt));
            activated = true;
        }
        catch (final RuntimeException e)
        {
            counters.increment(TransportCounter.ACTIVATION_FAILED);
            enterNeedsReset("activation failed: " + e.getMessage());
        }
    }

    // ---------------------------------------------------------------------------------------------- reset

    /**
     * Resets the device (§2.4): the device stops and quiesces first (status keeps reading non-zero until then), then
     * every piece of transport state goes back to its initial value. Safe in any state.
     */
    public synchronized void reset()
    {
        device.reset();
        activated = false;
        for (int i = 0; i < queueCount; i++)
        {
            queues[i].reset();
            queueReady[i] = false;
            queueSize[i] = queueMaxSize[i];
            queueDesc[i] = 0;
            queueDriver[i] = 0;
            queueDevice[i] = 0;
        }
        driverFeatures = 0;
        negotiatedFeatures = 0;
        binding.resetTransport();
        needsResetReason = null;
        STATUS.setVolatile(this, 0);
    }
}
