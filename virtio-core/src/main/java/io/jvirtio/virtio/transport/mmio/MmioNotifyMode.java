package io.jvirtio.virtio.transport.mmio;

/**
 * How kicks written to virtio-mmio's single QueueNotify register reach the device's workers.
 * <p>
 * Thread safety: constants only.
 */
public enum MmioNotifyMode
{
    /**
     * One 4-byte ioeventfd per ready queue at QueueNotify with {@code KVM_IOEVENTFD_FLAG_DATAMATCH} on the queue
     * index: each queue has its own kick eventfd, but the exit must be decoded to learn the value (the emulated
     * path, MMIO_KERNEL).
     */
    DATAMATCH,
    /**
     * One length-0 wildcard ioeventfd at QueueNotify for the whole device: KVM puts it on the FAST_MMIO bus, so a
     * kick costs no instruction decode, but every queue shares one kick eventfd and the woken worker checks every
     * queue it owns.
     */
    WILDCARD
}
