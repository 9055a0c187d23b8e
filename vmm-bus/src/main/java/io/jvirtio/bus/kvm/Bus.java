package io.jvirtio.bus.kvm;

/**
 * KVM's I/O buses, in the order of the kernel's {@code enum kvm_bus} ({@code include/linux/kvm_host.h}).
 * <p>
 * Thread safety: immutable; any thread.
 */
public enum Bus
{
    /** {@code KVM_MMIO_BUS}: emulated MMIO accesses (the slow path), with their address, width and data. */
    MMIO,
    /** {@code KVM_PIO_BUS}: port I/O from IN/OUT exits; the exit gives port, size and direction, no decode. */
    PIO,
    /** {@code KVM_VIRTIO_CCW_NOTIFY_BUS}: s390 virtio-ccw notifications (diagnose 0x500). */
    VIRTIO_CCW_NOTIFY,
    /**
     * {@code KVM_FAST_MMIO_BUS}: the EPT-misconfig fast path, written with length 0 and no data; only length-0
     * (wildcard) MMIO ioeventfds sit on it ("KVM: VMX: speed up wildcard MMIO EVENTFD", 68c3b4d1).
     */
    FAST_MMIO
}
