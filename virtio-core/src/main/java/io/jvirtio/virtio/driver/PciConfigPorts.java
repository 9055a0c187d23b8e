package io.jvirtio.virtio.driver;

import io.jvirtio.bus.vm.Vcpu;

/**
 * The guest's PCI configuration access through mechanism #1 (PCI Local Bus Specification 3.0 §3.2.2.3.2), as Linux's
 * {@code pci_conf1_read}/{@code pci_conf1_write} do it: a 32-bit {@code out} of the address to 0xCF8, then an
 * {@code in} or {@code out} of the data at 0xCFC + (register &amp; 3). Every access is two real port-I/O exits.
 * <p>
 * Thread safety: the vCPU thread that plays the driver; CONFIG_ADDRESS is machine-wide, so only one driver thread may
 * use mechanism #1 at a time (Linux holds {@code pci_config_lock}).
 */
public final class PciConfigPorts
{
    /** Port of CONFIG_ADDRESS. */
    public static final int CONFIG_ADDRESS = 0xCF8;
    /** First port of CONFIG_DATA. */
    public static final int CONFIG_DATA = 0xCFC;

    private final Vcpu vcpu;

    /**
     * @param vcpu the vCPU the accesses run on.
     */
    public PciConfigPorts(final Vcpu vcpu)
    {
        this.vcpu = vcpu;
    }

    private void select(final int device, final int function, final int register)
    {
        vcpu.out(CONFIG_ADDRESS, 4, 0x8000_0000L | (long)(device & 0x1F) << 11 | (long)(function & 0x7) << 8
            | (register & 0xFC));
    }

    /**
     * @param size 1, 2 or 4.
     * @return the register of bus 0, {@code device.function}.
     */
    public long read(final int device, final int function, final int register, final int size)
    {
        select(device, function, register);
        return vcpu.in(CONFIG_DATA + (register & 3), size);
    }

    /** Writes a register of bus 0, {@code device.function}. */
    public void write(final int device, final int function, final int register, final int size, final long value)
    {
        select(device, function, register);
        vcpu.out(CONFIG_DATA + (register & 3), size, value);
    }
}
