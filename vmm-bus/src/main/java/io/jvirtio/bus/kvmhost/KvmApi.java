package io.jvirtio.bus.kvmhost;

/**
 * The parts of the KVM userspace API ({@code include/uapi/linux/kvm.h}, x86-64) that jvirtio uses: ioctl request
 * numbers, capabilities, exit reasons, and the byte offsets of the structures passed to the ioctls.
 * <p>
 * The request numbers are {@code _IO}/{@code _IOR}/{@code _IOW} of {@code KVMIO} (0xAE) with the structure's size
 * in bits 16-29, so a size that differs from the kernel's gives ENOTTY rather than a misread structure.
 * <p>
 * Thread safety: constants only; any thread.
 */
public final class KvmApi
{
    /** {@code KVM_API_VERSION}: the only version the kernel has ever answered since 2.6.22. */
    public static final int KVM_API_VERSION = 12;

    /** {@code KVM_GET_API_VERSION}, {@code _IO(KVMIO, 0x00)}. */
    public static final long KVM_GET_API_VERSION = 0xAE00L;
    /** {@code KVM_CREATE_VM}, {@code _IO(KVMIO, 0x01)}; the argument is the machine type, 0 on x86. */
    public static final long KVM_CREATE_VM = 0xAE01L;
    /** {@code KVM_CHECK_EXTENSION}, {@code _IO(KVMIO, 0x03)}. */
    public static final long KVM_CHECK_EXTENSION = 0xAE03L;
    /** {@code KVM_GET_VCPU_MMAP_SIZE}, {@code _IO(KVMIO, 0x04)}: the size of the vCPU's {@code kvm_run} mapping. */
    public static final long KVM_GET_VCPU_MMAP_SIZE = 0xAE04L;
    /** {@code KVM_GET_SUPPORTED_CPUID}, {@code _IOWR(KVMIO, 0x05, struct kvm_cpuid2)}. */
    public static final long KVM_GET_SUPPORTED_CPUID = 0xC008AE05L;
    /** {@code KVM_SET_CPUID2}, {@code _IOW(KVMIO, 0x90, struct kvm_cpuid2)}. */
    public static final long KVM_SET_CPUID2 = 0x4008AE90L;
    /** {@code KVM_CREATE_VCPU}, {@code _IO(KVMIO, 0x41)}. */
    public static final long KVM_CREATE_VCPU = 0xAE41L;
    /** {@code KVM_SET_USER_MEMORY_REGION}, {@code _IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)}. */
    public static final long KVM_SET_USER_MEMORY_REGION = 0x4020AE46L;
    /** {@code KVM_CREATE_IRQCHIP}, {@code _IO(KVMIO, 0x60)}: in-kernel PIC, IOAPIC and LAPICs. */
    public static final long KVM_CREATE_IRQCHIP = 0xAE60L;
    /** {@code KVM_SET_GSI_ROUTING}, {@code _IOW(KVMIO, 0x6a, struct kvm_irq_routing)}. */
    public static final long KVM_SET_GSI_ROUTING = 0x4008AE6AL;
    /** {@code KVM_IRQFD}, {@code _IOW(KVMIO, 0x76, struct kvm_irqfd)}. */
    public static final long KVM_IRQFD = 0x4020AE76L;
    /** {@code KVM_IOEVENTFD}, {@code _IOW(KVMIO, 0x79, struct kvm_ioeventfd)}. */
    public static final long KVM_IOEVENTFD = 0x4040AE79L;
    /** {@code KVM_RUN}, {@code _IO(KVMIO, 0x80)}. */
    public static final long KVM_RUN = 0xAE80L;
    /** {@code KVM_GET_REGS}, {@code _IOR(KVMIO, 0x81, struct kvm_regs)}. */
    public static final long KVM_GET_REGS = 0x8090AE81L;
    /** {@code KVM_SET_REGS}, {@code _IOW(KVMIO, 0x82, struct kvm_regs)}. */
    public static final long KVM_SET_REGS = 0x4090AE82L;
    /** {@code KVM_GET_SREGS}, {@code _IOR(KVMIO, 0x83, struct kvm_sregs)}. */
    public static final long KVM_GET_SREGS = 0x8138AE83L;
    /** {@code KVM_SET_SREGS}, {@code _IOW(KVMIO, 0x84, struct kvm_sregs)}. */
    public static final long KVM_SET_SREGS = 0x4138AE84L;

    /** {@code KVM_CAP_IRQCHIP}. */
    public static final int KVM_CAP_IRQCHIP = 0;
    /** {@code KVM_CAP_USER_MEMORY}. */
    public static final int KVM_CAP_USER_MEMORY = 3;
    /** {@code KVM_CAP_IRQFD}. */
    public static final int KVM_CAP_IRQFD = 32;
    /** {@code KVM_CAP_IOEVENTFD}. */
    public static final int KVM_CAP_IOEVENTFD = 36;
    /** {@code KVM_CAP_IOEVENTFD_NO_LENGTH} (f848a5a8, v3.16). */
    public static final int KVM_CAP_IOEVENTFD_NO_LENGTH = 100;
    /** {@code KVM_CAP_IOEVENTFD_ANY_LENGTH} (e9ea5069, v4.4). */
    public static final int KVM_CAP_IOEVENTFD_ANY_LENGTH = 122;

    /** {@code KVM_EXIT_UNKNOWN}. */
    public static final int KVM_EXIT_UNKNOWN = 0;
    /** {@code KVM_EXIT_IO}: an IN or OUT no in-kernel device took; {@code kvm_run.io} describes it. */
    public static final int KVM_EXIT_IO = 2;
    /** {@code KVM_EXIT_HLT}: the guest halted (only without an in-kernel LAPIC). */
    public static final int KVM_EXIT_HLT = 5;
    /** {@code KVM_EXIT_MMIO}: an MMIO access no in-kernel device took; {@code kvm_run.mmio} describes it. */
    public static final int KVM_EXIT_MMIO = 6;
    /** {@code KVM_EXIT_SHUTDOWN}: a triple fault. */
    public static final int KVM_EXIT_SHUTDOWN = 8;
    /** {@code KVM_EXIT_FAIL_ENTRY}: the hardware refused the VM entry. */
    public static final int KVM_EXIT_FAIL_ENTRY = 9;
    /** {@code KVM_EXIT_INTR}: a signal interrupted KVM_RUN. */
    public static final int KVM_EXIT_INTR = 10;
    /** {@code KVM_EXIT_INTERNAL_ERROR}: KVM could not handle the exit (for example, emulation failed). */
    public static final int KVM_EXIT_INTERNAL_ERROR = 17;
    /** Exit reasons below this bound are counted one by one; larger ones share the last counter. */
    public static final int EXIT_REASON_SLOTS = 64;

    /** {@code KVM_EXIT_IO_IN}: {@code kvm_run.io.direction} of an IN. */
    public static final int KVM_EXIT_IO_IN = 0;
    /** {@code KVM_EXIT_IO_OUT}: {@code kvm_run.io.direction} of an OUT. */
    public static final int KVM_EXIT_IO_OUT = 1;

    /** {@code struct kvm_run}: {@code __u32 exit_reason}. */
    public static final long RUN_EXIT_REASON = 8;
    /** {@code struct kvm_run}: {@code io.direction} (u8). */
    public static final long RUN_IO_DIRECTION = 32;
    /** {@code struct kvm_run}: {@code io.size} (u8). */
    public static final long RUN_IO_SIZE = 33;
    /** {@code struct kvm_run}: {@code io.port} (u16). */
    public static final long RUN_IO_PORT = 34;
    /** {@code struct kvm_run}: {@code io.count} (u32). */
    public static final long RUN_IO_COUNT = 36;
    /** {@code struct kvm_run}: {@code io.data_offset} (u64), from the start of the mapping. */
    public static final long RUN_IO_DATA_OFFSET = 40;
    /** {@code struct kvm_run}: {@code mmio.phys_addr} (u64). */
    public static final long RUN_MMIO_PHYS_ADDR = 32;
    /** {@code struct kvm_run}: {@code mmio.data[8]}. */
    public static final long RUN_MMIO_DATA = 40;
    /** {@code struct kvm_run}: {@code mmio.len} (u32). */
    public static final long RUN_MMIO_LEN = 48;
    /** {@code struct kvm_run}: {@code mmio.is_write} (u8). */
    public static final long RUN_MMIO_IS_WRITE = 52;
    /** {@code struct kvm_run}: {@code internal.suberror} (u32). */
    public static final long RUN_INTERNAL_SUBERROR = 32;

    /** {@code sizeof(struct kvm_userspace_memory_region)}. */
    public static final long MEMORY_REGION_SIZE = 32;
    /** {@code sizeof(struct kvm_ioeventfd)}. */
    public static final long IOEVENTFD_SIZE = 64;
    /** {@code sizeof(struct kvm_irqfd)}. */
    public static final long IRQFD_SIZE = 32;
    /** {@code sizeof(struct kvm_irq_routing)} without its entries. */
    public static final long IRQ_ROUTING_HEADER_SIZE = 8;
    /** {@code sizeof(struct kvm_irq_routing_entry)}. */
    public static final long IRQ_ROUTING_ENTRY_SIZE = 48;
    /** {@code KVM_IRQ_ROUTING_IRQCHIP}: a GSI routed to an interrupt-controller pin. */
    public static final int KVM_IRQ_ROUTING_IRQCHIP = 1;
    /** {@code KVM_IRQ_ROUTING_MSI}: a GSI that sends an MSI. */
    public static final int KVM_IRQ_ROUTING_MSI = 2;
    /** {@code KVM_IRQCHIP_PIC_MASTER}. */
    public static final int KVM_IRQCHIP_PIC_MASTER = 0;
    /** {@code KVM_IRQCHIP_PIC_SLAVE}. */
    public static final int KVM_IRQCHIP_PIC_SLAVE = 1;
    /** {@code KVM_IRQCHIP_IOAPIC}. */
    public static final int KVM_IRQCHIP_IOAPIC = 2;
    /** {@code KVM_IOAPIC_NUM_PINS}. */
    public static final int KVM_IOAPIC_NUM_PINS = 24;

    /** {@code sizeof(struct kvm_cpuid2)} without its entries: {@code nent} and padding. */
    public static final long CPUID_HEADER_SIZE = 8;
    /** {@code sizeof(struct kvm_cpuid_entry2)}. */
    public static final long CPUID_ENTRY_SIZE = 40;
    /** Entries offered to {@code KVM_GET_SUPPORTED_CPUID}; the kernel answers E2BIG if it has more. */
    public static final int CPUID_MAX_ENTRIES = 256;

    /** {@code sizeof(struct kvm_regs)}: 16 general registers, RIP, RFLAGS. */
    public static final long REGS_SIZE = 144;
    /** {@code sizeof(struct kvm_sregs)}. */
    public static final long SREGS_SIZE = 312;
    /** {@code sizeof(struct kvm_segment)}. */
    public static final long SEGMENT_SIZE = 24;

    private KvmApi()
    {
    }
}
