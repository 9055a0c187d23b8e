package io.jvirtio.bus.pci;

/**
 * Offsets and bits of the type 0 configuration space header, PCI Local Bus Specification 3.0 §6.1 "Configuration
 * Space Organization" and §6.2 "Configuration Space Functions", and the capability ids this package uses (PCI Code
 * and ID Assignment Specification, "Capability IDs").
 *
 * <pre>
 *  0x00 vendor id (16)          0x02 device id (16)
 *  0x04 command (16)            0x06 status (16)
 *  0x08 revision id (8)         0x09 class code (24: prog-if, sub-class, base class)
 *  0x0C cache line (8)          0x0D latency (8)   0x0E header type (8)   0x0F BIST (8)
 *  0x10..0x27 BAR0..BAR5 (32 each; a 64-bit BAR takes two)
 *  0x2C subsystem vendor id (16) 0x2E subsystem id (16)
 *  0x34 capabilities pointer (8)
 *  0x3C interrupt line (8)      0x3D interrupt pin (8)
 * </pre>
 * <p>
 * Thread safety: constants only.
 */
public final class PciHeader
{
    /** Bytes of configuration space that configuration mechanism #1 reaches. */
    public static final int CONFIG_SPACE_SIZE = 256;
    /** Bytes of extended configuration space that ECAM reaches (PCI Express Base §7.2.2). */
    public static final int EXTENDED_CONFIG_SPACE_SIZE = 4096;

    /** Vendor ID, read-only. */
    public static final int VENDOR_ID = 0x00;
    /** Device ID, read-only. */
    public static final int DEVICE_ID = 0x02;
    /** Command register. */
    public static final int COMMAND = 0x04;
    /** Status register. */
    public static final int STATUS = 0x06;
    /** Revision ID, read-only. */
    public static final int REVISION_ID = 0x08;
    /** Class code, three bytes: programming interface, sub-class, base class. */
    public static final int CLASS_PROG = 0x09;
    /** Cache line size. */
    public static final int CACHE_LINE_SIZE = 0x0C;
    /** Latency timer. */
    public static final int LATENCY_TIMER = 0x0D;
    /** Header type, read-only: 0 for an endpoint. */
    public static final int HEADER_TYPE = 0x0E;
    /** Base address register 0; BAR {@code n} is at {@code BAR0 + 4 * n}. */
    public static final int BAR0 = 0x10;
    /** Number of BARs in a type 0 header. */
    public static final int BAR_COUNT = 6;
    /** Subsystem vendor ID, read-only. */
    public static final int SUBSYSTEM_VENDOR_ID = 0x2C;
    /** Subsystem ID, read-only. */
    public static final int SUBSYSTEM_ID = 0x2E;
    /** Capabilities pointer, read-only: offset of the first capability. */
    public static final int CAPABILITIES_POINTER = 0x34;
    /** Interrupt line, written by software. */
    public static final int INTERRUPT_LINE = 0x3C;
    /** Interrupt pin, read-only: 0 none, 1 INTA#. */
    public static final int INTERRUPT_PIN = 0x3D;
    /** Where the capability list starts: the first byte after the header. */
    public static final int CAPABILITIES_START = 0x40;

    /** Command bit 0: I/O space decoding. */
    public static final int COMMAND_IO_SPACE = 1;
    /** Command bit 1: memory space decoding; the BARs are mapped only while it is set. */
    public static final int COMMAND_MEMORY_SPACE = 1 << 1;
    /** Command bit 2: bus master (DMA, and MSI/MSI-X writes). */
    public static final int COMMAND_BUS_MASTER = 1 << 2;
    /** Command bit 10: INTx emulation disabled. */
    public static final int COMMAND_INTX_DISABLE = 1 << 10;
    /** Status bit 4: the function has a capability list. */
    public static final int STATUS_CAPABILITIES_LIST = 1 << 4;
    /** Status bit 3: the function's INTx is asserted. */
    public static final int STATUS_INTERRUPT = 1 << 3;

    /** BAR bits 2:1 = 10b: a 64-bit memory BAR. */
    public static final int BAR_MEMORY_TYPE_64 = 0x4;
    /** The low four bits of a memory BAR hold its type; the address starts at bit 4. */
    public static final long BAR_MEMORY_FLAGS_MASK = 0xF;

    /** Capability ID of a vendor-specific capability (virtio uses it). */
    public static final int CAP_ID_VENDOR = 0x09;
    /** Capability ID of MSI-X. */
    public static final int CAP_ID_MSIX = 0x11;

    private PciHeader()
    {
    }

    /** @return the configuration offset of BAR {@code index}. */
    public static int barOffset(final int index)
    {
        return BAR0 + 4 * index;
    }
}
