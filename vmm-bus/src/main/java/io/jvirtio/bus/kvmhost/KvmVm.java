package io.jvirtio.bus.kvmhost;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.guest.GuestAddressSpace;
import io.jvirtio.bus.irq.InterruptController;
import io.jvirtio.bus.irq.MsiMessage;
import io.jvirtio.bus.kvm.Errno;
import io.jvirtio.bus.kvm.KvmException;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.kvm.KvmIrqFd;
import io.jvirtio.bus.linux.Libc;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;
import io.jvirtio.bus.stats.ExitStats;
import io.jvirtio.bus.vm.UserspaceDevice;
import io.jvirtio.bus.vm.UserspaceDevices;
import io.jvirtio.bus.vm.Vcpu;
import io.jvirtio.bus.vm.Vm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A VM on the host's KVM: {@code KVM_CREATE_VM}, guest RAM from a memfd {@link GuestRegion} given to
 * {@code KVM_SET_USER_MEMORY_REGION} as slot 0 at guest-physical 0, optionally {@code KVM_CREATE_IRQCHIP}, and the
 * vCPUs ({@link KvmVcpu}). The {@link Vm} calls map to the ioctls of the same name: {@code KVM_IOEVENTFD},
 * {@code KVM_IRQFD}, {@code KVM_SET_GSI_ROUTING}; a refused ioctl is a {@link KvmException} with the kernel's errno,
 * the same exception the simulated VM raises.
 * <p>
 * ioeventfds and irqfds need eventfds with a kernel file descriptor ({@link io.jvirtio.bus.event.EventFds#linux()});
 * an in-JVM eventfd is refused with {@link IllegalArgumentException}, while a null eventfd is passed as fd -1 (the
 * "not an eventfd" argument, which the kernel answers with EBADF).
 * <p>
 * {@link #vcpu(int)} throws {@link UnsupportedOperationException}: the {@link Vcpu} interface runs one instruction
 * chosen by Java code, while a real vCPU runs guest code from guest RAM until it exits. {@link #kvmVcpu(int)} gives
 * the real vCPU and its {@code KVM_RUN} loop.
 * <p>
 * {@link #exitStats()} counts the exits that reach userspace, under the reason hardware gives for them with VMX:
 * {@code KVM_EXIT_IO} as IO_INSTRUCTION/PIO_USERSPACE, {@code KVM_EXIT_MMIO} as EPT_MISCONFIG/MMIO_USERSPACE,
 * {@code KVM_EXIT_HLT} as HLT/HLT. Exits handled inside the kernel are not visible to userspace and are not counted;
 * {@link KvmVcpu#exitCount(int)} counts by {@code KVM_EXIT_*} reason.
 * <p>
 * Thread safety: as {@link Vm}; each {@link KvmVcpu} is run by one thread at a time.
 */
public final class KvmVm implements Vm
{
    /** The memslot of guest RAM. */
    public static final int RAM_SLOT = 0;

    private final Kvm kvm;
    private final KvmVmConfig config;
    private final int vmFd;
    private final GuestMemory memory;
    private final UserspaceDevices mmio = new UserspaceDevices("mmio");
    private final UserspaceDevices pio = new UserspaceDevices("pio");
    private final ExitStats stats;
    private final KvmVcpu[] vcpus;
    private final AtomicInteger nextMsiGsi = new AtomicInteger(KvmApi.KVM_IOAPIC_NUM_PINS);
    /** The MSI routes set so far; KVM_SET_GSI_ROUTING replaces the whole table, so each call sends them all. */
    private final Map<Integer, MsiMessage> msiRoutes = new TreeMap<>();
    private GuestAddressSpace addressSpace;
    private volatile boolean closed;

    private KvmVm(final Kvm kvm, final KvmVmConfig config, final int vmFd, final GuestMemory memory)
    {
        this.kvm = kvm;
        this.config = config;
        this.vmFd = vmFd;
        this.memory = memory;
        this.stats = new ExitStats(config.vcpus());
        this.vcpus = new KvmVcpu[config.vcpus()];
    }

    /**
     * Builds a VM: {@code KVM_CREATE_VM}, a memfd of {@code config.memoryBytes()} registered as slot 0, the
     * irqchip if asked, then the vCPUs. On any failure everything made so far is released.
     *
     * @throws KvmException with the errno of the ioctl that failed.
     */
    static KvmVm create(final Kvm kvm, final KvmVmConfig config)
    {
        final int vmFd = Libc.ioctl(kvm.fd(), KvmApi.KVM_CREATE_VM, 0);
        if (vmFd < 0)
        {
            throw new KvmException(-vmFd, "kvm_create_vm failed", "");
        }
        GuestMemory memory = null;
        KvmVm vm = null;
        try
        {
            memory = GuestMemory.of(GuestRegion.memfd(0, config.memoryBytes(), "guest-ram"));
            vm = new KvmVm(kvm, config, vmFd, memory);
            vm.setUserMemoryRegion(memory.regions().getFirst());
            if (config.irqchip())
            {
                vm.check(Libc.ioctl(vmFd, KvmApi.KVM_CREATE_IRQCHIP, 0), "kvm_create_irqchip failed", "");
            }
            for (int i = 0; i < config.vcpus(); i++)
            {
                vm.vcpus[i] = KvmVcpu.create(vm, i, kvm.vcpuMmapSize(), kvm.supportedCpuid());
            }
            return vm;
        }
        catch (final RuntimeException e)
        {
            if (vm != null)
            {
                vm.close();
            }
            else
            {
                if (memory != null)
                {
                    memory.close();
                }
                Libc.close(vmFd);
            }
            throw e;
        }
    }

    private void setUserMemoryRegion(final GuestRegion region)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment arg = arena.allocate(KvmApi.MEMORY_REGION_SIZE, 8);
            arg.set(JAVA_INT, 0, RAM_SLOT);
            arg.set(JAVA_INT, 4, 0);
            arg.set(JAVA_LONG, 8, region.guestBase());
            arg.set(JAVA_LONG, 16, region.size());
            arg.set(JAVA_LONG, 24, region.segment().address());
            check(Libc.ioctl(vmFd, KvmApi.KVM_SET_USER_MEMORY_REGION, arg.address()),
                "kvm_set_user_memory_region failed", "slot=" + RAM_SLOT + ", size=" + region.size());
        }
    }

    /** Refuses calls after {@link #close()}, whose fd number the process may already have reused. */
    private void ensureOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("vm is closed: fd=" + vmFd);
        }
    }

    private static void check(final int result, final String what, final String details)
    {
        if (result < 0)
        {
            throw new KvmException(-result, what, details);
        }
    }

    /** @return the VM fd. */
    public int fd()
    {
        return vmFd;
    }

    /** @return how this VM was built. */
    public KvmVmConfig config()
    {
        return config;
    }

    /** @return the KVM system handle that made this VM. */
    public Kvm kvm()
    {
        return kvm;
    }

    @Override
    public GuestMemory memory()
    {
        return memory;
    }

    /**
     * Builds the guest page tables on first use (they occupy the top 1 MiB of RAM); a vCPU uses them after
     * {@link KvmVcpu#enterLongMode(long, boolean)} with {@link GuestAddressSpace#cr3()} and NXE on.
     *
     * @throws IllegalArgumentException if RAM is smaller than 2 MiB.
     */
    @Override
    public synchronized GuestAddressSpace guestAddressSpace()
    {
        if (addressSpace == null)
        {
            addressSpace = new GuestAddressSpace(memory);
        }
        return addressSpace;
    }

    /** @return the userspace MMIO ranges that {@code KVM_EXIT_MMIO} is dispatched to. */
    public UserspaceDevices userspaceMmio()
    {
        return mmio;
    }

    /** @return the userspace port ranges that {@code KVM_EXIT_IO} is dispatched to. */
    public UserspaceDevices userspacePio()
    {
        return pio;
    }

    /**
     * {@code KVM_IOEVENTFD} with {@code struct kvm_ioeventfd} filled from {@code args}.
     *
     * @throws KvmException with the kernel's errno.
     * @throws IllegalArgumentException for an in-JVM eventfd, which has no kernel fd.
     */
    @Override
    public void ioeventfd(final KvmIoEventFd args)
    {
        ensureOpen();
        final int fd = kernelFd(args.eventFd(), "ioeventfd");
        final int result;
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment arg = arena.allocate(KvmApi.IOEVENTFD_SIZE, 8);
            arg.set(JAVA_LONG, 0, args.datamatch());
            arg.set(JAVA_LONG, 8, args.addr());
            arg.set(JAVA_INT, 16, args.len());
            arg.set(JAVA_INT, 20, fd);
            arg.set(JAVA_INT, 24, args.flags());
            result = Libc.ioctl(vmFd, KvmApi.KVM_IOEVENTFD, arg.address());
        }
        check(result, "kvm refused the ioeventfd", args + ", fd=" + fd);
    }

    /**
     * {@code KVM_IRQFD} with {@code struct kvm_irqfd} filled from {@code args}.
     *
     * @throws KvmException with the kernel's errno (EAGAIN without the irqchip).
     * @throws IllegalArgumentException for an in-JVM eventfd, which has no kernel fd.
     */
    @Override
    public void irqfd(final KvmIrqFd args)
    {
        ensureOpen();
        final int fd = kernelFd(args.eventFd(), "irqfd");
        final int resampleFd = (args.flags() & KvmIrqFd.KVM_IRQFD_FLAG_RESAMPLE) != 0
            ? kernelFd(args.resampleFd(), "irqfd resample") : 0;
        final int result;
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment arg = arena.allocate(KvmApi.IRQFD_SIZE, 8);
            arg.set(JAVA_INT, 0, fd);
            arg.set(JAVA_INT, 4, args.gsi());
            arg.set(JAVA_INT, 8, args.flags());
            arg.set(JAVA_INT, 12, resampleFd);
            result = Libc.ioctl(vmFd, KvmApi.KVM_IRQFD, arg.address());
        }
        check(result, "kvm refused the irqfd", "fd=" + fd + ", gsi=" + args.gsi() + ", flags=0x"
            + Integer.toHexString(args.flags()));
    }

    private static int kernelFd(final EventFd eventFd, final String what)
    {
        if (eventFd == null)
        {
            return -1;
        }
        final int fd = eventFd.fd();
        if (fd < 0)
        {
            throw new IllegalArgumentException(what + " on kvm needs a linux eventfd: fd=" + fd);
        }
        return fd;
    }

    /**
     * {@code KVM_SET_GSI_ROUTING} with KVM's default x86 routing (GSIs 0-15 to the PICs and the IOAPIC, 16-23 to the
     * IOAPIC; arch/x86/kvm/irq_comm.c) plus every MSI route set so far, this one included.
     *
     * @throws KvmException EINVAL for a GSI below 24 or at least 4096 (as the simulated VM), or the kernel's errno.
     */
    @Override
    public synchronized void setMsiRoute(final int gsi, final MsiMessage message)
    {
        if (gsi < KvmApi.KVM_IOAPIC_NUM_PINS || gsi >= InterruptController.KVM_MAX_IRQ_ROUTES)
        {
            throw new KvmException(Errno.EINVAL, "gsi cannot carry an msi route", "gsi=" + gsi);
        }
        ensureOpen();
        final MsiMessage previous = msiRoutes.put(gsi, message);
        final int pinEntries = KvmApi.KVM_IOAPIC_NUM_PINS + 16;
        final int count = pinEntries + msiRoutes.size();
        final int result;
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment arg = arena.allocate(
                KvmApi.IRQ_ROUTING_HEADER_SIZE + count * KvmApi.IRQ_ROUTING_ENTRY_SIZE, 8);
            arg.set(JAVA_INT, 0, count);
            int entry = 0;
            // bound: 16 PIC pins and 24 IOAPIC pins
            for (int pin = 0; pin < KvmApi.KVM_IOAPIC_NUM_PINS; pin++)
            {
                if (pin < 16)
                {
                    final int chip = pin < 8 ? KvmApi.KVM_IRQCHIP_PIC_MASTER : KvmApi.KVM_IRQCHIP_PIC_SLAVE;
                    irqchipEntry(arg, entry++, pin, chip, pin & 7);
                }
                irqchipEntry(arg, entry++, pin, KvmApi.KVM_IRQCHIP_IOAPIC, pin);
            }
            // bound: one entry per route, at most KVM_MAX_IRQ_ROUTES
            for (final Map.Entry<Integer, MsiMessage> route : msiRoutes.entrySet())
            {
                final long at = KvmApi.IRQ_ROUTING_HEADER_SIZE + entry++ * KvmApi.IRQ_ROUTING_ENTRY_SIZE;
                arg.set(JAVA_INT, at, route.getKey());
                arg.set(JAVA_INT, at + 4, KvmApi.KVM_IRQ_ROUTING_MSI);
                arg.set(JAVA_INT, at + 16, (int)route.getValue().address());
                arg.set(JAVA_INT, at + 20, (int)(route.getValue().address() >>> 32));
                arg.set(JAVA_INT, at + 24, route.getValue().data());
            }
            result = Libc.ioctl(vmFd, KvmApi.KVM_SET_GSI_ROUTING, arg.address());
        }
        if (result < 0)
        {
            if (previous == null)
            {
                msiRoutes.remove(gsi);
            }
            else
            {
                msiRoutes.put(gsi, previous);
            }
            throw new KvmException(-result, "kvm refused the msi route", "gsi=" + gsi + ", data=0x"
                + Integer.toHexString(message.data()));
        }
    }

    private static void irqchipEntry(final MemorySegment arg, final int index, final int gsi, final int chip,
        final int pin)
    {
        final long at = KvmApi.IRQ_ROUTING_HEADER_SIZE + index * KvmApi.IRQ_ROUTING_ENTRY_SIZE;
        arg.set(JAVA_INT, at, gsi);
        arg.set(JAVA_INT, at + 4, KvmApi.KVM_IRQ_ROUTING_IRQCHIP);
        arg.set(JAVA_INT, at + 16, chip);
        arg.set(JAVA_INT, at + 20, pin);
    }

    @Override
    public int allocateMsiGsi()
    {
        return nextMsiGsi.getAndIncrement();
    }

    /**
     * Registers a userspace device for {@code KVM_EXIT_MMIO} exits in {@code [base, base + length)}.
     *
     * @throws IllegalArgumentException if the range overlaps RAM or a registered range.
     */
    @Override
    public UserspaceDevices.Registration registerMmio(final long base, final long length,
        final UserspaceDevice device)
    {
        return mmio.registerMmio(memory, base, length, device);
    }

    /**
     * Registers a userspace device for {@code KVM_EXIT_IO} exits on ports {@code [port, port + length)}.
     *
     * @throws IllegalArgumentException if the range leaves 0-0xffff or overlaps a registered range.
     */
    @Override
    public UserspaceDevices.Registration registerPio(final int port, final int length, final UserspaceDevice device)
    {
        return pio.registerPorts(port, length, device);
    }

    @Override
    public int vcpuCount()
    {
        return vcpus.length;
    }

    /**
     * Not supported on real KVM: see the class comment; use {@link #kvmVcpu(int)}.
     *
     * @throws UnsupportedOperationException always.
     */
    @Override
    public Vcpu vcpu(final int index)
    {
        throw new UnsupportedOperationException("a kvm vcpu runs guest code from ram, use kvmVcpu: index=" + index);
    }

    /** @return real vCPU {@code index}, 0-based. */
    public KvmVcpu kvmVcpu(final int index)
    {
        return vcpus[index];
    }

    @Override
    public ExitStats exitStats()
    {
        return stats;
    }

    /** Closes every vCPU (unmapping its {@code kvm_run}), the VM fd, then unmaps and closes guest RAM. */
    @Override
    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        for (final KvmVcpu vcpu : vcpus)
        {
            if (vcpu != null)
            {
                vcpu.close();
            }
        }
        Libc.close(vmFd);
        memory.close();
    }

    @Override
    public String toString()
    {
        return "KvmVm{fd=" + vmFd + ", memory=" + config.memoryBytes() + ", vcpus=" + vcpus.length + ", irqchip="
            + config.irqchip() + '}';
    }
}
