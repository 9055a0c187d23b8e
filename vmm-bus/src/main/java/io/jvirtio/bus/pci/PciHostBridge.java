package io.jvirtio.bus.pci;

import io.jvirtio.bus.vm.UserspaceDevice;
import io.jvirtio.bus.vm.UserspaceDevices;
import io.jvirtio.bus.vm.Vm;

/**
 * A PCI host bridge with bus 0: configuration mechanism #1 at ports 0xCF8 (CONFIG_ADDRESS) and 0xCFC-0xCFF
 * (CONFIG_DATA), PCI Local Bus Specification 3.0 §3.2.2.3.2, and an ECAM window, PCI Express Base Specification
 * §7.2.2 "PCI Express Enhanced Configuration Access Mechanism", both registered as userspace devices of the VM; and
 * the PCI MMIO window the VM builder set aside for memory BARs, from which {@link #assignBars} places them as
 * firmware does.
 * <p>
 * CONFIG_ADDRESS: bit 31 enable, bits 23:16 bus, 15:11 device, 10:8 function, 7:2 register. Only a 32-bit access at
 * 0xCF8 reaches it; data accesses at 0xCFC + n go to register + n of the addressed function. ECAM: offset bits
 * 27:20 bus, 19:15 device, 14:12 function, 11:0 register; this bridge decodes bus 0 only (a 1 MiB window). An
 * access to an absent function reads all ones and drops writes; both are counted.
 * <p>
 * Thread safety: {@link #add} and {@link #assignBars} before vCPUs run; the port and ECAM devices on vCPU threads.
 * CONFIG_ADDRESS is one latch for the whole machine, as on a PC: guests serialise mechanism #1 with a lock.
 */
public final class PciHostBridge implements AutoCloseable
{
    /** Port of CONFIG_ADDRESS. */
    public static final int CONFIG_ADDRESS_PORT = 0xCF8;
    /** First port of CONFIG_DATA. */
    public static final int CONFIG_DATA_PORT = 0xCFC;
    /** CONFIG_ADDRESS bit 31: translate data-port accesses into configuration cycles. */
    public static final int CONFIG_ADDRESS_ENABLE = 1 << 31;
    /** Bytes of ECAM per bus: 32 devices, 8 functions, 4 KiB each. */
    public static final long ECAM_BUS_SIZE = 1L << 20;
    /** Devices on one bus. */
    public static final int DEVICES = 32;
    /** Functions per device. */
    public static final int FUNCTIONS = 8;

    private final Vm vm;
    private final long ecamBase;
    private final long windowBase;
    private final long windowSize;
    private final PciCounters counters = new PciCounters();
    private final PciFunction[] functions = new PciFunction[DEVICES * FUNCTIONS];
    private final UserspaceDevices.Registration portRegistration;
    private final UserspaceDevices.Registration ecamRegistration;
    private volatile int configAddress;
    private long nextWindowAddress;

    /**
     * Registers the configuration ports and the ECAM window.
     *
     * @param vm         the VM.
     * @param ecamBase   guest-physical base of the ECAM window for bus 0, 1 MiB aligned, not RAM.
     * @param windowBase guest-physical base of the PCI MMIO window for BARs, not RAM.
     * @param windowSize bytes in the window.
     */
    public PciHostBridge(final Vm vm, final long ecamBase, final long windowBase, final long windowSize)
    {
        if ((ecamBase & (ECAM_BUS_SIZE - 1)) != 0 || windowSize <= 0
            || Long.compareUnsigned(windowBase + windowSize - 1, windowBase) < 0)
        {
            throw new IllegalArgumentException("bad pci windows: ecamBase=0x" + Long.toHexString(ecamBase)
                + ", windowBase=0x" + Long.toHexString(windowBase) + ", windowSize=" + windowSize);
        }
        this.vm = vm;
        this.ecamBase = ecamBase;
        this.windowBase = windowBase;
        this.windowSize = windowSize;
        this.nextWindowAddress = windowBase;
        this.portRegistration = vm.registerPio(CONFIG_ADDRESS_PORT, 8, new ConfigPorts());
        try
        {
            this.ecamRegistration = vm.registerMmio(ecamBase, ECAM_BUS_SIZE, new Ecam());
        }
        catch (final RuntimeException ex)
        {
            portRegistration.close();
            throw ex;
        }
    }

    /** @return counters of ignored guest accesses to the bridge (absent functions, CONFIG_ADDRESS misuse). */
    public PciCounters counters()
    {
        return counters;
    }

    /** @return the guest-physical base of the ECAM window. */
    public long ecamBase()
    {
        return ecamBase;
    }

    /** @return the guest-physical base of the PCI MMIO window. */
    public long windowBase()
    {
        return windowBase;
    }

    /** @return the size of the PCI MMIO window. */
    public long windowSize()
    {
        return windowSize;
    }

    /**
     * Puts a function on bus 0 and lets its BARs map into the VM.
     *
     * @param device   0 to 31.
     * @param function 0 to 7.
     * @param pci      the function.
     */
    public synchronized void add(final int device, final int function, final PciFunction pci)
    {
        if (device < 0 || device >= DEVICES || function < 0 || function >= FUNCTIONS
            || functions[device * FUNCTIONS + function] != null)
        {
            throw new IllegalArgumentException("pci slot invalid or taken: device=" + device + ", function="
                + function);
        }
        pci.attach(vm);
        functions[device * FUNCTIONS + function] = pci;
    }

    /** @return the function at {@code device.function} on bus 0, or null. */
    public PciFunction function(final int device, final int function)
    {
        return functions[(device & (DEVICES - 1)) * FUNCTIONS + (function & (FUNCTIONS - 1))];
    }

    /**
     * Places every unplaced memory BAR of {@code pci} in the PCI MMIO window, naturally aligned, as firmware does
     * before the OS boots. Decoding stays off until the guest sets command bit 1.
     *
     * @throws IllegalStateException if the window is full.
     */
    public synchronized void assignBars(final PciFunction pci)
    {
        for (int i = 0; i < PciHeader.BAR_COUNT; i++)
        {
            final long size = pci.barSize(i);
            if (size == 0 || pci.barAddress(i) != 0)
            {
                continue;
            }
            final long address = (nextWindowAddress + size - 1) & -size;
            if (Long.compareUnsigned(address + size - windowBase, windowSize) > 0)
            {
                throw new IllegalStateException("pci mmio window full: size=" + size + ", windowBase=0x"
                    + Long.toHexString(windowBase) + ", windowSize=" + windowSize);
            }
            nextWindowAddress = address + size;
            pci.writeConfig(PciHeader.barOffset(i), 4, address | PciHeader.BAR_MEMORY_TYPE_64);
            pci.writeConfig(PciHeader.barOffset(i + 1), 4, address >>> 32);
        }
    }

    private long read(final int bus, final int device, final int function, final int register, final int size)
    {
        final PciFunction pci = bus == 0 ? functions[device * FUNCTIONS + function] : null;
        if (pci == null)
        {
            counters.increment(PciCounter.ABSENT_FUNCTION_ACCESS);
            return size >= 8 ? -1L : (1L << (8 * size)) - 1;
        }
        return pci.readConfig(register, size);
    }

    private void write(final int bus, final int device, final int function, final int register, final int size,
        final long value)
    {
        final PciFunction pci = bus == 0 ? functions[device * FUNCTIONS + function] : null;
        if (pci == null)
        {
            counters.increment(PciCounter.ABSENT_FUNCTION_ACCESS);
            return;
        }
        pci.writeConfig(register, size, value);
    }

    @Override
    public synchronized void close()
    {
        portRegistration.close();
        ecamRegistration.close();
        for (final PciFunction pci : functions)
        {
            if (pci != null)
            {
                pci.detach();
            }
        }
    }

    /** Ports 0xCF8-0xCFF: CONFIG_ADDRESS and CONFIG_DATA. */
    private final class ConfigPorts implements UserspaceDevice
    {
        @Override
        public long read(final long offset, final int size)
        {
            if (offset < 4)
            {
                if (offset == 0 && size == 4)
                {
                    return configAddress & 0xFFFF_FFFFL;
                }
                counters.increment(PciCounter.CONFIG_ADDRESS_IGNORED);
                return (1L << (8 * size)) - 1;
            }
            final int address = configAddress;
            if ((address & CONFIG_ADDRESS_ENABLE) == 0)
            {
                counters.increment(PciCounter.CONFIG_ADDRESS_IGNORED);
                return (1L << (8 * size)) - 1;
            }
            return PciHostBridge.this.read((address >>> 16) & 0xFF, (address >>> 11) & 0x1F, (address >>> 8) & 0x7,
                (address & 0xFC) + (int)(offset - 4), size);
        }

        @Override
        public void write(final long offset, final int size, final long value)
        {
            if (offset < 4)
            {
                if (offset == 0 && size == 4)
                {
                    // bits 1:0 are reserved and read back 0
                    configAddress = (int)value & ~0x3;
                    return;
                }
                counters.increment(PciCounter.CONFIG_ADDRESS_IGNORED);
                return;
            }
            final int address = configAddress;
            if ((address & CONFIG_ADDRESS_ENABLE) == 0)
            {
                counters.increment(PciCounter.CONFIG_ADDRESS_IGNORED);
                return;
            }
            PciHostBridge.this.write((address >>> 16) & 0xFF, (address >>> 11) & 0x1F, (address >>> 8) & 0x7,
                (address & 0xFC) + (int)(offset - 4), size, value);
        }
    }

    /** The ECAM window of bus 0. */
    private final class Ecam implements UserspaceDevice
    {
        @Override
        public long read(final long offset, final int size)
        {
            return PciHostBridge.this.read(0, (int)(offset >>> 15) & 0x1F, (int)(offset >>> 12) & 0x7,
                (int)offset & 0xFFF, size);
        }

        @Override
        public void write(final long offset, final int size, final long value)
        {
            PciHostBridge.this.write(0, (int)(offset >>> 15) & 0x1F, (int)(offset >>> 12) & 0x7,
                (int)offset & 0xFFF, size, value);
        }
    }
}
