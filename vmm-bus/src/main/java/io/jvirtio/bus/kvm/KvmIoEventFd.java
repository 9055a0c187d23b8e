package io.jvirtio.bus.kvm;

import io.jvirtio.bus.event.EventFd;

/**
 * The argument of the {@code KVM_IOEVENTFD} ioctl, {@code struct kvm_ioeventfd} (include/uapi/linux/kvm.h), with the
 * eventfd in place of the file descriptor.
 * <p>
 * The record holds the raw values; {@link IoEventFds} validates them as KVM does, so an invalid request is a
 * {@link KvmException}, not a constructor failure.
 * <p>
 * Thread safety: immutable; any thread.
 *
 * @param datamatch the value a {@link #KVM_IOEVENTFD_FLAG_DATAMATCH} ioeventfd matches, compared with the guest value
 *                  zero-extended to 64 bits; ignored without that flag.
 * @param addr      the guest-physical address, port, or (virtio-ccw) subchannel id.
 * @param len       {@code __u32 len}: 1, 2, 4 or 8, or 0 to match any access at {@code addr}.
 * @param eventFd   the eventfd to signal ({@code fd}); null stands for a descriptor that is not an eventfd.
 * @param flags     {@code KVM_IOEVENTFD_FLAG_*}.
 */
public record KvmIoEventFd(long datamatch, long addr, int len, EventFd eventFd, int flags)
{
    /** Match only when the guest value equals {@code datamatch}. */
    public static final int KVM_IOEVENTFD_FLAG_DATAMATCH = 1;
    /** A port-I/O ioeventfd, on {@link Bus#PIO}. */
    public static final int KVM_IOEVENTFD_FLAG_PIO = 1 << 1;
    /** Remove the ioeventfd that matches the request instead of adding one. */
    public static final int KVM_IOEVENTFD_FLAG_DEASSIGN = 1 << 2;
    /** A virtio-ccw notification, on {@link Bus#VIRTIO_CCW_NOTIFY}; {@link #KVM_IOEVENTFD_FLAG_PIO} wins over it. */
    public static final int KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY = 1 << 3;
    /**
     * Bit {@code kvm_ioeventfd_flag_nr_fast_mmio} (4) of the UAPI enum: it has no {@code KVM_IOEVENTFD_FLAG_*} macro
     * and {@code virt/kvm/eventfd.c} never reads it, but it lies below {@code kvm_ioeventfd_flag_nr_max}, so assign
     * accepts and ignores it (checked against the host kernel by the kvmhost oracle test).
     */
    public static final int KVM_IOEVENTFD_FLAG_FAST_MMIO = 1 << 4;
    /**
     * {@code KVM_IOEVENTFD_VALID_FLAG_MASK}, {@code (1 << kvm_ioeventfd_flag_nr_max) - 1}: every flag bit the UAPI
     * enum lists, DEASSIGN and the unused fast-MMIO bit included (include/uapi/linux/kvm.h).
     */
    public static final int KVM_IOEVENTFD_VALID_FLAG_MASK = 0x1F;

    /**
     * {@code ioeventfd_bus_from_flags}: PIO, else VIRTIO_CCW_NOTIFY, else MMIO.
     *
     * @return the bus these flags select.
     */
    public Bus bus()
    {
        if ((flags & KVM_IOEVENTFD_FLAG_PIO) != 0)
        {
            return Bus.PIO;
        }
        if ((flags & KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY) != 0)
        {
            return Bus.VIRTIO_CCW_NOTIFY;
        }
        return Bus.MMIO;
    }

    /** @return true without {@link #KVM_IOEVENTFD_FLAG_DATAMATCH}: any value matches. */
    public boolean wildcard()
    {
        return (flags & KVM_IOEVENTFD_FLAG_DATAMATCH) == 0;
    }

    /** @return this request with {@link #KVM_IOEVENTFD_FLAG_DEASSIGN} set. */
    public KvmIoEventFd deassigning()
    {
        return new KvmIoEventFd(datamatch, addr, len, eventFd, flags | KVM_IOEVENTFD_FLAG_DEASSIGN);
    }

    @Override
    public String toString()
    {
        return "addr=0x" + Long.toHexString(addr) + ", len=" + Integer.toUnsignedString(len) +
            ", flags=0x" + Integer.toHexString(flags) + ", datamatch=0x" + Long.toHexString(datamatch);
    }
}
