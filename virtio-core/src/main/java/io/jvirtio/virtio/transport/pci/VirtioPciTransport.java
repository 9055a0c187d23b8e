package io.jvirtio.virtio.transport.pci;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFdClosedException;
import io.jvirtio.bus.event.EventFdWaiter;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.kvm.KvmIrqFd;
import io.jvirtio.bus.pci.MsixCapability;
import io.jvirtio.bus.pci.PciBarListener;
import io.jvirtio.bus.pci.PciFunction;
import io.jvirtio.bus.pci.PciHeader;
import io.jvirtio.bus.pci.PciIdentity;
import io.jvirtio.bus.vm.UserspaceDevice;
import io.jvirtio.bus.vm.Vm;
import io.jvirtio.virtio.VirtioDevice;
import io.jvirtio.virtio.VirtioInterrupt;
import io.jvirtio.virtio.transport.TransportBinding;
import io.jvirtio.virtio.transport.TransportCore;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The virtio-pci modern transport, virtio-v1.2 §4.1, for one {@link VirtioDevice}: a PCI function (vendor 0x1AF4,
 * device 0x1040 + device ID, revision 1, subsystem 0x40) whose BAR 0 holds the virtio structures and whose BAR 2
 * holds the MSI-X table and PBA, with one vector per queue plus one for configuration changes.
 *
 * <pre>
 *  BAR 0 (16 KiB)                                 capability list
 *  0x0000 common config, 56 bytes                 COMMON   cap_len 16, bar 0, offset 0x0000, length 56
 *  0x1000 ISR, 1 byte, read clears                NOTIFY   cap_len 20, bar 0, offset 0x3000, length 4 * queues,
 *  0x2000 device config, configSize bytes                  notify_off_multiplier 4
 *  0x3000 notify: queue i at 0x3000 + 4 * i       ISR      cap_len 16, bar 0, offset 0x1000, length 1
 *                                                 DEVICE   cap_len 16, bar 0, offset 0x2000 (if configSize > 0)
 *                                                 PCI_CFG  cap_len 20, window fields writable
 *                                                 MSI-X    table and PBA in BAR 2
 * </pre>
 * Every queue has its own notify address ({@code queue_notify_off} = queue index), so each kick is a wildcard
 * length-0 MMIO ioeventfd, {@code KvmIoEventFd(0, addr, 0, fd, 0)}, which the exit path takes on the fast MMIO bus
 * (QEMU registers virtio-pci modern notify the same way). The ioeventfds exist while the
 * device is active (DRIVER_OK until reset) and BAR 0 decodes; they follow the BAR when the guest moves it. A kick
 * that reaches the register file instead (before DRIVER_OK) is only counted: the device scans its queues at start.
 * <p>
 * Interrupts: with MSI-X enabled, a queue's or the config's vector is signalled through its eventfd, which an irqfd
 * turns into the MSI (and which collects while masked, see {@link MsixCapability}); NO_VECTOR means no interrupt
 * (§4.1.5.1.2). ISR bit 1 is set before every config notification; with MSI-X disabled, ISR bit 0 is set for a queue
 * notification and, if {@link #connectIntx} gave the function a line and the command register does not disable
 * INTx, INTA# is asserted through a resample irqfd (level-triggered, as QEMU wires INTx with KVM): the status
 * register's interrupt bit mirrors it, reading the ISR de-asserts it, and if the guest EOIs without reading the ISR
 * the resample re-asserts it (§4.1.4.5, checklist 3.8).
 * <p>
 * Thread safety: register accesses on vCPU threads (the shared state is serialised by {@link TransportCore});
 * {@link VirtioInterrupt} methods on any thread without locks or allocation; lock order is the PCI function's lock,
 * then the core's, then this transport's kick lock.
 */
public final class VirtioPciTransport implements AutoCloseable
{
    /** PCI vendor ID of virtio devices. */
    public static final int VIRTIO_PCI_VENDOR_ID = 0x1AF4;
    /** Modern device IDs are this plus the virtio device ID. */
    public static final int VIRTIO_PCI_DEVICE_ID_BASE = 0x1040;
    /** Revision ID of a non-transitional device (at least 1). */
    public static final int VIRTIO_PCI_REVISION = 1;
    /** Subsystem ID of a non-transitional device (at least 0x40). */
    public static final int VIRTIO_PCI_SUBSYSTEM_ID = 0x40;
    /** BAR holding the virtio structures. */
    public static final int STRUCTURE_BAR = 0;
    /** BAR holding the MSI-X table and PBA. */
    public static final int MSIX_BAR = 2;
    /** Size of the structure BAR. */
    public static final long STRUCTURE_BAR_SIZE = 0x4000;
    /** BAR offset of the common configuration. */
    public static final int COMMON_CFG_OFFSET = 0x0000;
    /** BAR offset of the ISR. */
    public static final int ISR_OFFSET = 0x1000;
    /** BAR offset of the device configuration. */
    public static final int DEVICE_CFG_OFFSET = 0x2000;
    /** BAR offset of the notify region. */
    public static final int NOTIFY_OFFSET = 0x3000;
    /** notify_off_multiplier: 4 bytes between queues' notify addresses. */
    public static final int NOTIFY_OFF_MULTIPLIER = 4;
    /** ISR bit 0: a queue interrupt. */
    public static final int ISR_QUEUE = 1;
    /** ISR bit 1: a configuration change interrupt. */
    public static final int ISR_CONFIG = 2;

    private static final VarHandle ISR;
    private static final int MAX_DEVICE_CONFIG = 0x1000;

    static
    {
        try
        {
            ISR = MethodHandles.lookup().findVarHandle(VirtioPciTransport.class, "isr", int.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final Vm vm;
    private final VirtioDevice device;
    private final PciFunction function;
    private final MsixCapability msix;
    private final TransportCore core;
    private final int queueCount;
    private final EventFd[] kicks;
    private final boolean[] armed;
    private final boolean[] assigned;
    private final Object kickLock = new Object();
    private final CommonCfg commonCfg;
    private final AtomicLongArray counters = new AtomicLongArray(VirtioPciCounter.values().length);
    private final int pciCfgCapOffset;
    private volatile long notifyBase = -1;
    private volatile EventFd intx;
    private EventFd intxResample;
    private int intxGsi = -1;
    @SuppressWarnings("unused") // accessed through ISR
    private volatile int isr;

    /**
     * Builds the PCI function; add {@link #function()} to a host bridge to put it on the bus.
     *
     * @param vm     the VM (ioeventfds, irqfds, MSI routes, guest memory).
     * @param device the device presented.
     */
    public VirtioPciTransport(final Vm vm, final VirtioDevice device)
    {
        this.vm = vm;
        this.device = device;
        this.queueCount = device.queueCount();
        if (device.configSize() < 0 || device.configSize() > MAX_DEVICE_CONFIG)
        {
            throw new IllegalArgumentException("device config does not fit its bar region: configSize="
                + device.configSize());
        }
        this.kicks = new EventFd[queueCount];
        this.armed = new boolean[queueCount];
        this.assigned = new boolean[queueCount];
        for (int i = 0; i < queueCount; i++)
        {
            kicks[i] = EventFds.jvm();
        }
        this.function = new PciFunction(new PciIdentity(VIRTIO_PCI_VENDOR_ID,
            VIRTIO_PCI_DEVICE_ID_BASE + device.deviceId(), VIRTIO_PCI_REVISION, classCode(device.deviceId()),
            VIRTIO_PCI_VENDOR_ID, VIRTIO_PCI_SUBSYSTEM_ID));
        function.addBar64(STRUCTURE_BAR, STRUCTURE_BAR_SIZE, new Structures(), new NotifyFollower());
        addCap(VirtioPciCapLayout.VIRTIO_PCI_CAP_COMMON_CFG, VirtioPciCapLayout.CAP_SIZE, COMMON_CFG_OFFSET,
            CommonCfgLayout.LENGTH);
        final int notifyCap = addCap(VirtioPciCapLayout.VIRTIO_PCI_CAP_NOTIFY_CFG,
            VirtioPciCapLayout.NOTIFY_CAP_SIZE, NOTIFY_OFFSET, Math.max(2, queueCount * NOTIFY_OFF_MULTIPLIER));
        function.putConfig(notifyCap + VirtioPciCapLayout.NOTIFY_OFF_MULTIPLIER, 4, NOTIFY_OFF_MULTIPLIER);
        addCap(VirtioPciCapLayout.VIRTIO_PCI_CAP_ISR_CFG, VirtioPciCapLayout.CAP_SIZE, ISR_OFFSET, 1);
        if (device.configSize() > 0)
        {
            addCap(VirtioPciCapLayout.VIRTIO_PCI_CAP_DEVICE_CFG, VirtioPciCapLayout.CAP_SIZE, DEVICE_CFG_OFFSET,
                device.configSize());
        }
        this.pciCfgCapOffset = function.addCapability(PciHeader.CAP_ID_VENDOR, VirtioPciCapLayout.PCI_CFG_CAP_SIZE,
            new PciCfgWindow(this));
        function.putConfig(pciCfgCapOffset + VirtioPciCapLayout.CAP_LEN, 1, VirtioPciCapLayout.PCI_CFG_CAP_SIZE);
        function.putConfig(pciCfgCapOffset + VirtioPciCapLayout.CFG_TYPE, 1, VirtioPciCapLayout.VIRTIO_PCI_CAP_PCI_CFG);
        function.setWritable(pciCfgCapOffset + VirtioPciCapLayout.BAR, 1, 0xFF);
        function.setWritable(pciCfgCapOffset + VirtioPciCapLayout.OFFSET, 4, 0xFFFF_FFFFL);
        function.setWritable(pciCfgCapOffset + VirtioPciCapLayout.LENGTH, 4, 0xFFFF_FFFFL);
        function.setWritable(pciCfgCapOffset + VirtioPciCapLayout.PCI_CFG_DATA, 4, 0xFFFF_FFFFL);
        this.msix = new MsixCapability(vm, function, MSIX_BAR, queueCount + 1);
        this.core = new TransportCore(device, vm.memory(), new Interrupt(), new Binding());
        this.commonCfg = new CommonCfg(this, core, msix.vectors());
    }

    private static int classCode(final int deviceId)
    {
        switch (deviceId)
        {
            case 1:
                return 0x02_0000; // network controller, Ethernet
            case 2:
                return 0x01_0000; // mass storage controller, SCSI, as QEMU presents virtio-blk
            default:
                return 0xFF_0000; // device does not fit any defined class
        }
    }

    private int addCap(final int cfgType, final int length, final int offset, final int structureLength)
    {
        final int cap = function.addCapability(PciHeader.CAP_ID_VENDOR, length, null);
        function.putConfig(cap + VirtioPciCapLayout.CAP_LEN, 1, length);
        function.putConfig(cap + VirtioPciCapLayout.CFG_TYPE, 1, cfgType);
        function.putConfig(cap + VirtioPciCapLayout.BAR, 1, STRUCTURE_BAR);
        function.putConfig(cap + VirtioPciCapLayout.OFFSET, 4, offset);
        function.putConfig(cap + VirtioPciCapLayout.LENGTH, 4, structureLength);
        return cap;
    }

    /** @return the PCI function to add to a host bridge. */
    public PciFunction function()
    {
        return function;
    }

    /** @return the MSI-X capability (vectors 0 to queueCount). */
    public MsixCapability msix()
    {
        return msix;
    }

    /** @return the shared transport state (status, features, queues) and its counters. */
    public TransportCore core()
    {
        return core;
    }

    /** @return the offset of the PCI_CFG capability in configuration space. */
    public int pciCfgCapOffset()
    {
        return pciCfgCapOffset;
    }

    /**
     * Gives the function INTA#, routed to {@code gsi} (an IOAPIC pin, as firmware routes PCI interrupts and writes
     * the interrupt line register). Build time: before the function is added to a bridge.
     *
     * @param gsi the GSI of the line, below the IOAPIC's pin count.
     */
    public void connectIntx(final int gsi)
    {
        if (intx != null)
        {
            throw new IllegalStateException("intx already connected: gsi=" + intxGsi);
        }
        intx = EventFds.jvm();
        intxResample = EventFds.jvm();
        vm.irqfd(KvmIrqFd.resample(intx, gsi, intxResample));
        intxResample.addWaiter(new IntxResample());
        intxGsi = gsi;
        function.putConfig(PciHeader.INTERRUPT_PIN, 1, 1);
        function.putConfig(PciHeader.INTERRUPT_LINE, 1, gsi);
    }

    /** @return the value of a transport-register counter. */
    public long count(final VirtioPciCounter counter)
    {
        return counters.get(counter.ordinal());
    }

    void increment(final VirtioPciCounter counter)
    {
        counters.getAndIncrement(counter.ordinal());
    }

    /** @return the ISR bits now, without clearing them (for tests). */
    public int isrPeek()
    {
        return (int)ISR.getVolatile(this);
    }

    @Override
    public void close()
    {
        core.reset();
        if (intx != null)
        {
            vm.irqfd(KvmIrqFd.resample(intx, intxGsi, intxResample).deassigning());
            intx.close();
            intxResample.close();
        }
        msix.close();
        for (final EventFd kick : kicks)
        {
            kick.close();
        }
    }

    // ---------------------------------------------------------------------------------------------- BAR 0

    /**
     * A load from BAR 0 at {@code offset}; also the PCI_CFG window's way in.
     */
    long readStructure(final long offset, final int size)
    {
        if (offset >= COMMON_CFG_OFFSET && offset < COMMON_CFG_OFFSET + CommonCfgLayout.LENGTH)
        {
            return commonCfg.read((int)offset - COMMON_CFG_OFFSET, size);
        }
        if (offset == ISR_OFFSET && size == 1)
        {
            // §4.1.4.5: reading the ISR clears it and de-asserts INTx
            final int bits = (int)ISR.getAndSet(this, 0);
            function.setInterruptStatus(false);
            return bits;
        }
        if (offset >= ISR_OFFSET && offset < DEVICE_CFG_OFFSET)
        {
            increment(VirtioPciCounter.ISR_ACCESS_INVALID);
            return allOnes(size);
        }
        if (offset >= DEVICE_CFG_OFFSET && offset < NOTIFY_OFFSET)
        {
            return core.readConfig(offset - DEVICE_CFG_OFFSET, size);
        }
        if (offset >= NOTIFY_OFFSET && offset < STRUCTURE_BAR_SIZE)
        {
            increment(VirtioPciCounter.NOTIFY_ACCESS_INVALID);
            return 0;
        }
        increment(VirtioPciCounter.BAR_ACCESS_UNASSIGNED);
        return allOnes(size);
    }

    /** A store to BAR 0 at {@code offset}; also the PCI_CFG window's way in. */
    void writeStructure(final long offset, final int size, final long value)
    {
        if (offset >= COMMON_CFG_OFFSET && offset < COMMON_CFG_OFFSET + CommonCfgLayout.LENGTH)
        {
            commonCfg.write((int)offset - COMMON_CFG_OFFSET, size, value);
        }
        else if (offset >= ISR_OFFSET && offset < DEVICE_CFG_OFFSET)
        {
            increment(VirtioPciCounter.ISR_ACCESS_INVALID);
        }
        else if (offset >= DEVICE_CFG_OFFSET && offset < NOTIFY_OFFSET)
        {
            core.writeConfig(offset - DEVICE_CFG_OFFSET, size, value);
        }
        else if (offset >= NOTIFY_OFFSET && offset < STRUCTURE_BAR_SIZE)
        {
            notifyInRegisters(offset - NOTIFY_OFFSET);
        }
        else
        {
            increment(VirtioPciCounter.BAR_ACCESS_UNASSIGNED);
        }
    }

    private void notifyInRegisters(final long notifyOffset)
    {
        final long queue = notifyOffset / NOTIFY_OFF_MULTIPLIER;
        if (notifyOffset % NOTIFY_OFF_MULTIPLIER != 0 || queue >= queueCount)
        {
            increment(VirtioPciCounter.NOTIFY_ACCESS_INVALID);
            return;
        }
        final int q = (int)queue;
        final boolean active;
        synchronized (kickLock)
        {
            active = armed[q];
        }
        if (active)
        {
            // the same kick an ioeventfd would have sent (a notify through the PCI_CFG window, §4.1.4.8)
            kicks[q].signal();
        }
        else
        {
            core.notifyInRegisters(q);
        }
    }

    private static long allOnes(final int size)
    {
        return size >= 8 ? -1L : (1L << (8 * size)) - 1;
    }

    // ---------------------------------------------------------------------------------------------- kicks

    private void assignIoEventFd(final int queue, final long base)
    {
        vm.ioeventfd(new KvmIoEventFd(0, base + (long)queue * NOTIFY_OFF_MULTIPLIER, 0, kicks[queue], 0));
        assigned[queue] = true;
    }

    private void deassignIoEventFd(final int queue, final long base)
    {
        vm.ioeventfd(new KvmIoEventFd(0, base + (long)queue * NOTIFY_OFF_MULTIPLIER, 0, kicks[queue], 0)
            .deassigning());
        assigned[queue] = false;
    }

    /** BAR 0 decode: the register file. */
    private final class Structures implements UserspaceDevice
    {
        @Override
        public long read(final long offset, final int size)
        {
            return readStructure(offset, size);
        }

        @Override
        public void write(final long offset, final int size, final long value)
        {
            writeStructure(offset, size, value);
        }
    }

    /** Moves the notify ioeventfds with BAR 0. */
    private final class NotifyFollower implements PciBarListener
    {
        @Override
        public void barMapped(final int index, final long address, final long size)
        {
            synchronized (kickLock)
            {
                final long base = address + NOTIFY_OFFSET;
                notifyBase = base;
                // bound: the device's queue count
                for (int q = 0; q < queueCount; q++)
                {
                    if (armed[q] && !assigned[q])
                    {
                        assignIoEventFd(q, base);
                    }
                }
            }
        }

        @Override
        public void barUnmapped(final int index, final long address, final long size)
        {
            synchronized (kickLock)
            {
                final long base = notifyBase;
                for (int q = 0; q < queueCount; q++)
                {
                    if (assigned[q])
                    {
                        deassignIoEventFd(q, base);
                    }
                }
                notifyBase = -1;
            }
        }
    }

    /** What the core asks of this transport. */
    private final class Binding implements TransportBinding
    {
        @Override
        public EventFd assignKick(final int queueIndex)
        {
            synchronized (kickLock)
            {
                armed[queueIndex] = true;
                final long base = notifyBase;
                if (base != -1 && !assigned[queueIndex])
                {
                    assignIoEventFd(queueIndex, base);
                }
            }
            return kicks[queueIndex];
        }

        @Override
        public void resetTransport()
        {
            synchronized (kickLock)
            {
                final long base = notifyBase;
                for (int q = 0; q < queueCount; q++)
                {
                    if (assigned[q])
                    {
                        deassignIoEventFd(q, base);
                    }
                    armed[q] = false;
                    // a kick left from the last activation must not wake the next one's worker
                    kicks[q].tryRead();
                }
            }
            commonCfg.reset();
            ISR.setVolatile(VirtioPciTransport.this, 0);
            function.setInterruptStatus(false);
        }
    }

    /** Asserts INTA# unless there is no line or the command register disables INTx. */
    private void assertIntx()
    {
        final EventFd line = intx;
        if (line != null && (function.command() & PciHeader.COMMAND_INTX_DISABLE) == 0)
        {
            function.setInterruptStatus(true);
            line.signal();
        }
    }

    /** The guest EOIed the level interrupt: re-assert if it left ISR bits unread (irqfd resample). */
    private final class IntxResample implements EventFdWaiter
    {
        @Override
        public void onSignal(final EventFd eventFd)
        {
            try
            {
                eventFd.tryRead();
            }
            catch (final EventFdClosedException e)
            {
                // closed with the transport: nothing to re-assert
                return;
            }
            if ((int)ISR.getVolatile(VirtioPciTransport.this) != 0 && !msix.enabled())
            {
                assertIntx();
            }
        }
    }

    /** Queue and config notifications: MSI-X through irqfds, and the ISR bits. */
    private final class Interrupt implements VirtioInterrupt
    {
        @Override
        public void signalQueue(final int queueIndex)
        {
            if (!msix.enabled())
            {
                ISR.getAndBitwiseOr(VirtioPciTransport.this, ISR_QUEUE);
                assertIntx();
                return;
            }
            if (queueIndex < 0 || queueIndex >= queueCount)
            {
                return;
            }
            final int vector = commonCfg.queueVector(queueIndex);
            if (vector != CommonCfgLayout.VIRTIO_MSI_NO_VECTOR)
            {
                msix.eventFd(vector).signal();
            }
        }

        @Override
        public void signalConfig()
        {
            // §4.1.4.5.1: ISR bit 1 is set before a config notification, with or without MSI-X
            ISR.getAndBitwiseOr(VirtioPciTransport.this, ISR_CONFIG);
            if (!msix.enabled())
            {
                assertIntx();
                return;
            }
            final int vector = commonCfg.configVector();
            if (vector != CommonCfgLayout.VIRTIO_MSI_NO_VECTOR)
            {
                msix.eventFd(vector).signal();
            }
        }
    }
}
