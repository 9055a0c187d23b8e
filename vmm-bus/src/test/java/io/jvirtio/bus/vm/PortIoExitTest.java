package io.jvirtio.bus.vm;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.stats.ExitPath;
import io.jvirtio.bus.stats.ExitReason;
import io.jvirtio.bus.x86.X86Registers;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_DATAMATCH;
import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_PIO;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Port I/O exits: the PIO bus first (ioeventfds), then the userspace device; IN completes into AL/AX/EAX. */
class PortIoExitTest
{
    private static SimulatedVm vm()
    {
        return SimulatedVm.create(VmConfig.defaults().withMemoryBytes(8L << 20));
    }

    @Test
    void shouldSignalPortIoEventFdsInKernel()
    {
        try (SimulatedVm vm = vm();
            EventFd wildcard = EventFds.jvm();
            EventFd match = EventFds.jvm())
        {
            vm.ioeventfd(new KvmIoEventFd(0, 0xC080, 1, wildcard, KVM_IOEVENTFD_FLAG_PIO));
            vm.ioeventfd(new KvmIoEventFd(0xFA, 0xC081, 1, match,
                KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH));
            final SimulatedVcpu vcpu = vm.vcpu(0);
            final long rip = vcpu.registers().rip();
            vcpu.out(0xC080, 1, 0xCE);
            assertEquals(rip + 1, vcpu.registers().rip(), "ee is one byte");
            vcpu.out(0xC081, 1, 0xFA);
            vcpu.out(0xC081, 1, 0xFB);
            assertEquals(1, wildcard.tryRead());
            assertEquals(1, match.tryRead());
            assertEquals(2, vm.exitStats().count(ExitPath.PIO_KERNEL));
            assertEquals(1, vm.exitStats().count(ExitPath.UNHANDLED), "0xfb matches nothing and no device is there");
            assertEquals(3, vm.exitStats().count(ExitReason.IO_INSTRUCTION));
        }
    }

    @Test
    void shouldDispatchPortAccessToUserspaceDeviceAndCompleteIn()
    {
        try (SimulatedVm vm = vm())
        {
            final ExitPathTest.RecordingDevice device = new ExitPathTest.RecordingDevice();
            device.readValue = 0xA1B2_C3D4L;
            vm.registerPio(0xCF8, 8, device);
            final SimulatedVcpu vcpu = vm.vcpu(0);
            final X86Registers regs = vcpu.registers();
            vcpu.out(0xCF8, 4, 0x8000_0000L);
            regs.gpr(X86Registers.RAX, -1L);
            assertEquals(0xD4, vcpu.in(0xCFC, 1));
            assertEquals(0xFFFF_FFFF_FFFF_FFD4L, regs.gpr(X86Registers.RAX), "in %dx,%al keeps bits 8-63");
            assertEquals(0xA1B2_C3D4L, vcpu.in(0xCFC, 4));
            assertEquals(0xA1B2_C3D4L, regs.gpr(X86Registers.RAX), "in %dx,%eax zero-extends");
            assertEquals(List.of("w4@0=80000000", "r1@4", "r4@4"), device.accesses);
            assertEquals(3, vm.exitStats().count(ExitPath.PIO_USERSPACE));
        }
    }

    @Test
    void shouldReadAllOnesFromUnassignedPort()
    {
        try (SimulatedVm vm = vm())
        {
            assertEquals(0xFFFF, vm.vcpu(0).in(0x80, 2));
            assertEquals(1, vm.userspacePio().unassignedReads());
        }
    }
}
