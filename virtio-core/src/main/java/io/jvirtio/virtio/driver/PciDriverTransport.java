package io.jvirtio.virtio.driver;

import io.jvirtio.bus.guest.GuestAddressSpace;
import io.jvirtio.bus.irq.MsiMessage;
import io.jvirtio.bus.vm.Vcpu;

/**
 * The virtio-pci modern side of a guest driver (virtio-v1.2 §4.1.5.1 "Device Initialization" for PCI): found and set
 * up by {@link #probe}, which does what a PCI OS and the virtio-pci driver do at boot, each step a real exit:
 * <ol>
 *     <li>read the vendor and device ID through mechanism #1 and check it is a modern virtio device;</li>
 *     <li>size each 64-bit memory BAR (write all ones, read the mask back), place it naturally aligned in the PCI
 *     MMIO window, and turn on memory decoding and bus mastering;</li>
 *     <li>walk the capability list (bounded: at most 48 capabilities fit after the header) for the virtio COMMON,
 *     NOTIFY, ISR and DEVICE capabilities and MSI-X;</li>
 *     <li>ioremap each structure and read notify_off_multiplier;</li>
 *     <li>program MSI-X: entry {@code i} to vCPU 0 with APIC vector {@code baseVector + i}, unmasked, and enable
 *     MSI-X. Vector 0 is for configuration changes, vector {@code 1 + q} for queue {@code q}.</li>
 * </ol>
 * Queue notifications are 16-bit stores of the queue index at {@code notify + queue_notify_off *
 * notify_off_multiplier} (§4.1.4.4), which the device serves with a wildcard ioeventfd on the fast MMIO path.
 * <p>
 * Thread safety: the vCPU thread that plays the driver; not thread-safe.
 */
public final class PciDriverTransport implements DriverTransport
{
    /** PCI vendor ID of virtio devices. */
    public static final int VIRTIO_PCI_VENDOR_ID = 0x1AF4;
    /** Modern device IDs are this plus the virtio device ID. */
    public static final int VIRTIO_PCI_DEVICE_ID_BASE = 0x1040;
    /** MSI-X vector of configuration change notifications. */
    public static final int CONFIG_VECTOR = 0;
    /** "No vector". */
    public static final int VIRTIO_MSI_NO_VECTOR = 0xFFFF;

    private static final int PCI_COMMAND = 0x04;
    private static final int PCI_STATUS = 0x06;
    private static final int PCI_BAR0 = 0x10;
    private static final int PCI_CAPABILITY_LIST = 0x34;
    private static final int PCI_STATUS_CAP_LIST = 0x10;
    private static final int PCI_COMMAND_MEMORY = 0x2;
    private static final int PCI_COMMAND_MASTER = 0x4;
    private static final int PCI_CAP_ID_VNDR = 0x09;
    private static final int PCI_CAP_ID_MSIX = 0x11;
    private static final int MAX_CAPABILITIES = 48;
    private static final int MSIX_ENABLE = 1 << 15;
    private static final int MSIX_ENTRY_SIZE = 16;

    /** Index in the structure table: cfg_type - 1. */
    private static final int COMMON = 0;
    private static final int NOTIFY = 1;
    private static final int ISR = 2;
    private static final int DEVICE = 3;

    private static final int COMMON_DFSELECT = 0x00;
    private static final int COMMON_DF = 0x04;
    private static final int COMMON_GFSELECT = 0x08;
    private static final int COMMON_GF = 0x0C;
    private static final int COMMON_MSIX = 0x10;
    private static final int COMMON_NUMQ = 0x12;
    private static final int COMMON_STATUS = 0x14;
    private static final int COMMON_CFGGENERATION = 0x15;
    private static final int COMMON_Q_SELECT = 0x16;
    private static final int COMMON_Q_SIZE = 0x18;
    private static final int COMMON_Q_MSIX = 0x1A;
    private static final int COMMON_Q_ENABLE = 0x1C;
    private static final int COMMON_Q_NOFF = 0x1E;
    private static final int COMMON_Q_DESCLO = 0x20;
    private static final int COMMON_Q_AVAILLO = 0x28;
    private static final int COMMON_Q_USEDLO = 0x30;

    private final Vcpu vcpu;
    private final int deviceId;
    private final long[] barGpa;
    private final long common;
    private final long isr;
    private final long deviceCfg;
    private final long notify;
    private final int notifyOffMultiplier;
    private final int msixVectors;
    private final int baseVector;
    private final long barLinear;
    private final long barSize;
    private final int[] notifyOff;
    private final RawRegisters raw;
    private final PciConfigPorts cfg;
    private final int pciDevice;
    private final int msixCap;
    private boolean configVectorMapped;
    private boolean msixEnabled = true;

    private PciDriverTransport(final Vcpu vcpu, final PciConfigPorts cfg, final int pciDevice, final int msixCap,
        final int deviceId, final long[] barGpa, final long[] structures, final int notifyOffMultiplier,
        final int msixVectors, final int baseVector, final long barLinear, final long barSize, final int queues)
    {
        this.vcpu = vcpu;
        this.cfg = cfg;
        this.pciDevice = pciDevice;
        this.msixCap = msixCap;
        this.deviceId = deviceId;
        this.barGpa = barGpa;
        this.common = structures[COMMON];
        this.notify = structures[NOTIFY];
        this.isr = structures[ISR];
        this.deviceCfg = structures[DEVICE];
        this.notifyOffMultiplier = notifyOffMultiplier;
        this.msixVectors = msixVectors;
        this.baseVector = baseVector;
        this.barLinear = barLinear;
        this.barSize = barSize;
        this.notifyOff = new int[queues];
        this.raw = new RawRegisters()
        {
            @Override
            public long read(final long offset, final int size)
            {
                return vcpu.mmioRead(barLinear + offset, size);
            }

            @Override
            public void write(final long offset, final int size, final long value)
            {
                vcpu.mmioWrite(barLinear + offset, size, value);
            }
        };
    }

    /**
     * Finds and sets up the virtio-pci device at bus 0, {@code device}.0.
     *
     * @param vcpu       the vCPU the guest runs on; MSI-X targets vCPU 0.
     * @param space      the guest's address space, for ioremap.
     * @param device     the PCI device number.
     * @param windowBase the PCI MMIO window BARs are placed in (the platform's, as ACPI's _CRS tells Linux).
     * @param windowSize its size.
     * @param baseVector the APIC vector of MSI-X entry 0; entry {@code i} gets {@code baseVector + i}.
     * @return the transport.
     * @throws IllegalStateException if no modern virtio device is there, or a required capability is missing.
     */
    public static PciDriverTransport probe(final Vcpu vcpu, final GuestAddressSpace space, final int device,
        final long windowBase, final long windowSize, final int baseVector)
    {
        final PciConfigPorts cfg = new PciConfigPorts(vcpu);
        final int vendor = (int)cfg.read(device, 0, 0, 2);
        final int pciDevice = (int)cfg.read(device, 0, 2, 2);
        if (vendor != VIRTIO_PCI_VENDOR_ID || pciDevice < VIRTIO_PCI_DEVICE_ID_BASE || pciDevice > 0x107F)
        {
            throw new IllegalStateException("no modern virtio-pci device: device=" + device + ", vendor=0x"
                + Integer.toHexString(vendor) + ", deviceId=0x" + Integer.toHexString(pciDevice));
        }
        final long[] barGpa = new long[6];
        final long[] barLen = new long[6];
        long next = windowBase;
        int bar = 0;
        // bound: six BAR registers; a 64-bit BAR takes two
        while (bar < 6)
        {
            final int reg = PCI_BAR0 + 4 * bar;
            final long original = cfg.read(device, 0, reg, 4);
            if ((original & 0x7) != 0x4 || bar == 5)
            {
                bar++; // not a 64-bit memory BAR (or unimplemented)
                continue;
            }
            cfg.write(device, 0, reg, 4, 0xFFFF_FFFFL);
            cfg.write(device, 0, reg + 4, 4, 0xFFFF_FFFFL);
            final long mask = (cfg.read(device, 0, reg, 4) & ~0xFL) | cfg.read(device, 0, reg + 4, 4) << 32;
            final long size = -mask;
            final long address = (next + size - 1) & -size;
            if (size <= 0 || address + size - windowBase > windowSize)
            {
                throw new IllegalStateException("bar does not fit the pci window: bar=" + bar + ", size=" + size);
            }
            cfg.write(device, 0, reg, 4, address & 0xFFFF_FFFFL);
            cfg.write(device, 0, reg + 4, 4, address >>> 32);
            barGpa[bar] = address;
            barLen[bar] = size;
            next = address + size;
            bar += 2;
        }
        cfg.write(device, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);

        final long[] structures = {-1, -1, -1, -1};
        int multiplier = 0;
        int msixCap = 0;
        final long[] lengths = new long[4];
        int commonBar = -1;
        int cap = (cfg.read(device, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) != 0
            ? (int)cfg.read(device, 0, PCI_CAPABILITY_LIST, 1) & 0xFC : 0;
        // bound: a list longer than the capabilities that fit is a loop
        for (int i = 0; i < MAX_CAPABILITIES && cap != 0; i++)
        {
            final int id = (int)cfg.read(device, 0, cap, 1);
            if (id == PCI_CAP_ID_MSIX)
            {
                msixCap = cap;
            }
            else if (id == PCI_CAP_ID_VNDR)
            {
                final int type = (int)cfg.read(device, 0, cap + 3, 1);
                final int capBar = (int)cfg.read(device, 0, cap + 4, 1);
                final long offset = cfg.read(device, 0, cap + 8, 4);
                final long length = cfg.read(device, 0, cap + 12, 4);
                // vp_modern_map_capability: the structure must lie inside an assigned BAR
                if (type >= 1 && type <= 4 && capBar < 6 && barLen[capBar] != 0 && structures[type - 1] == -1
                    && length > 0 && offset + length <= barLen[capBar])
                {
                    structures[type - 1] = barGpa[capBar] + offset;
                    lengths[type - 1] = length;
                    if (type - 1 == COMMON)
                    {
                        commonBar = capBar;
                    }
                    if (type - 1 == NOTIFY)
                    {
                        multiplier = (int)cfg.read(device, 0, cap + 16, 4);
                    }
                }
            }
            cap = (int)cfg.read(device, 0, cap + 1, 1) & 0xFC;
        }
        if (structures[COMMON] == -1 || structures[NOTIFY] == -1 || structures[ISR] == -1 || msixCap == 0)
        {
            throw new IllegalStateException("virtio-pci device lacks a required capability: common="
                + structures[COMMON] + ", notify=" + structures[NOTIFY] + ", isr=" + structures[ISR] + ", msix="
                + msixCap);
        }
        // one ioremap per structure, as vp_modern_map_capability does, and one of the common BAR for raw access
        final long[] linear = new long[4];
        for (int i = 0; i < 4; i++)
        {
            linear[i] = structures[i] == -1 ? -1 : space.ioremap(structures[i], lengths[i]);
        }
        final long barLinear = space.ioremap(barGpa[commonBar], barLen[commonBar]);
        final int vectors = programMsix(vcpu, space, cfg, device, msixCap, barGpa, baseVector);
        final int queues = (int)vcpu.mmioRead(linear[0] + COMMON_NUMQ, 2);
        return new PciDriverTransport(vcpu, cfg, device, msixCap, pciDevice - VIRTIO_PCI_DEVICE_ID_BASE, barGpa,
            linear, multiplier, vectors, baseVector, barLinear, barLen[commonBar], queues);
    }

    private static int programMsix(final Vcpu vcpu, final GuestAddressSpace space, final PciConfigPorts cfg,
        final int device, final int msixCap, final long[] barGpa, final int baseVector)
    {
        final int control = (int)cfg.read(device, 0, msixCap + 2, 2);
        final int vectors = (control & 0x7FF) + 1;
        final long tableReg = cfg.read(device, 0, msixCap + 4, 4);
        final int bir = (int)tableReg & 0x7;
        if (bir > 5 || barGpa[bir] == 0)
        {
            throw new IllegalStateException("msi-x table in no assigned bar: bir=" + bir);
        }
        final long table = space.ioremap(barGpa[bir] + (tableReg & ~0x7L),
            (long)vectors * MSIX_ENTRY_SIZE);
        final MsiMessage first = MsiMessage.of(0, baseVector);
        // bound: the table size the capability declares, at most 2048
        for (int v = 0; v < vectors; v++)
        {
            final long entry = table + (long)v * MSIX_ENTRY_SIZE;
            vcpu.mmioWrite(entry, 4, first.address() & 0xFFFF_FFFFL);
            vcpu.mmioWrite(entry + 4, 4, first.address() >>> 32);
            vcpu.mmioWrite(entry + 8, 4, (baseVector + v) & 0xFF);
            vcpu.mmioWrite(entry + 12, 4, 0);
        }
        cfg.write(device, 0, msixCap + 2, 2, MSIX_ENABLE);
        return vectors;
    }

    /** @return the guest-physical address BAR {@code bar} was placed at, or 0. */
    public long barAddress(final int bar)
    {
        return barGpa[bar];
    }

    /** @return notify_off_multiplier as the device declared it. */
    public int notifyOffMultiplier()
    {
        return notifyOffMultiplier;
    }

    /** @return how many MSI-X vectors the device has. */
    public int msixVectors()
    {
        return msixVectors;
    }

    /** @return the APIC vector of queue {@code queue}'s interrupt ({@code baseVector + 1 + queue}). */
    public int queueApicVector(final int queue)
    {
        return baseVector + 1 + queue;
    }

    /** @return the APIC vector of configuration change interrupts. */
    public int configApicVector()
    {
        return baseVector + CONFIG_VECTOR;
    }

    /** @return the linear address of queue {@code queue}'s notify register (after {@link #setupQueue}). */
    public long notifyAddress(final int queue)
    {
        return notify + (long)notifyOff[queue] * notifyOffMultiplier;
    }

    @Override
    public int deviceId()
    {
        return deviceId;
    }

    @Override
    public int readStatus()
    {
        return (int)vcpu.mmioRead(common + COMMON_STATUS, 1);
    }

    @Override
    public void writeStatus(final int status)
    {
        vcpu.mmioWrite(common + COMMON_STATUS, 1, status);
        if (status == 0)
        {
            // reset unmapped every vector (§4.1.5.1.2)
            configVectorMapped = false;
        }
    }

    @Override
    public long readDeviceFeatures()
    {
        vcpu.mmioWrite(common + COMMON_DFSELECT, 4, 0);
        final long low = vcpu.mmioRead(common + COMMON_DF, 4);
        vcpu.mmioWrite(common + COMMON_DFSELECT, 4, 1);
        return low | vcpu.mmioRead(common + COMMON_DF, 4) << 32;
    }

    @Override
    public void writeDriverFeatures(final long features)
    {
        vcpu.mmioWrite(common + COMMON_GFSELECT, 4, 0);
        vcpu.mmioWrite(common + COMMON_GF, 4, features & 0xFFFF_FFFFL);
        vcpu.mmioWrite(common + COMMON_GFSELECT, 4, 1);
        vcpu.mmioWrite(common + COMMON_GF, 4, features >>> 32);
    }

    @Override
    public int queueMaxSize(final int queue)
    {
        vcpu.mmioWrite(common + COMMON_Q_SELECT, 2, queue);
        return (int)vcpu.mmioRead(common + COMMON_Q_SIZE, 2);
    }

    @Override
    public void setupQueue(final int queue, final int size, final long descTable, final long availRing,
        final long usedRing)
    {
        if (!configVectorMapped)
        {
            // vp_find_vqs maps the config vector before the queues' vectors
            vcpu.mmioWrite(common + COMMON_MSIX, 2, CONFIG_VECTOR);
            configVectorMapped = true;
        }
        vcpu.mmioWrite(common + COMMON_Q_SELECT, 2, queue);
        vcpu.mmioWrite(common + COMMON_Q_SIZE, 2, size);
        writeHalves(COMMON_Q_DESCLO, descTable);
        writeHalves(COMMON_Q_AVAILLO, availRing);
        writeHalves(COMMON_Q_USEDLO, usedRing);
        vcpu.mmioWrite(common + COMMON_Q_MSIX, 2, 1 + queue);
        notifyOff[queue] = (int)vcpu.mmioRead(common + COMMON_Q_NOFF, 2);
    }

    private void writeHalves(final int offset, final long value)
    {
        // vp_iowrite64_twopart: two 32-bit stores, low half first
        vcpu.mmioWrite(common + offset, 4, value & 0xFFFF_FFFFL);
        vcpu.mmioWrite(common + offset + 4, 4, value >>> 32);
    }

    /** @return config_msix_vector as the device reads it back. */
    public int configMsixVector()
    {
        return (int)vcpu.mmioRead(common + COMMON_MSIX, 2);
    }

    /** @return the queue's MSI-X vector as the device reads it back (NO_VECTOR if it refused the mapping). */
    public int queueMsixVector(final int queue)
    {
        vcpu.mmioWrite(common + COMMON_Q_SELECT, 2, queue);
        return (int)vcpu.mmioRead(common + COMMON_Q_MSIX, 2);
    }

    @Override
    public void enableQueue(final int queue)
    {
        vcpu.mmioWrite(common + COMMON_Q_SELECT, 2, queue);
        vcpu.mmioWrite(common + COMMON_Q_ENABLE, 2, 1);
    }

    @Override
    public boolean queueReady(final int queue)
    {
        vcpu.mmioWrite(common + COMMON_Q_SELECT, 2, queue);
        return vcpu.mmioRead(common + COMMON_Q_ENABLE, 2) == 1;
    }

    @Override
    public void notifyQueue(final int queue)
    {
        vcpu.mmioWrite(notifyAddress(queue), 2, queue);
    }

    @Override
    public long readConfig(final int offset, final int size)
    {
        return vcpu.mmioRead(deviceCfg + offset, size);
    }

    @Override
    public void writeConfig(final int offset, final int size, final long value)
    {
        vcpu.mmioWrite(deviceCfg + offset, size, value);
    }

    @Override
    public int configGeneration()
    {
        return (int)vcpu.mmioRead(common + COMMON_CFGGENERATION, 1);
    }

    /**
     * Reads the ISR, which returns the causes and clears them (§4.1.4.5). With MSI-X on, a queue's interrupt does
     * not set ISR bit 0 (the vector itself says which queue), and this interface carries no vector, so every
     * interrupt also reports {@link #INTERRUPT_USED_BUFFER} then: a driver that finds nothing new in its used rings
     * has lost nothing. Configuration changes always set ISR bit 1.
     */
    @Override
    public int acknowledgeInterrupt()
    {
        final int isrBits = (int)vcpu.mmioRead(isr, 1) & (INTERRUPT_USED_BUFFER | INTERRUPT_CONFIG_CHANGE);
        return msixEnabled ? isrBits | INTERRUPT_USED_BUFFER : isrBits;
    }

    /**
     * Turns MSI-X off in message control, as a driver falling back to INTx does; interrupts then come on the
     * function's INTx line and the ISR says what they mean.
     */
    public void disableMsix()
    {
        final long control = cfg.read(pciDevice, 0, msixCap + 2, 2);
        cfg.write(pciDevice, 0, msixCap + 2, 2, control & ~MSIX_ENABLE);
        msixEnabled = false;
    }

    @Override
    public RawRegisters raw()
    {
        return raw;
    }

    /** @return the size of the BAR holding the common configuration, which {@link #raw()} reaches. */
    public long rawSize()
    {
        return barSize;
    }
}
