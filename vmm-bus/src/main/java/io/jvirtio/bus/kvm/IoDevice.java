package io.jvirtio.bus.kvm;

/**
 * A device on one of KVM's I/O buses: the {@code kvm_io_device} analogue ({@code include/kvm/iodev.h}), such as an
 * ioeventfd or another in-kernel device model.
 * <p>
 * The bus calls {@link #write} and {@link #read} for every access that falls in the device's registered range
 * (virt/kvm/kvm_main.c); a device that does not take the access returns false ({@code -EOPNOTSUPP} in the kernel)
 * and the bus tries the next matching device. Access values are guest input: a device must not throw on any of
 * them.
 * <p>
 * Thread safety: {@link #write} and {@link #read} are called on vCPU threads, concurrently, inside the bus's read-side
 * critical section, so they must be short, must not block, must not allocate, and must not unregister devices (that
 * waits for the critical section to end). {@link #destructor()} is called once the bus no longer reaches the device,
 * with the VM's bus lock held.
 */
public interface IoDevice
{
    /**
     * {@code kvm_iodevice_write}: a guest store.
     *
     * @param addr  the guest-physical address or port of the access.
     * @param len   the access width in bytes: 1, 2, 4 or 8, or 0 on {@link Bus#FAST_MMIO}, where the width is
     *              not known.
     * @param value the stored bytes, little-endian in the low {@code 8 * len} bits; bits above them are not part of
     *              the access and must be ignored (the kernel passes a pointer to exactly {@code len} bytes).
     * @return true if the device took the write, false to let the bus try the next device.
     */
    boolean write(long addr, int len, long value);

    /**
     * {@code kvm_iodevice_read}: a guest load.
     *
     * @param addr  the guest-physical address or port of the access.
     * @param len   the access width in bytes.
     * @param value the caller's holder; the device sets it only when it returns true.
     * @return true if the device took the read.
     */
    boolean read(long addr, int len, IoValue value);

    /**
     * {@code kvm_iodevice_destructor}: the bus has dropped the device (on unregister or when the VM's buses are
     * destroyed) and no vCPU can reach it any more. The default does nothing.
     */
    default void destructor()
    {
    }
}
