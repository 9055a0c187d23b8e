package io.jvirtio.bus.vm;

/**
 * A device model that lives in "userspace", in the VMM rather than in the hypervisor: a transport's register file,
 * PCI configuration space, a test device. An MMIO or port access that no in-kernel bus device takes exits to the VMM
 * and is dispatched here, as {@code KVM_EXIT_MMIO} and {@code KVM_EXIT_IO} reach QEMU's memory regions.
 * <p>
 * Offsets are relative to the base the device was registered at. Sizes are 1, 2, 4 or 8 for MMIO and 1, 2 or 4 for
 * port I/O; alignment is whatever the guest used, so a device checks what its specification requires and ignores or
 * answers the rest (all guest input is hostile: nothing here may throw for a guest value).
 * <p>
 * Thread safety: called on vCPU threads; with several vCPUs, concurrently. A device that hands work to another
 * thread does so through its own documented hand-off.
 */
public interface UserspaceDevice
{
    /**
     * A guest load.
     *
     * @param offset bytes from the registered base.
     * @param size   access width in bytes.
     * @return the value, in the low {@code 8 * size} bits; higher bits are ignored.
     */
    long read(long offset, int size);

    /**
     * A guest store.
     *
     * @param offset bytes from the registered base.
     * @param size   access width in bytes.
     * @param value  the stored bytes, little-endian in the low {@code 8 * size} bits; higher bits are zero.
     */
    void write(long offset, int size, long value);
}
