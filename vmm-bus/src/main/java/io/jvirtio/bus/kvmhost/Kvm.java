package io.jvirtio.bus.kvmhost;

import io.jvirtio.bus.kvm.KvmException;
import io.jvirtio.bus.linux.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The KVM system file descriptor, {@code /dev/kvm}: the API version, capabilities, the {@code kvm_run} mapping size,
 * and the factory of VMs (Documentation/virt/kvm/api.rst, section 4).
 * <p>
 * {@link #probe()} says in one line why this host cannot run a VM (no Linux, no {@code /dev/kvm}, permission, a
 * wrong API version), so that tests skip with the reason instead of failing.
 * <p>
 * Thread safety: every method may be called from any thread; {@link #close()} once, after the VMs it made are closed
 * or no longer needed (a VM keeps working after its system fd is closed, as in the kernel).
 */
public final class Kvm implements AutoCloseable
{
    /** The device node. */
    public static final String DEV_KVM = "/dev/kvm";

    private final int fd;
    private final int vcpuMmapSize;
    private byte[] supportedCpuid;
    private volatile boolean closed;

    private Kvm(final int fd, final int vcpuMmapSize)
    {
        this.fd = fd;
        this.vcpuMmapSize = vcpuMmapSize;
    }

    /**
     * Opens {@code /dev/kvm} and checks {@code KVM_GET_API_VERSION} == 12.
     *
     * @return the system handle.
     * @throws KvmException with the errno of the failed open or ioctl; EINVAL for a different API version.
     */
    public static Kvm open()
    {
        if (!Libc.isAvailable())
        {
            throw new UnsupportedOperationException(Libc.unavailableReason());
        }
        final int fd = Libc.open(DEV_KVM, Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new KvmException(-fd, "cannot open kvm device", "path=" + DEV_KVM);
        }
        final int version = Libc.ioctl(fd, KvmApi.KVM_GET_API_VERSION, 0);
        if (version != KvmApi.KVM_API_VERSION)
        {
            Libc.close(fd);
            throw new KvmException(version < 0 ? -version : Libc.EINVAL, "kvm api version is not 12",
                "version=" + version);
        }
        final int mmapSize = Libc.ioctl(fd, KvmApi.KVM_GET_VCPU_MMAP_SIZE, 0);
        if (mmapSize <= 0)
        {
            Libc.close(fd);
            throw new KvmException(mmapSize < 0 ? -mmapSize : Libc.EINVAL, "kvm_get_vcpu_mmap_size failed",
                "size=" + mmapSize);
        }
        return new Kvm(fd, mmapSize);
    }

    /**
     * @return null if a VM can be created here, else one line saying why not (for a test's skip message).
     */
    public static String probe()
    {
        if (!Libc.isAvailable())
        {
            return Libc.unavailableReason();
        }
        try (Kvm kvm = open())
        {
            final int ioeventfd = kvm.checkExtension(KvmApi.KVM_CAP_IOEVENTFD);
            if (ioeventfd <= 0)
            {
                return "kvm lacks KVM_CAP_IOEVENTFD: result=" + ioeventfd;
            }
            return null;
        }
        catch (final KvmException e)
        {
            return "kvm is unusable on this host: " + e.getMessage();
        }
    }

    /** @return the system fd. */
    public int fd()
    {
        return fd;
    }

    /** @return {@code KVM_GET_VCPU_MMAP_SIZE}: bytes to map from each vCPU fd. */
    public int vcpuMmapSize()
    {
        return vcpuMmapSize;
    }

    /**
     * {@code KVM_CHECK_EXTENSION}.
     *
     * @param capability a {@code KVM_CAP_*} number.
     * @return 0 if absent, a positive value (often 1, sometimes a limit) if present, or {@code -errno}.
     */
    public int checkExtension(final int capability)
    {
        ensureOpen();
        return Libc.ioctl(fd, KvmApi.KVM_CHECK_EXTENSION, capability);
    }

    /**
     * {@code KVM_CREATE_VM}, guest RAM and, if asked, the in-kernel irqchip: see {@link KvmVm#create}.
     *
     * @param config what to build.
     * @return the VM.
     */
    public KvmVm createVm(final KvmVmConfig config)
    {
        ensureOpen();
        return KvmVm.create(this, config);
    }

    /**
     * {@code KVM_GET_SUPPORTED_CPUID}, asked once and kept: the CPUID leaves KVM can offer a guest, which every vCPU
     * gets with {@code KVM_SET_CPUID2} (without it a vCPU has no PAE, NX or 1 GiB-page feature bits and its MMU
     * treats those page-table bits as reserved).
     *
     * @return a copy of {@code struct kvm_cpuid2}: {@code nent}, padding, then {@code nent} entries.
     * @throws KvmException with the kernel's errno.
     * @throws IllegalStateException after {@link #close()}.
     */
    public synchronized byte[] supportedCpuid()
    {
        ensureOpen();
        if (supportedCpuid == null)
        {
            try (Arena arena = Arena.ofConfined())
            {
                final MemorySegment cpuid = arena.allocate(
                    KvmApi.CPUID_HEADER_SIZE + KvmApi.CPUID_MAX_ENTRIES * KvmApi.CPUID_ENTRY_SIZE, 8);
                cpuid.set(JAVA_INT, 0, KvmApi.CPUID_MAX_ENTRIES);
                final int result = Libc.ioctl(fd, KvmApi.KVM_GET_SUPPORTED_CPUID, cpuid.address());
                if (result < 0)
                {
                    throw new KvmException(-result, "kvm_get_supported_cpuid failed",
                        "entries=" + KvmApi.CPUID_MAX_ENTRIES);
                }
                final int entries = cpuid.get(JAVA_INT, 0);
                supportedCpuid = cpuid.asSlice(0, KvmApi.CPUID_HEADER_SIZE + entries * KvmApi.CPUID_ENTRY_SIZE)
                    .toArray(JAVA_BYTE);
            }
        }
        return supportedCpuid.clone();
    }

    /** Refuses calls after {@link #close()}, whose fd number the process may already have reused. */
    private void ensureOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("kvm device is closed: fd=" + fd);
        }
    }

    @Override
    public synchronized void close()
    {
        if (!closed)
        {
            closed = true;
            Libc.close(fd);
        }
    }
}
