package io.jvirtio.bus.pci;

import io.jvirtio.bus.vm.UserspaceDevice;
import io.jvirtio.bus.vm.UserspaceDevices;
import io.jvirtio.bus.vm.Vm;

/**
 * One PCI function: its configuration space with a type 0 header (PCI Local Bus Specification 3.0 §6.1), its
 * 64-bit memory BARs (§6.2.5.1 "Address Maps") and its capability list (§6.7 "Capabilities List").
 * <p>
 * Configuration space is 4 KiB (ECAM reaches all of it, mechanism #1 the first 256 bytes). Every byte has a writable
 * mask: a write changes only the writable bits, so read-only fields stay read-only (an attempt is counted as
 * {@link PciCounter#READ_ONLY_WRITE}). BAR sizing falls out of the masks: a BAR's writable bits are its address bits,
 * so writing all ones reads back the size mask with the type bits. While command bit 1 (memory space) is set, each
 * BAR's userspace device is registered with the VM at the BAR's address; clearing the bit or moving the BAR removes
 * the registration (and maps the new place), and a {@link PciBarListener} follows along.
 * <p>
 * A function is built (BARs, capabilities, initial values) before it is added to a {@link PciHostBridge}; after that
 * only configuration accesses change it. A malformed access (size not 1, 2 or 4, unaligned, past the end) is ignored
 * or reads all ones, and is counted.
 * <p>
 * Thread safety: build methods on one thread before the function is added to a bridge; {@link #readConfig} and
 * {@link #writeConfig} on vCPU threads, serialised on this object; {@link #config} and {@link #putConfig} on any
 * thread (capability hooks call them under the same lock); {@link #command()} and {@link #setInterruptStatus} on any
 * thread without locking.
 */
public final class PciFunction
{
    private static final int MAX_CAPABILITIES = 48;

    private final PciIdentity identity;
    private final PciCounters counters = new PciCounters();
    private final byte[] config = new byte[PciHeader.EXTENDED_CONFIG_SPACE_SIZE];
    private final byte[] writable = new byte[PciHeader.EXTENDED_CONFIG_SPACE_SIZE];

    private final long[] barSize = new long[PciHeader.BAR_COUNT];
    private final UserspaceDevice[] barDevice = new UserspaceDevice[PciHeader.BAR_COUNT];
    private final PciBarListener[] barListener = new PciBarListener[PciHeader.BAR_COUNT];
    private final long[] mappedAddress = new long[PciHeader.BAR_COUNT];
    private final UserspaceDevices.Registration[] registrations =
        new UserspaceDevices.Registration[PciHeader.BAR_COUNT];

    private final int[] capStart = new int[MAX_CAPABILITIES];
    private final int[] capLength = new int[MAX_CAPABILITIES];
    private final PciCapabilityHook[] capHook = new PciCapabilityHook[MAX_CAPABILITIES];
    private int capCount;
    private int nextCapOffset = PciHeader.CAPABILITIES_START;

    private Vm vm;
    private volatile int command;
    private volatile boolean interruptStatus;

    /**
     * @param identity the read-only identity fields.
     */
    public PciFunction(final PciIdentity identity)
    {
        this.identity = identity;
        putConfig(PciHeader.VENDOR_ID, 2, identity.vendorId());
        putConfig(PciHeader.DEVICE_ID, 2, identity.deviceId());
        putConfig(PciHeader.REVISION_ID, 1, identity.revisionId());
        putConfig(PciHeader.CLASS_PROG, 1, identity.classCode() & 0xFF);
        putConfig(PciHeader.CLASS_PROG + 1, 2, identity.classCode() >>> 8);
        putConfig(PciHeader.SUBSYSTEM_VENDOR_ID, 2, identity.subsystemVendorId());
        putConfig(PciHeader.SUBSYSTEM_ID, 2, identity.subsystemId());
        setWritable(PciHeader.COMMAND, 2, PciHeader.COMMAND_IO_SPACE | PciHeader.COMMAND_MEMORY_SPACE
            | PciHeader.COMMAND_BUS_MASTER | PciHeader.COMMAND_INTX_DISABLE);
        setWritable(PciHeader.CACHE_LINE_SIZE, 1, 0xFF);
        setWritable(PciHeader.LATENCY_TIMER, 1, 0xFF);
        setWritable(PciHeader.INTERRUPT_LINE, 1, 0xFF);
        for (int i = 0; i < PciHeader.BAR_COUNT; i++)
        {
            mappedAddress[i] = -1;
        }
    }

    /** @return the identity this function was built with. */
    public PciIdentity identity()
    {
        return identity;
    }

    /** @return the counters of ignored guest accesses to this function. */
    public PciCounters counters()
    {
        return counters;
    }

    /**
     * Declares a 64-bit, non-prefetchable memory BAR, which takes BAR {@code index} and {@code index + 1}.
     *
     * @param index    0, 2 or 4.
     * @param size     a power of two, at least 4096 (a page, so each BAR can be mapped on its own).
     * @param device   serves accesses to the BAR while it is mapped, with offsets from the BAR's start.
     * @param listener told when the BAR is mapped and unmapped, or null.
     */
    public void addBar64(final int index, final long size, final UserspaceDevice device,
        final PciBarListener listener)
    {
        if (index < 0 || index > PciHeader.BAR_COUNT - 2 || (index & 1) != 0 || barSize[index] != 0)
        {
            throw new IllegalArgumentException("64-bit bar needs a free even index below 5: index=" + index);
        }
        if (size < 4096 || Long.bitCount(size) != 1 || device == null)
        {
            throw new IllegalArgumentException("bar size must be a power of two of at least 4096: size=" + size);
        }
        barSize[index] = size;
        barDevice[index] = device;
        barListener[index] = listener;
        final long addressMask = ~(size - 1);
        putConfig(PciHeader.barOffset(index), 4, PciHeader.BAR_MEMORY_TYPE_64);
        setWritable(PciHeader.barOffset(index), 4, addressMask & ~PciHeader.BAR_MEMORY_FLAGS_MASK);
        setWritable(PciHeader.barOffset(index + 1), 4, addressMask >>> 32);
    }

    /** @return the size of BAR {@code index}, or 0 if it is not implemented (or is the upper half of a 64-bit BAR). */
    public long barSize(final int index)
    {
        return barSize[index];
    }

    /**
     * Appends a capability to the list (dword-aligned, after the header) and links it in: sets its ID, the previous
     * capability's next pointer (or the capabilities pointer) and the status register's capability-list bit.
     *
     * @param id     the capability ID.
     * @param length the capability's length in bytes, including the ID and next bytes.
     * @param hook   told of reads and writes of its bytes, or null.
     * @return the capability's offset in configuration space.
     */
    public synchronized int addCapability(final int id, final int length, final PciCapabilityHook hook)
    {
        final int start = nextCapOffset;
        if (length < 2 || start + length > PciHeader.CONFIG_SPACE_SIZE || capCount == MAX_CAPABILITIES)
        {
            throw new IllegalArgumentException("capability does not fit in configuration space: id=" + id
                + ", length=" + length + ", offset=" + start);
        }
        putConfig(start, 1, id);
        putConfig(start + 1, 1, 0);
        if (capCount == 0)
        {
            putConfig(PciHeader.CAPABILITIES_POINTER, 1, start);
            putConfig(PciHeader.STATUS, 2, config(PciHeader.STATUS, 2) | PciHeader.STATUS_CAPABILITIES_LIST);
        }
        else
        {
            putConfig(capStart[capCount - 1] + 1, 1, start);
        }
        capStart[capCount] = start;
        capLength[capCount] = length;
        capHook[capCount] = hook;
        capCount++;
        nextCapOffset = (start + length + 3) & ~3;
        return start;
    }

    /**
     * Sets which bits of a field the guest may write (all others are read-only). Build time, or from a hook.
     *
     * @param size 1, 2 or 4.
     */
    public synchronized void setWritable(final int offset, final int size, final long mask)
    {
        checkRange(offset, size);
        for (int i = 0; i < size; i++)
        {
            writable[offset + i] = (byte)(mask >>> (8 * i));
        }
    }

    /**
     * Reads configuration bytes as stored, with no side effects and no checks of guest rules.
     *
     * @param size 1 to 8.
     * @return the little-endian value.
     */
    public synchronized long config(final int offset, final int size)
    {
        checkRange(offset, size);
        long value = 0;
        for (int i = 0; i < size; i++)
        {
            value |= (config[offset + i] & 0xFFL) << (8 * i);
        }
        return value;
    }

    /**
     * Stores configuration bytes regardless of the writable mask (the device's own updates).
     *
     * @param size 1 to 8.
     */
    public synchronized void putConfig(final int offset, final int size, final long value)
    {
        checkRange(offset, size);
        for (int i = 0; i < size; i++)
        {
            config[offset + i] = (byte)(value >>> (8 * i));
        }
    }

    private static void checkRange(final int offset, final int size)
    {
        if (offset < 0 || size < 1 || size > 8 || offset + size > PciHeader.EXTENDED_CONFIG_SPACE_SIZE)
        {
            throw new IllegalArgumentException("configuration range out of bounds: offset=" + offset + ", size="
                + size);
        }
    }

    private static boolean isWellFormed(final int offset, final int size)
    {
        return (size == 1 || size == 2 || size == 4) && offset >= 0 && (offset & (size - 1)) == 0
            && offset + size <= PciHeader.EXTENDED_CONFIG_SPACE_SIZE;
    }

    /**
     * A guest configuration read.
     *
     * @param offset byte offset in configuration space.
     * @param size   1, 2 or 4, naturally aligned.
     * @return the value, or all ones in the low {@code 8 * size} bits for a malformed access (counted).
     */
    public synchronized long readConfig(final int offset, final int size)
    {
        if (!isWellFormed(offset, size))
        {
            counters.increment(PciCounter.MALFORMED_CONFIG_ACCESS);
            return allOnes(size);
        }
        final int cap = capabilityAt(offset);
        if (cap >= 0 && capHook[cap] != null)
        {
            capHook[cap].beforeRead(this, offset - capStart[cap], size);
        }
        final long value = config(offset, size);
        if (interruptStatus && offset <= PciHeader.STATUS && offset + size > PciHeader.STATUS)
        {
            return value | (long)PciHeader.STATUS_INTERRUPT << (8 * (PciHeader.STATUS - offset));
        }
        return value;
    }

    /**
     * The command register as last written, without taking the configuration lock, for interrupt paths that must
     * honour {@link PciHeader#COMMAND_INTX_DISABLE} or {@link PciHeader#COMMAND_BUS_MASTER}.
     *
     * @return the command register.
     */
    public int command()
    {
        return command;
    }

    /**
     * Sets the status register's interrupt bit (bit 3, "the function's INTx is asserted"), lock-free.
     *
     * @param asserted the device's INTx state.
     */
    public void setInterruptStatus(final boolean asserted)
    {
        interruptStatus = asserted;
    }

    /**
     * A guest configuration write: only writable bits change; BAR and command changes remap the BARs.
     *
     * @param offset byte offset in configuration space.
     * @param size   1, 2 or 4, naturally aligned; anything else is ignored (counted).
     * @param value  the stored bytes in the low {@code 8 * size} bits.
     */
    public synchronized void writeConfig(final int offset, final int size, final long value)
    {
        if (!isWellFormed(offset, size))
        {
            counters.increment(PciCounter.MALFORMED_CONFIG_ACCESS);
            return;
        }
        boolean readOnlyTouched = false;
        for (int i = 0; i < size; i++)
        {
            final int b = (int)(value >>> (8 * i)) & 0xFF;
            final int old = config[offset + i] & 0xFF;
            final int mask = writable[offset + i] & 0xFF;
            if (((b ^ old) & ~mask) != 0)
            {
                readOnlyTouched = true;
            }
            config[offset + i] = (byte)((old & ~mask) | (b & mask));
        }
        if (readOnlyTouched)
        {
            counters.increment(PciCounter.READ_ONLY_WRITE);
        }
        if (offset < PciHeader.COMMAND + 2 && offset + size > PciHeader.COMMAND)
        {
            command = (int)config(PciHeader.COMMAND, 2);
        }
        if (offset < PciHeader.COMMAND + 2 && offset + size > PciHeader.COMMAND
            || offset < PciHeader.barOffset(PciHeader.BAR_COUNT) && offset + size > PciHeader.BAR0)
        {
            updateMappings();
        }
        final int cap = capabilityAt(offset);
        if (cap >= 0 && capHook[cap] != null)
        {
            capHook[cap].afterWrite(this, offset - capStart[cap], size);
        }
    }

    private int capabilityAt(final int offset)
    {
        // bound: the capability count, at most MAX_CAPABILITIES
        for (int i = 0; i < capCount; i++)
        {
            if (offset >= capStart[i] && offset < capStart[i] + capLength[i])
            {
                return i;
            }
        }
        return -1;
    }

    private static long allOnes(final int size)
    {
        return size >= 8 ? -1L : (1L << (8 * size)) - 1;
    }

    /** @return true while command bit 1 (memory space decoding) is set. */
    public synchronized boolean memoryEnabled()
    {
        return (config(PciHeader.COMMAND, 2) & PciHeader.COMMAND_MEMORY_SPACE) != 0;
    }

    /** @return the address programmed in 64-bit BAR {@code index} (type bits removed). */
    public synchronized long barAddress(final int index)
    {
        return (config(PciHeader.barOffset(index), 4) & ~PciHeader.BAR_MEMORY_FLAGS_MASK)
            | config(PciHeader.barOffset(index + 1), 4) << 32;
    }

    /** @return the address BAR {@code index} is mapped at, or -1 while it is not mapped. */
    public synchronized long mappedAddress(final int index)
    {
        return mappedAddress[index];
    }

    /** Called by the bridge when the function is added: BARs map into {@code target} from now on. */
    synchronized void attach(final Vm target)
    {
        if (vm != null)
        {
            throw new IllegalStateException("pci function already attached: identity=" + identity);
        }
        vm = target;
        updateMappings();
    }

    /** Called by the bridge when it closes: every BAR is unmapped. */
    synchronized void detach()
    {
        for (int i = 0; i < PciHeader.BAR_COUNT; i++)
        {
            unmap(i);
        }
        vm = null;
    }

    private void updateMappings()
    {
        if (vm == null)
        {
            return;
        }
        final boolean enabled = memoryEnabled();
        // bound: six BARs
        for (int i = 0; i < PciHeader.BAR_COUNT; i++)
        {
            if (barSize[i] == 0)
            {
                continue;
            }
            final long target = enabled ? barAddress(i) : -1;
            if (target == mappedAddress[i])
            {
                continue;
            }
            unmap(i);
            if (target != -1)
            {
                map(i, target);
            }
        }
    }

    private void map(final int index, final long address)
    {
        final long size = barSize[index];
        if (Long.compareUnsigned(address + size - 1, address) < 0)
        {
            counters.increment(PciCounter.BAR_MAP_FAILED);
            return;
        }
        try
        {
            registrations[index] = vm.registerMmio(address, size, barDevice[index]);
        }
        catch (final IllegalArgumentException ex)
        {
            // the guest placed the BAR over RAM or over another range: a real bridge would decode it ambiguously
            counters.increment(PciCounter.BAR_MAP_FAILED);
            return;
        }
        mappedAddress[index] = address;
        if (barListener[index] != null)
        {
            barListener[index].barMapped(index, address, size);
        }
    }

    private void unmap(final int index)
    {
        if (registrations[index] == null)
        {
            return;
        }
        final long address = mappedAddress[index];
        registrations[index].close();
        registrations[index] = null;
        mappedAddress[index] = -1;
        if (barListener[index] != null)
        {
            barListener[index].barUnmapped(index, address, barSize[index]);
        }
    }
}
