package io.jvirtio.virtio.transport.mmio;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFdClosedException;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.kvm.KvmIrqFd;
import io.jvirtio.bus.vm.UserspaceDevice;
import io.jvirtio.bus.vm.UserspaceDevices;
import io.jvirtio.bus.vm.Vm;
import io.jvirtio.virtio.VirtioDevice;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.VirtioInterrupt;
import io.jvirtio.virtio.transport.QueueArea;
import io.jvirtio.virtio.transport.TransportBinding;
import io.jvirtio.virtio.transport.TransportCore;
import io.jvirtio.virtio.transport.TransportCounter;
import io.jvirtio.virtio.transport.TransportCounters;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.CONFIG;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.CONFIG_GENERATION;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.DEVICE_FEATURES;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.DEVICE_FEATURES_SEL;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.DEVICE_ID;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.DRIVER_FEATURES;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.DRIVER_FEATURES_SEL;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.INTERRUPT_ACK;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.INTERRUPT_CONFIG_CHANGE;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.INTERRUPT_STATUS;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.INTERRUPT_USED_BUFFER;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.MAGIC;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.MAGIC_VALUE;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_DESC_HIGH;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_DESC_LOW;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_DEVICE_HIGH;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_DEVICE_LOW;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_DRIVER_HIGH;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_DRIVER_LOW;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_NOTIFY;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_READY;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_RESET;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_SEL;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_SIZE;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_SIZE_MAX;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.REGISTER_SIZE;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.SHM_BASE_HIGH;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.SHM_BASE_LOW;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.SHM_LEN_HIGH;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.SHM_LEN_LOW;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.SHM_SEL;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.STATUS;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.VENDOR_ID;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.VERSION;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.VERSION_2;

/**
 * A virtio-mmio version 2 device (virtio-v1.2 §4.2): the register file of {@link VirtioMmioRegisters} as a
 * {@link UserspaceDevice}, over a {@link TransportCore} that holds the status, features and queues.
 * <p>
 * <b>Accesses.</b> Below {@link VirtioMmioRegisters#CONFIG} only aligned 32-bit accesses are served; anything else is
 * ignored (reads 0) and counted, as are reads of write-only registers, writes of read-only ones and undefined
 * offsets. Config space from 0x100 is byte-granular; accesses past the device's config size read all ones and
 * writes are ignored (checklist 3.3, QEMU's {@code virtio_config_read*}).
 * <p>
 * <b>Interrupt.</b> InterruptStatus stays set until the driver ACKs it (§4.2.2.1), which is a level-triggered line:
 * the transport drives a GSI through a resample irqfd ({@link KvmIrqFd#resample}). It sets the InterruptStatus bit
 * first, then signals the irqfd (the line asserts); on the guest's EOI KVM de-asserts the line and signals the
 * resamplefd, and if InterruptStatus is still non-zero (an event arrived after the ACK) the transport signals again.
 * An edge irqfd would lose such an event until the next one.
 * <p>
 * <b>Notifications.</b> At DRIVER_OK, by {@link MmioNotifyMode}: a datamatch ioeventfd per ready queue at
 * QueueNotify, or one wildcard length-0 ioeventfd for the device. They are deassigned at reset. A QueueNotify write
 * that reaches the register file (before DRIVER_OK, or for a queue with no ioeventfd) is counted and dropped; the
 * device scans every queue at activation.
 * <p>
 * Thread safety: {@link #read} and {@link #write} on vCPU threads, concurrently: selectors are volatile and every
 * state change goes through the core's lock; the interrupt methods run on device workers, lock-free and
 * allocation-free. {@link #create} and {@link #close()} on the thread that builds the VM.
 */
public final class VirtioMmioTransport implements UserspaceDevice, AutoCloseable
{
    /** The vendor ID this transport reports: ASCII "JVIO" read little-endian. */
    public static final int DEFAULT_VENDOR_ID = 0x4f49564a;
    /** The smallest window: registers and 256 bytes of config space. */
    public static final long MIN_WINDOW = 0x200;
    private static final int ALL_ONES = 0xFFFF_FFFF;
    /** Transport features this transport does not implement; a device offering one is a host setup error. */
    private static final long UNSUPPORTED_FEATURES = VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_RING_RESET)
        | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_NOTIFICATION_DATA)
        | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_RING_PACKED);
    private static final VarHandle INTERRUPT_STATUS_BITS;

    static
    {
        try
        {
            INTERRUPT_STATUS_BITS = MethodHandles.lookup()
                .findVarHandle(VirtioMmioTransport.class, "interruptStatus", int.class);
        }
        catch (final ReflectiveOperationException e)
        {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Vm vm;
    private final long base;
    private final long window;
    private final int gsi;
    private final int vendorId;
    private final MmioNotifyMode notifyMode;
    private final TransportCore core;
    private final EventFd irq = EventFds.jvm();
    private final EventFd resample = EventFds.jvm();
    private final KvmIoEventFd[] kickRegistrations;
    private final EventFd[] kickEventFds;
    private int kickCount;
    private UserspaceDevices.Registration registration;

    @SuppressWarnings("unused") // accessed through INTERRUPT_STATUS_BITS
    private volatile int interruptStatus;
    private volatile int deviceFeaturesSel;
    private volatile int driverFeaturesSel;
    private volatile int queueSel;
    private volatile int shmSel;

    private VirtioMmioTransport(
        final Vm vm,
        final long base,
        final int gsi,
        final VirtioDevice device,
        final MmioNotifyMode notifyMode,
        final int vendorId)
    {
        if ((device.deviceFeatures() & UNSUPPORTED_FEATURES) != 0)
        {
            throw new IllegalArgumentException("device offers a feature virtio-mmio here does not implement: "
                + "features=0x" + Long.toHexString(device.deviceFeatures() & UNSUPPORTED_FEATURES));
        }
        this.vm = vm;
        this.base = base;
        this.gsi = gsi;
        this.vendorId = vendorId;
        this.notifyMode = notifyMode;
        this.window = Math.max(MIN_WINDOW, CONFIG + ((device.configSize() + 0xFFL) & ~0xFFL));
        this.kickRegistrations = new KvmIoEventFd[device.queueCount()];
        this.kickEventFds = new EventFd[device.queueCount()];
        this.core = new TransportCore(device, vm.memory(), new Interrupt(), new Binding());
    }

    /**
     * Builds the transport, binds its interrupt (a resample irqfd on {@code gsi}) and registers its window.
     *
     * @param vm         the VM.
     * @param base       guest-physical base of the window (not RAM).
     * @param gsi        the GSI of the device's interrupt line (an IOAPIC pin the guest programs level-triggered).
     * @param device     the device to present.
     * @param notifyMode how kicks reach the device.
     * @return the transport, registered.
     */
    public static VirtioMmioTransport create(
        final Vm vm,
        final long base,
        final int gsi,
        final VirtioDevice device,
        final MmioNotifyMode notifyMode)
    {
        final VirtioMmioTransport transport = new VirtioMmioTransport(vm, base, gsi, device, notifyMode,
            DEFAULT_VENDOR_ID);
        transport.resample.addWaiter(transport::onResample);
        vm.irqfd(KvmIrqFd.resample(transport.irq, gsi, transport.resample));
        try
        {
            transport.registration = vm.registerMmio(base, transport.window, transport);
        }
        catch (final RuntimeException e)
        {
            vm.irqfd(KvmIrqFd.resample(transport.irq, gsi, transport.resample).deassigning());
            throw e;
        }
        return transport;
    }

    /** @return the transport core: status, features, queues and the counters of refused guest actions. */
    public TransportCore core()
    {
        return core;
    }

    /** @return the counters of refused and ignored guest actions. */
    public TransportCounters counters()
    {
        return core.counters();
    }

    /** @return the guest-physical base of the window. */
    public long base()
    {
        return base;
    }

    /** @return the length of the window: registers and config space. */
    public long windowLength()
    {
        return window;
    }

    /** @return the GSI of the interrupt line. */
    public int gsi()
    {
        return gsi;
    }

    /** @return how kicks reach the device. */
    public MmioNotifyMode notifyMode()
    {
        return notifyMode;
    }

    /** @return InterruptStatus as the driver would read it. */
    public int interruptStatus()
    {
        return interruptStatus;
    }

    /** @return the number of kick ioeventfds assigned now. */
    public synchronized int assignedKicks()
    {
        return kickCount;
    }

    @Override
    public long read(final long offset, final int size)
    {
        if (offset >= CONFIG)
        {
            return core.readConfig(offset - CONFIG, size);
        }
        if (size != REGISTER_SIZE || (offset & (REGISTER_SIZE - 1)) != 0 || offset < 0)
        {
            counters().increment(TransportCounter.REGISTER_ACCESS_MISALIGNED);
            return 0;
        }
        switch ((int)offset)
        {
            case MAGIC_VALUE:
                return MAGIC;
            case VERSION:
                return VERSION_2;
            case DEVICE_ID:
                return core.device().deviceId();
            case VENDOR_ID:
                return vendorId;
            case DEVICE_FEATURES:
                return core.deviceFeatures(deviceFeaturesSel) & 0xFFFF_FFFFL;
            case QUEUE_SIZE_MAX:
                return core.queueMaxSize(queueSel);
            case QUEUE_READY:
                return core.queueReady(queueSel) ? 1 : 0;
            case INTERRUPT_STATUS:
                return interruptStatus;
            case STATUS:
                return core.status();
            case SHM_LEN_LOW:
            case SHM_LEN_HIGH:
            case SHM_BASE_LOW:
            case SHM_BASE_HIGH:
                // no shared memory regions: "-1" / all ones for a region that does not exist (§4.2.2)
                return ALL_ONES & 0xFFFF_FFFFL;
            case QUEUE_RESET:
                // VIRTIO_F_RING_RESET is not offered: no reset is ever in progress
                return 0;
            case CONFIG_GENERATION:
                return core.configGeneration() & 0xFFFF_FFFFL;
            default:
                counters().increment(TransportCounter.REGISTER_ACCESS_INVALID);
                return 0;
        }
    }

    @Override
    public void write(final long offset, final int size, final long value)
    {
        if (offset >= CONFIG)
        {
            core.writeConfig(offset - CONFIG, size, value);
            return;
        }
        if (size != REGISTER_SIZE || (offset & (REGISTER_SIZE - 1)) != 0 || offset < 0)
        {
            counters().increment(TransportCounter.REGISTER_ACCESS_MISALIGNED);
            return;
        }
        final int v = (int)value;
        switch ((int)offset)
        {
            case DEVICE_FEATURES_SEL:
                deviceFeaturesSel = v;
                break;
            case DRIVER_FEATURES:
                core.writeDriverFeatures(driverFeaturesSel, v);
                break;
            case DRIVER_FEATURES_SEL:
                driverFeaturesSel = v;
                break;
            case QUEUE_SEL:
                queueSel = v;
                break;
            case QUEUE_SIZE:
                core.writeQueueSize(queueSel, v);
                break;
            case QUEUE_READY:
                core.writeQueueReady(queueSel, v != 0);
                break;
            case QUEUE_NOTIFY:
                core.notifyInRegisters(v);
                break;
            case INTERRUPT_ACK:
                acknowledge(v);
                break;
            case STATUS:
                core.writeStatus(v);
                break;
            case QUEUE_DESC_LOW:
            case QUEUE_DESC_HIGH:
                core.writeQueueAddress(queueSel, QueueArea.DESC, offset == QUEUE_DESC_HIGH, v);
                break;
            case QUEUE_DRIVER_LOW:
            case QUEUE_DRIVER_HIGH:
                core.writeQueueAddress(queueSel, QueueArea.DRIVER, offset == QUEUE_DRIVER_HIGH, v);
                break;
            case QUEUE_DEVICE_LOW:
            case QUEUE_DEVICE_HIGH:
                core.writeQueueAddress(queueSel, QueueArea.DEVICE, offset == QUEUE_DEVICE_HIGH, v);
                break;
            case SHM_SEL:
                shmSel = v;
                break;
            case QUEUE_RESET:
                counters().increment(TransportCounter.REGISTER_FEATURE_NOT_NEGOTIATED);
                break;
            default:
                counters().increment(TransportCounter.REGISTER_ACCESS_INVALID);
                break;
        }
    }

    private void acknowledge(final int bits)
    {
        if ((bits & ~(INTERRUPT_USED_BUFFER | INTERRUPT_CONFIG_CHANGE)) != 0)
        {
            counters().increment(TransportCounter.INTERRUPT_ACK_UNDEFINED_BITS);
        }
        INTERRUPT_STATUS_BITS.getAndBitwiseAnd(this, ~bits);
    }

    /** The guest EOI'd the level interrupt: if a cause is still pending, assert the line again. */
    private void onResample(final EventFd eventFd)
    {
        if (eventFd.isClosed())
        {
            return;
        }
        try
        {
            eventFd.tryRead();
        }
        catch (final EventFdClosedException e)
        {
            return;
        }
        if (interruptStatus != 0)
        {
            irq.signal();
        }
    }

    private void raise(final int bit)
    {
        // set the cause before the line rises, so the driver's handler always finds it (§4.2.2 InterruptStatus)
        INTERRUPT_STATUS_BITS.getAndBitwiseOr(this, bit);
        irq.signal();
    }

    /** Resets the device, unbinds the interrupt and removes the window. */
    @Override
    public void close()
    {
        core.reset();
        if (registration != null)
        {
            registration.close();
        }
        vm.irqfd(KvmIrqFd.resample(irq, gsi, resample).deassigning());
        irq.close();
        resample.close();
    }

    @Override
    public String toString()
    {
        return "VirtioMmioTransport{base=0x" + Long.toHexString(base) + ", gsi=" + gsi + ", notify=" + notifyMode
            + ", device=" + core.device().deviceId() + ", shmSel=" + shmSel + '}';
    }

    /** The device's interrupt: InterruptStatus bits and the irqfd. */
    private final class Interrupt implements VirtioInterrupt
    {
        @Override
        public void signalQueue(final int queueIndex)
        {
            raise(INTERRUPT_USED_BUFFER);
        }

        @Override
        public void signalConfig()
        {
            raise(INTERRUPT_CONFIG_CHANGE);
        }
    }

    /** Kick registrations and register reset, under the core's lock. */
    private final class Binding implements TransportBinding
    {
        @Override
        public EventFd assignKick(final int queueIndex)
        {
            synchronized (VirtioMmioTransport.this)
            {
                if (notifyMode == MmioNotifyMode.WILDCARD && kickCount > 0)
                {
                    return kickEventFds[0];
                }
                final EventFd kick = EventFds.jvm();
                final KvmIoEventFd args = notifyMode == MmioNotifyMode.WILDCARD
                    ? new KvmIoEventFd(0, base + QUEUE_NOTIFY, 0, kick, 0)
                    : new KvmIoEventFd(queueIndex, base + QUEUE_NOTIFY, REGISTER_SIZE, kick,
                        KvmIoEventFd.KVM_IOEVENTFD_FLAG_DATAMATCH);
                try
                {
                    vm.ioeventfd(args);
                }
                catch (final RuntimeException e)
                {
                    kick.close();
                    throw e;
                }
                kickRegistrations[kickCount] = args;
                kickEventFds[kickCount] = kick;
                kickCount++;
                return kick;
            }
        }

        @Override
        public void resetTransport()
        {
            synchronized (VirtioMmioTransport.this)
            {
                // bound: at most one registration per queue
                for (int i = 0; i < kickCount; i++)
                {
                    try
                    {
                        vm.ioeventfd(kickRegistrations[i].deassigning());
                    }
                    catch (final RuntimeException e)
                    {
                        // the registration is gone already (the VM is closing): nothing left to remove
                    }
                    kickEventFds[i].close();
                    kickRegistrations[i] = null;
                    kickEventFds[i] = null;
                }
                kickCount = 0;
            }
            deviceFeaturesSel = 0;
            driverFeaturesSel = 0;
            queueSel = 0;
            shmSel = 0;
            INTERRUPT_STATUS_BITS.setVolatile(VirtioMmioTransport.this, 0);
        }
    }
}
