package io.jvirtio.bus.vm;

import io.jvirtio.bus.guest.GuestAddressSpace;
import io.jvirtio.bus.irq.InterruptController;
import io.jvirtio.bus.irq.MsiMessage;
import io.jvirtio.bus.kvm.IoBuses;
import io.jvirtio.bus.kvm.IoEventFds;
import io.jvirtio.bus.kvm.IrqFds;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.kvm.KvmIrqFd;
import io.jvirtio.bus.linux.Libc;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;
import io.jvirtio.bus.stats.ExitStats;
import io.jvirtio.bus.stats.ExitTrace;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A VM whose hypervisor is simulated in pure Java, with KVM's semantics: KVM's four I/O buses with ioeventfd and
 * irqfd, an interrupt controller, userspace MMIO and port dispatch, and vCPUs whose exits take KVM's paths (the VMX
 * fast-MMIO path for wildcard ioeventfds, emulation otherwise).
 * <p>
 * {@snippet :
 * try (SimulatedVm vm = SimulatedVm.create(VmConfig.defaults()))
 * {
 *     EventFd kick = EventFds.jvm();
 *     vm.ioeventfd(new KvmIoEventFd(0, 0xd000_0000L, 0, kick, 0)); // wildcard, length 0: the fast path
 *     vm.vcpu(0).mmioWrite(0xd000_0000L, 2, 0);                      // mov %ax,(%rdi): an EPT-misconfig exit
 *     assert kick.tryRead() == 1;
 * }
 * }
 * <p>
 * Thread safety: as {@link Vm}; each vCPU is driven by one thread at a time.
 */
public final class SimulatedVm implements Vm
{
    private final VmConfig config;
    private final GuestMemory memory;
    private final GuestAddressSpace addressSpace;
    private final IoBuses buses;
    private final IoEventFds ioeventfds;
    private final InterruptController irqchip;
    private final IrqFds irqfds;
    private final UserspaceDevices mmio = new UserspaceDevices("mmio");
    private final UserspaceDevices pio = new UserspaceDevices("pio");
    private final ExitTrace trace;
    private final ExitStats stats;
    private final SimulatedVcpu[] vcpus;
    private final AtomicInteger nextMsiGsi = new AtomicInteger(InterruptController.IOAPIC_NUM_PINS);

    private SimulatedVm(final VmConfig config)
    {
        this.config = config;
        // memfd where it exists, so the RAM can be shared with another process as a VMM shares it with vhost-user
        this.memory = GuestMemory.of(Libc.isAvailable()
            ? GuestRegion.memfd(0, config.memoryBytes(), "guest-ram")
            : GuestRegion.anonymous(0, config.memoryBytes()));
        this.addressSpace = new GuestAddressSpace(memory);
        this.buses = new IoBuses(config.kvmCompat());
        this.ioeventfds = new IoEventFds(buses);
        this.irqchip = new InterruptController(config.vcpus());
        this.irqfds = new IrqFds(irqchip);
        try
        {
            this.trace = config.exitTrace() == null ? null : ExitTrace.open(config.exitTrace());
        }
        catch (final RuntimeException ex)
        {
            memory.close();
            throw ex;
        }
        this.stats = new ExitStats(config.vcpus(), trace);
        this.vcpus = new SimulatedVcpu[config.vcpus()];
        for (int i = 0; i < vcpus.length; i++)
        {
            vcpus[i] = new SimulatedVcpu(i, this);
        }
    }

    /**
     * @param config what to build.
     * @return a running VM: RAM, page tables, vCPUs in 64-bit mode.
     */
    public static SimulatedVm create(final VmConfig config)
    {
        return new SimulatedVm(config);
    }

    /** @return how this VM was built. */
    public VmConfig config()
    {
        return config;
    }

    @Override
    public GuestMemory memory()
    {
        return memory;
    }

    @Override
    public GuestAddressSpace guestAddressSpace()
    {
        return addressSpace;
    }

    /** @return KVM's I/O buses, for in-kernel devices and inspection. */
    public IoBuses buses()
    {
        return buses;
    }

    /** @return the ioeventfd registry (counts and releases, for tests). */
    public IoEventFds ioeventfds()
    {
        return ioeventfds;
    }

    /** @return the simulated interrupt controller. */
    public InterruptController irqchip()
    {
        return irqchip;
    }

    /** @return the userspace MMIO ranges. */
    public UserspaceDevices userspaceMmio()
    {
        return mmio;
    }

    /** @return the userspace port ranges. */
    public UserspaceDevices userspacePio()
    {
        return pio;
    }

    @Override
    public void ioeventfd(final KvmIoEventFd args)
    {
        ioeventfds.ioeventfd(args);
    }

    @Override
    public void irqfd(final KvmIrqFd args)
    {
        irqfds.irqfd(args);
    }

    @Override
    public void setMsiRoute(final int gsi, final MsiMessage message)
    {
        irqchip.setMsiRoute(gsi, message);
    }

    @Override
    public int allocateMsiGsi()
    {
        return nextMsiGsi.getAndIncrement();
    }

    @Override
    public UserspaceDevices.Registration registerMmio(final long base, final long length,
        final UserspaceDevice device)
    {
        return mmio.registerMmio(memory, base, length, device);
    }

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

    @Override
    public SimulatedVcpu vcpu(final int index)
    {
        return vcpus[index];
    }

    @Override
    public ExitStats exitStats()
    {
        return stats;
    }

    @Override
    public void close()
    {
        for (int i = 0; i < vcpus.length; i++)
        {
            irqchip.kick(i);
        }
        buses.close();
        if (trace != null)
        {
            trace.close();
        }
        memory.close();
    }

    @Override
    public String toString()
    {
        return "SimulatedVm{memory=" + config.memoryBytes() + ", vcpus=" + vcpus.length + ", exits="
            + config.exitStyle() + ", fastMmioBus=" + config.fastMmioBus() + '}';
    }
}
