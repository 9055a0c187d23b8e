package io.jvirtio.bus.kvmhost;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.irq.MsiMessage;
import io.jvirtio.bus.kvm.Errno;
import io.jvirtio.bus.kvm.KvmException;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.kvm.KvmIrqFd;
import io.jvirtio.bus.stats.ExitPath;
import io.jvirtio.bus.stats.ExitReason;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A real VM on /dev/kvm: the KVM_RUN loop, userspace dispatch of port and MMIO exits, ioeventfd in the kernel. */
class KvmVmTest
{
    private static final long ENTRY = 0x1000;
    private static final long MMIO_BASE = 0xD000_0000L;
    private static final int PORT = 0x10;
    private static final int MAX_EXITS = 10_000;

    @BeforeEach
    void requireKvm()
    {
        KvmAssumptions.assumeKvm();
    }

    private static KvmVcpu load(final KvmVm vm, final byte[] code, final long dataBase)
    {
        vm.memory().copyIn(ENTRY, code, 0, code.length);
        final KvmVcpu vcpu = vm.kvmVcpu(0);
        vcpu.enterRealMode(dataBase);
        vcpu.start(ENTRY, new KvmRegs());
        return vcpu;
    }

    @Test
    void shouldAnswerApiVersion12AndIoeventfdCapabilitiesWhenDevKvmOpens()
    {
        try (Kvm kvm = Kvm.open())
        {
            assertTrue(kvm.checkExtension(KvmApi.KVM_CAP_IOEVENTFD) > 0);
            assertTrue(kvm.checkExtension(KvmApi.KVM_CAP_IRQFD) > 0);
            assertTrue(kvm.checkExtension(KvmApi.KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0);
            assertTrue(kvm.vcpuMmapSize() >= 4096, "mmap size=" + kvm.vcpuMmapSize());
        }
    }

    @Test
    void shouldDispatchEveryOutToThePortDeviceWhenGuestLoopsOverOut()
    {
        final byte[] guest = new RealModeAssembler()
            .movDx(PORT)     // the port
            .movAx(0)        // the first value
            .movCx(100)      // 100 iterations
            .label()
            .outDx(1)        // out dx, al: a KVM_EXIT_IO each time
            .incAx()         // next value
            .loopToLabel()
            .hlt()
            .bytes();
        final RecordingPortDevice device = new RecordingPortDevice(0);
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(KvmVmConfig.defaults()))
        {
            vm.registerPio(PORT, 1, device);
            final KvmVcpu vcpu = load(vm, guest, 0);
            assertEquals(KvmApi.KVM_EXIT_HLT, vcpu.run(MAX_EXITS));
            assertEquals(100, device.accesses().size());
            for (int i = 0; i < 100; i++)
            {
                assertEquals(new RecordingPortDevice.Access(true, 0, 1, i), device.accesses().get(i));
            }
            assertEquals(100, vcpu.exitCount(KvmApi.KVM_EXIT_IO));
            assertEquals(1, vcpu.exitCount(KvmApi.KVM_EXIT_HLT));
            assertEquals(100, vm.exitStats().count(ExitPath.PIO_USERSPACE));
            assertEquals(1, vm.exitStats().count(ExitReason.HLT));
        }
    }

    @Test
    void shouldCompleteInWithTheDeviceValueWhenGuestReadsAPort()
    {
        final byte[] guest = new RealModeAssembler()
            .movDx(PORT)
            .inDx(4)         // in eax, dx: the device answers
            .hlt()
            .bytes();
        final RecordingPortDevice device = new RecordingPortDevice(0x1234_5678L);
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(KvmVmConfig.defaults()))
        {
            vm.registerPio(PORT, 4, device);
            final KvmVcpu vcpu = load(vm, guest, 0);
            assertEquals(KvmApi.KVM_EXIT_HLT, vcpu.run(MAX_EXITS));
            assertEquals(0x1234_5678L, vcpu.getRegs(new KvmRegs()).get(KvmRegs.RAX) & 0xFFFF_FFFFL);
            assertEquals(new RecordingPortDevice.Access(false, 0, 4, 0x1234_5678L), device.accesses().getFirst());
        }
    }

    @Test
    void shouldDispatchMmioStoreAndCompleteLoadWhenGuestTouchesAnUnbackedAddress()
    {
        final byte[] guest = new RealModeAssembler()
            .movBx(0x8)      // offset 8 in the device
            .movAx(0xBEEF)
            .storeBx(2)      // mov [bx], ax: a KVM_EXIT_MMIO write of 2 bytes
            .loadBx(4)       // mov eax, [bx]: a KVM_EXIT_MMIO read of 4 bytes
            .hlt()
            .bytes();
        final RecordingPortDevice device = new RecordingPortDevice(0xCAFE_F00DL);
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(KvmVmConfig.defaults()))
        {
            vm.registerMmio(MMIO_BASE, 0x1000, device);
            final KvmVcpu vcpu = load(vm, guest, MMIO_BASE);
            assertEquals(KvmApi.KVM_EXIT_HLT, vcpu.run(MAX_EXITS));
            assertEquals(new RecordingPortDevice.Access(true, 8, 2, 0xBEEF), device.accesses().get(0));
            assertEquals(new RecordingPortDevice.Access(false, 8, 4, 0xCAFE_F00DL), device.accesses().get(1));
            assertEquals(0xCAFE_F00DL, vcpu.getRegs(new KvmRegs()).get(KvmRegs.RAX) & 0xFFFF_FFFFL);
            assertEquals(2, vcpu.exitCount(KvmApi.KVM_EXIT_MMIO));
        }
    }

    @Test
    void shouldSignalTheEventfdInTheKernelWhenAPortIoeventfdMatches() throws InterruptedException
    {
        final byte[] guest = new RealModeAssembler()
            .movDx(PORT)
            .movCx(50)
            .label()
            .outDx(1)        // handled by the ioeventfd: no exit
            .loopToLabel()
            .hlt()
            .bytes();
        final RecordingPortDevice device = new RecordingPortDevice(0);
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(KvmVmConfig.defaults()); EventFd kick = EventFds.linux())
        {
            vm.registerPio(PORT, 1, device);
            vm.ioeventfd(new KvmIoEventFd(0, PORT, 1, kick, KvmIoEventFd.KVM_IOEVENTFD_FLAG_PIO));
            final KvmVcpu vcpu = load(vm, guest, 0);
            assertEquals(KvmApi.KVM_EXIT_HLT, vcpu.run(MAX_EXITS));
            assertEquals(50, kick.tryRead());
            assertTrue(device.accesses().isEmpty());
            assertEquals(0, vcpu.exitCount(KvmApi.KVM_EXIT_IO));
        }
    }

    @Test
    void shouldRaiseKvmExceptionWithTheKernelErrnoWhenKvmRefusesAnIoeventfd()
    {
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(KvmVmConfig.defaults()); EventFd kick = EventFds.linux())
        {
            final KvmException bad = assertThrows(KvmException.class,
                () -> vm.ioeventfd(new KvmIoEventFd(0, 0xD000_0000L, 3, kick, 0)));
            assertTrue(bad.is(Errno.EINVAL), bad.getMessage());
            assertTrue(bad.getMessage().contains("errno=EINVAL"), bad.getMessage());
            final KvmException missing = assertThrows(KvmException.class,
                () -> vm.ioeventfd(new KvmIoEventFd(0, 0xD000_0000L, 4, kick, 0).deassigning()));
            assertTrue(missing.is(Errno.ENOENT), missing.getMessage());
            assertThrows(IllegalArgumentException.class,
                () -> vm.ioeventfd(new KvmIoEventFd(0, 0xD000_0000L, 4, EventFds.jvm(), 0)));
        }
    }

    @Test
    void shouldBindIrqfdToAnMsiRouteWhenTheIrqchipIsInTheKernel()
    {
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(KvmVmConfig.defaults().withIrqchip());
            EventFd irq = EventFds.linux())
        {
            final int gsi = vm.allocateMsiGsi();
            assertEquals(KvmApi.KVM_IOAPIC_NUM_PINS, gsi);
            vm.setMsiRoute(gsi, MsiMessage.of(0, 0x41));
            vm.irqfd(KvmIrqFd.edge(irq, gsi));
            final KvmException busy = assertThrows(KvmException.class, () -> vm.irqfd(KvmIrqFd.edge(irq, gsi + 1)));
            assertTrue(busy.is(Errno.EBUSY), busy.getMessage());
            vm.irqfd(KvmIrqFd.edge(irq, gsi).deassigning());
            final KvmException pin = assertThrows(KvmException.class, () -> vm.setMsiRoute(3, MsiMessage.of(0, 1)));
            assertTrue(pin.is(Errno.EINVAL), pin.getMessage());
        }
    }

    /**
     * A documented difference: without the in-kernel irqchip this host's 6.x kernel refuses an irqfd with EINVAL
     * ({@code kvm_arch_irqfd_allowed}), while the simulated VM always has its interrupt controller.
     */
    @Test
    void shouldRefuseIrqfdWhenTheVmHasNoIrqchip()
    {
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(KvmVmConfig.defaults()); EventFd irq = EventFds.linux())
        {
            final KvmException e = assertThrows(KvmException.class, () -> vm.irqfd(KvmIrqFd.edge(irq, 5)));
            assertTrue(e.is(Errno.EINVAL), e.getMessage());
        }
    }

    @Test
    void shouldReturnExitLimitWhenGuestNeverHalts()
    {
        final byte[] guest = new RealModeAssembler()
            .movDx(PORT)
            .label()
            .outDx(1)        // an exit per iteration, so the budget is reached
            .jmpToLabel()
            .bytes();
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(KvmVmConfig.defaults()))
        {
            final KvmVcpu vcpu = load(vm, guest, 0);
            assertEquals(KvmVcpu.EXIT_LIMIT, vcpu.run(25));
            assertEquals(25, vcpu.exitCount(KvmApi.KVM_EXIT_IO));
            assertEquals(25, vm.userspacePio().unassignedWrites());
        }
    }

    @Test
    void shouldRefuseUserspaceRangesThatOverlapRamOrLeaveThePortSpace()
    {
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(KvmVmConfig.defaults()))
        {
            final RecordingPortDevice device = new RecordingPortDevice(0);
            assertThrows(IllegalArgumentException.class, () -> vm.registerMmio(0x1000, 0x10, device));
            assertThrows(IllegalArgumentException.class,
                () -> vm.registerMmio(KvmVmConfig.DEFAULT_MEMORY_BYTES - 8, 0x10, device));
            assertThrows(IllegalArgumentException.class, () -> vm.registerPio(0xFFFF, 2, device));
            vm.registerMmio(KvmVmConfig.DEFAULT_MEMORY_BYTES, 0x10, device).close();
            assertEquals(0, vm.userspaceMmio().size());
        }
    }

    @Test
    void shouldReturnShutdownWhenTheGuestTripleFaults()
    {
        final byte[] guest = {0x0F, 0x0B};   // ud2: #UD with no IDT, then #DF, then a triple fault
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(KvmVmConfig.defaults()))
        {
            final KvmVcpu vcpu = vm.kvmVcpu(0);
            vcpu.enterLongMode(IdentityPageTables.build(vm.memory(), 0x10000));
            vm.memory().copyIn(ENTRY, guest, 0, guest.length);
            vcpu.start(ENTRY, new KvmRegs());
            assertEquals(KvmApi.KVM_EXIT_SHUTDOWN, vcpu.run(MAX_EXITS));
            assertEquals(1, vcpu.exitCount(KvmApi.KVM_EXIT_SHUTDOWN));
        }
    }

    @Test
    void shouldRefuseVcpuBecauseARealVcpuRunsGuestCode()
    {
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(KvmVmConfig.defaults()))
        {
            assertThrows(UnsupportedOperationException.class, () -> vm.vcpu(0));
            assertEquals(1, vm.vcpuCount());
        }
    }
}
