package io.jvirtio.bus.pci;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.irq.MsiMessage;
import io.jvirtio.bus.kvm.KvmIrqFd;
import io.jvirtio.bus.vm.UserspaceDevice;
import io.jvirtio.bus.vm.Vm;

/**
 * MSI-X, PCI Local Bus Specification 3.0 §6.8.2 "MSI-X Capability and Table Structure": the capability in
 * configuration space, and the table and pending bit array (PBA) in a BAR of their own.
 * <p>
 * <pre>
 *  capability (12 bytes)                         table entry (16 bytes)          BAR layout
 *  +0 id 0x11 | +1 next | +2 message control     +0 message address low          0      table, 16 * n bytes
 *  +4 table offset | BIR (bits 2:0)              +4 message address high         PBA    ceil(n / 64) qwords
 *  +8 PBA offset | BIR                           +8 message data
 *  message control: 10:0 n - 1, 14 function mask, 15 enable                      +12 vector control (bit 0 mask)
 * </pre>
 * Each vector has its own eventfd, which device code signals, and its own GSI. While the vector can fire (MSI-X
 * enabled, function and entry unmasked) the GSI has an MSI route with the entry's address and data, and an irqfd
 * binds the eventfd to it, so a signal becomes an interrupt without this class running. While the vector is masked
 * the irqfd is removed: signals collect in the eventfd, the vector's pending bit reads 1, and re-assigning the irqfd
 * at unmask delivers the pending message (an irqfd assign injects a signal that came before it, as in KVM). A write
 * to an entry's address or data, or an unmask, updates the route.
 * <p>
 * Table and PBA accesses must be naturally aligned 4- or 8-byte accesses inside the structure (§6.8.2: "DWORD or
 * QWORD"); anything else is ignored or reads all ones, counted as {@link PciCounter#MSIX_MALFORMED_ACCESS} (the
 * QEMU CVE-2020-13754 and cloud-hypervisor odd-size-write lessons). Entries start masked.
 * <p>
 * Thread safety: the table and the capability hooks run on vCPU threads, serialised on this object (lock order:
 * the function's lock, then this one); {@link #enabled}, {@link #eventFd} and {@link #gsi} from any thread without
 * locking, so device code can check and signal on its data path.
 */
public final class MsixCapability implements UserspaceDevice, PciCapabilityHook, AutoCloseable
{
    /** Most vectors a function may have (table size field is 11 bits). */
    public static final int MAX_VECTORS = 2048;
    /** Message control bit 14: every vector of the function is masked. */
    public static final int CONTROL_FUNCTION_MASK = 1 << 14;
    /** Message control bit 15: MSI-X is enabled. */
    public static final int CONTROL_ENABLE = 1 << 15;
    /** Offset of message control in the capability. */
    public static final int MESSAGE_CONTROL = 2;
    /** Offset of the table offset/BIR dword in the capability. */
    public static final int TABLE_OFFSET = 4;
    /** Offset of the PBA offset/BIR dword in the capability. */
    public static final int PBA_OFFSET = 8;
    /** Length of the capability. */
    public static final int CAPABILITY_LENGTH = 12;
    /** Bytes per table entry. */
    public static final int ENTRY_SIZE = 16;
    /** Entry offset of the message address, low dword. */
    public static final int ENTRY_ADDRESS_LOW = 0;
    /** Entry offset of the message address, high dword. */
    public static final int ENTRY_ADDRESS_HIGH = 4;
    /** Entry offset of the message data. */
    public static final int ENTRY_DATA = 8;
    /** Entry offset of the vector control dword. */
    public static final int ENTRY_VECTOR_CONTROL = 12;
    /** Vector control bit 0: this vector is masked. */
    public static final int VECTOR_CONTROL_MASK = 1;

    private final Vm vm;
    private final PciFunction function;
    private final int capabilityOffset;
    private final int vectors;
    private final long pbaOffset;
    private final long barSize;
    private final int[] table;
    private final EventFd[] eventFds;
    private final int[] gsis;
    private final boolean[] routed;
    private volatile int control;

    /**
     * Adds the capability to {@code function} and declares the 64-bit BAR {@code barIndex} holding table and PBA.
     *
     * @param vm       the VM that gets the routes and irqfds.
     * @param function the function, still being built.
     * @param barIndex 0, 2 or 4: the BAR for table and PBA.
     * @param vectors  1 to {@link #MAX_VECTORS}.
     */
    public MsixCapability(final Vm vm, final PciFunction function, final int barIndex, final int vectors)
    {
        if (vectors < 1 || vectors > MAX_VECTORS)
        {
            throw new IllegalArgumentException("msi-x vector count out of range: vectors=" + vectors);
        }
        this.vm = vm;
        this.function = function;
        this.vectors = vectors;
        this.table = new int[vectors * ENTRY_SIZE / Integer.BYTES];
        this.eventFds = new EventFd[vectors];
        this.gsis = new int[vectors];
        this.routed = new boolean[vectors];
        final long tableBytes = (long)vectors * ENTRY_SIZE;
        this.pbaOffset = tableBytes;
        final long pbaBytes = (vectors + 63L) / 64 * 8;
        this.barSize = Math.max(4096, Long.highestOneBit(tableBytes + pbaBytes - 1) << 1);
        for (int v = 0; v < vectors; v++)
        {
            table[v * 4 + 3] = VECTOR_CONTROL_MASK;
            eventFds[v] = EventFds.jvm();
            gsis[v] = vm.allocateMsiGsi();
        }
        this.capabilityOffset = function.addCapability(PciHeader.CAP_ID_MSIX, CAPABILITY_LENGTH, this);
        function.putConfig(capabilityOffset + MESSAGE_CONTROL, 2, vectors - 1);
        function.setWritable(capabilityOffset + MESSAGE_CONTROL, 2, CONTROL_FUNCTION_MASK | CONTROL_ENABLE);
        function.putConfig(capabilityOffset + TABLE_OFFSET, 4, barIndex);
        function.putConfig(capabilityOffset + PBA_OFFSET, 4, pbaOffset | barIndex);
        function.addBar64(barIndex, barSize, this, null);
    }

    /** @return the capability's offset in configuration space. */
    public int capabilityOffset()
    {
        return capabilityOffset;
    }

    /** @return the number of vectors. */
    public int vectors()
    {
        return vectors;
    }

    /** @return the BAR offset of the pending bit array (the table is at 0). */
    public long pbaOffset()
    {
        return pbaOffset;
    }

    /**
     * @param vector 0 to {@link #vectors()} - 1.
     * @return the eventfd device code signals to send {@code vector}.
     */
    public EventFd eventFd(final int vector)
    {
        return eventFds[vector];
    }

    /** @return the GSI that carries {@code vector}'s MSI route. */
    public int gsi(final int vector)
    {
        return gsis[vector];
    }

    /** @return true while MSI-X is enabled in message control; lock-free, for the interrupt path. */
    public boolean enabled()
    {
        return (control & CONTROL_ENABLE) != 0;
    }

    /** @return true if {@code vector} was signalled while masked and has not been delivered yet. */
    public synchronized boolean pending(final int vector)
    {
        return !routed[vector] && eventFds[vector].isReadable();
    }

    @Override
    public void beforeRead(final PciFunction pci, final int offset, final int size)
    {
        // configuration bytes hold everything the guest can read
    }

    @Override
    public void afterWrite(final PciFunction pci, final int offset, final int size)
    {
        if (offset <= MESSAGE_CONTROL + 1 && offset + size > MESSAGE_CONTROL)
        {
            final int value = (int)pci.config(capabilityOffset + MESSAGE_CONTROL, 2);
            synchronized (this)
            {
                control = value;
                refreshAll();
            }
        }
    }

    @Override
    public synchronized long read(final long offset, final int size)
    {
        if (!wellFormed(offset, size))
        {
            function.counters().increment(PciCounter.MSIX_MALFORMED_ACCESS);
            return size >= 8 ? -1L : (1L << (8 * size)) - 1;
        }
        if (offset >= pbaOffset)
        {
            long bits = 0;
            final int first = (int)((offset - pbaOffset) * 8);
            // bound: 32 or 64 bits of the PBA
            for (int i = 0; i < size * 8 && first + i < vectors; i++)
            {
                if (!routed[first + i] && eventFds[first + i].isReadable())
                {
                    bits |= 1L << i;
                }
            }
            return bits;
        }
        final int dword = (int)(offset >>> 2);
        final long low = table[dword] & 0xFFFF_FFFFL;
        return size == 8 ? low | (long)table[dword + 1] << 32 : low;
    }

    @Override
    public synchronized void write(final long offset, final int size, final long value)
    {
        if (!wellFormed(offset, size))
        {
            function.counters().increment(PciCounter.MSIX_MALFORMED_ACCESS);
            return;
        }
        if (offset >= pbaOffset)
        {
            function.counters().increment(PciCounter.MSIX_PBA_WRITE);
            return;
        }
        final int dword = (int)(offset >>> 2);
        table[dword] = (int)value;
        if (size == 8)
        {
            table[dword + 1] = (int)(value >>> 32);
        }
        final int vector = dword / 4;
        // vector control bits 31:1 are reserved: keep only the mask bit
        table[vector * 4 + 3] &= VECTOR_CONTROL_MASK;
        refresh(vector, true);
    }

    private boolean wellFormed(final long offset, final int size)
    {
        final long end = pbaOffset + (vectors + 63L) / 64 * 8;
        return (size == 4 || size == 8) && (offset & (size - 1)) == 0 && offset >= 0 && offset + size <= end
            && (offset >= pbaOffset || offset + size <= pbaOffset);
    }

    private void refreshAll()
    {
        // bound: the vector count, at most MAX_VECTORS
        for (int v = 0; v < vectors; v++)
        {
            refresh(v, false);
        }
    }

    private void refresh(final int vector, final boolean entryWritten)
    {
        final boolean canFire = (control & CONTROL_ENABLE) != 0 && (control & CONTROL_FUNCTION_MASK) == 0
            && (table[vector * 4 + 3] & VECTOR_CONTROL_MASK) == 0;
        if (canFire)
        {
            if (!routed[vector] || entryWritten)
            {
                vm.setMsiRoute(gsis[vector], message(vector));
            }
            if (!routed[vector])
            {
                // the assign injects a signal that arrived while masked: the pending message goes out now
                vm.irqfd(KvmIrqFd.edge(eventFds[vector], gsis[vector]));
                routed[vector] = true;
            }
        }
        else if (routed[vector])
        {
            vm.irqfd(KvmIrqFd.edge(eventFds[vector], gsis[vector]).deassigning());
            routed[vector] = false;
        }
    }

    /** @return the message entry {@code vector} holds now. */
    public synchronized MsiMessage message(final int vector)
    {
        final int base = vector * 4;
        return new MsiMessage((table[base] & 0xFFFF_FFFFL) | (long)table[base + 1] << 32, table[base + 2]);
    }

    /** Removes the irqfds and closes the eventfds. */
    @Override
    public synchronized void close()
    {
        for (int v = 0; v < vectors; v++)
        {
            if (routed[v])
            {
                vm.irqfd(KvmIrqFd.edge(eventFds[v], gsis[v]).deassigning());
                routed[v] = false;
            }
            eventFds[v].close();
        }
    }
}
