package io.jvirtio.virtio.machine;

import io.jvirtio.bus.irq.RedirectionEntry;
import io.jvirtio.bus.pci.PciHostBridge;
import io.jvirtio.bus.vm.SimulatedVm;
import io.jvirtio.bus.vm.Vcpu;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.virtio.VirtioDevice;
import io.jvirtio.virtio.driver.DriverTransport;
import io.jvirtio.virtio.driver.MmioDriverTransport;
import io.jvirtio.virtio.driver.PciDriverTransport;
import io.jvirtio.virtio.driver.VirtioDriver;
import io.jvirtio.virtio.transport.TransportCore;
import io.jvirtio.virtio.transport.mmio.MmioNotifyMode;
import io.jvirtio.virtio.transport.mmio.VirtioMmioTransport;
import io.jvirtio.virtio.transport.pci.VirtioPciTransport;

import java.util.ArrayList;
import java.util.List;

/**
 * A simulated VM with virtio devices attached and, for each, a guest driver bound to vCPU 0: the few lines an
 * embedder, a test or a sample needs to put a device backend in front of a guest.
 * <p>
 * {@snippet :
 * try (VirtioMachine machine = VirtioMachine.create(VmConfig.defaults()))
 * {
 *     VirtioDriver driver = machine.attach(device, TransportKind.PCI).driver();
 *     driver.initialize(wanted);           // every register access is a real exit through vCPU 0
 *     SplitQueueDriver queue = driver.setupQueue(0, 256);
 *     driver.driverOk();
 *     // post buffers, driver.kick(0), reap ...
 * }
 * }
 * The platform is a PC's: virtio-mmio windows at {@link #MMIO_BASE} with IOAPIC lines from {@link #FIRST_MMIO_GSI};
 * PCI through ports 0xCF8/0xCFC with BARs in the window at {@link #PCI_WINDOW_BASE} and MSI-X vectors for vCPU 0.
 * <p>
 * Thread safety: {@link #attach} and {@link #close} from one control thread; each {@link VirtioDriver} belongs to
 * the thread that drives vCPU 0.
 */
public final class VirtioMachine implements AutoCloseable
{
    /** Where virtio-mmio windows start; device {@code i} is at {@code MMIO_BASE + i * MMIO_STRIDE}. */
    public static final long MMIO_BASE = 0xD000_0000L;
    /** Bytes between virtio-mmio windows. */
    public static final long MMIO_STRIDE = 0x1000;
    /** IOAPIC pin of the first virtio-mmio device (pins 0-4 are legacy PC devices). */
    public static final int FIRST_MMIO_GSI = 5;
    /** The interrupt vector of the first virtio-mmio device's line. */
    public static final int FIRST_MMIO_VECTOR = 0x30;
    /** The PCI host bridge's ECAM window. */
    public static final long PCI_ECAM_BASE = 0xE000_0000L;
    /** The PCI MMIO window BARs are placed in; device {@code i} gets the slice at {@code i * PCI_SLICE}. */
    public static final long PCI_WINDOW_BASE = 0xC000_0000L;
    /** Bytes of the PCI window per device. */
    public static final long PCI_SLICE = 16L << 20;
    /** Devices the PCI window has slices for. */
    public static final int PCI_DEVICES = 16;
    /** MSI-X vector of the first PCI device's entry 0; device {@code i} starts at {@code + 16 * i}. */
    public static final int FIRST_PCI_VECTOR = 0x40;

    private final SimulatedVm vm;
    private final List<AttachedDevice> devices = new ArrayList<>();
    private final List<AutoCloseable> transports = new ArrayList<>();
    private int mmioDevices;
    private int pciDevices;
    private PciHostBridge pciBridge;

    private VirtioMachine(final SimulatedVm vm)
    {
        this.vm = vm;
    }

    /**
     * @param config the VM to build.
     * @return a machine with no devices yet.
     */
    public static VirtioMachine create(final VmConfig config)
    {
        return new VirtioMachine(SimulatedVm.create(config));
    }

    /** @return the VM, for exit statistics, guest memory and the vCPUs. */
    public SimulatedVm vm()
    {
        return vm;
    }

    /** @return vCPU 0, on which the guest drivers run. */
    public Vcpu vcpu()
    {
        return vm.vcpu(0);
    }

    /**
     * Presents {@code device} to the guest on {@code kind} and binds a guest driver to it (not yet initialized).
     *
     * @return the attachment: the device, the guest driver, and the device side of its transport.
     */
    public AttachedDevice attach(final VirtioDevice device, final TransportKind kind)
    {
        final Presented presented = switch (kind)
        {
            case MMIO_WILDCARD, MMIO_DATAMATCH -> attachMmio(device,
                kind == TransportKind.MMIO_WILDCARD ? MmioNotifyMode.WILDCARD : MmioNotifyMode.DATAMATCH);
            case PCI -> attachPci(device);
        };
        final VirtioDriver driver = new VirtioDriver(presented.driverTransport(), vm.vcpu(0),
            vm.guestAddressSpace(), vm.memory());
        final AttachedDevice attached = new AttachedDevice(device, kind, driver, presented.core());
        devices.add(attached);
        return attached;
    }

    /** A device's transport, seen from both sides. */
    private record Presented(DriverTransport driverTransport, TransportCore core)
    {
    }

    private Presented attachMmio(final VirtioDevice device, final MmioNotifyMode mode)
    {
        final int index = mmioDevices++;
        final long base = MMIO_BASE + index * MMIO_STRIDE;
        final int gsi = FIRST_MMIO_GSI + index;
        // the guest's firmware routes the line: level-triggered, as virtio-mmio's InterruptStatus is a level
        vm.irqchip().programPin(gsi, RedirectionEntry.level(FIRST_MMIO_VECTOR + index, 0));
        final VirtioMmioTransport transport = VirtioMmioTransport.create(vm, base, gsi, device, mode);
        transports.add(transport);
        return new Presented(
            MmioDriverTransport.probe(vm.vcpu(0), vm.guestAddressSpace(), base, transport.windowLength()),
            transport.core());
    }

    private Presented attachPci(final VirtioDevice device)
    {
        if (pciDevices == PCI_DEVICES)
        {
            throw new IllegalStateException("the PCI window is full: devices=" + PCI_DEVICES);
        }
        if (pciBridge == null)
        {
            pciBridge = new PciHostBridge(vm, PCI_ECAM_BASE, PCI_WINDOW_BASE, PCI_SLICE * PCI_DEVICES);
            transports.add(pciBridge);
        }
        final int index = pciDevices++;
        final int slot = index + 1;
        final VirtioPciTransport transport = new VirtioPciTransport(vm, device);
        transports.add(transport);
        pciBridge.add(slot, 0, transport.function());
        // the guest's enumeration places this function's BARs in its own slice of the window
        return new Presented(PciDriverTransport.probe(vm.vcpu(0), vm.guestAddressSpace(), slot,
            PCI_WINDOW_BASE + index * PCI_SLICE, PCI_SLICE, FIRST_PCI_VECTOR + 16 * index), transport.core());
    }

    /** @return the devices attached so far, in order. */
    public List<AttachedDevice> devices()
    {
        return List.copyOf(devices);
    }

    /** Resets every device (its workers stop), removes the transports and closes the VM. */
    @Override
    public void close()
    {
        for (final AttachedDevice attached : devices)
        {
            attached.device().reset();
        }
        // in reverse: each device's transport before the bridge it sits on
        for (int i = transports.size() - 1; i >= 0; i--)
        {
            try
            {
                transports.get(i).close();
            }
            catch (final Exception ex)
            {
                throw new IllegalStateException("transport close failed: " + ex.getMessage(), ex);
            }
        }
        vm.close();
    }
}
