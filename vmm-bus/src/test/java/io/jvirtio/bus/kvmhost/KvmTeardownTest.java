package io.jvirtio.bus.kvmhost;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.irq.MsiMessage;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.kvm.KvmIrqFd;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Closing a KVM VM releases every fd and mapping it made: the VM fd, the vCPU fds, kvm_run and the RAM memfd. */
class KvmTeardownTest
{
    private static final int CYCLES = 1000;

    @BeforeEach
    void requireKvm()
    {
        KvmAssumptions.assumeKvm();
    }

    private static long openFds() throws IOException
    {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd")))
        {
            return fds.count();
        }
    }

    private static long mappings() throws IOException
    {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps")))
        {
            return lines.filter(line -> line.contains("kvm-vcpu") || line.contains("guest-ram")).count();
        }
    }

    @Test
    void shouldLeakNoFdWhenThousandVmsAreCreatedAndClosed() throws IOException
    {
        try (Kvm kvm = Kvm.open())
        {
            // one cycle first, so that lazily created JDK and library fds exist before the count
            kvm.createVm(KvmVmConfig.defaults().withIrqchip()).close();
            final long fdsBefore = openFds();
            final long mapsBefore = mappings();
            for (int i = 0; i < CYCLES; i++)
            {
                try (KvmVm vm = kvm.createVm(KvmVmConfig.defaults().withIrqchip());
                    EventFd kick = EventFds.linux(); EventFd irq = EventFds.linux())
                {
                    vm.ioeventfd(new KvmIoEventFd(0, 0xD000_0000L, 0, kick, 0));
                    final int gsi = vm.allocateMsiGsi();
                    vm.setMsiRoute(gsi, MsiMessage.of(0, 0x40));
                    vm.irqfd(KvmIrqFd.edge(irq, gsi));
                }
            }
            assertEquals(fdsBefore, openFds(), "open fds after " + CYCLES + " vms");
            assertEquals(mapsBefore, mappings(), "kvm_run and guest ram mappings after " + CYCLES + " vms");
        }
    }

    @Test
    void shouldRefuseRamVcpuAndIoctlsAfterClose()
    {
        final KvmVm vm;
        try (Kvm kvm = Kvm.open())
        {
            vm = kvm.createVm(KvmVmConfig.defaults());
        }
        vm.memory().putByte(0x1000, (byte)1);
        vm.close();
        vm.close();
        assertThrows(IllegalStateException.class, () -> vm.memory().getByte(0x1000));
        assertThrows(IllegalStateException.class, () -> vm.kvmVcpu(0).run(1));
        assertThrows(IllegalStateException.class,
            () -> vm.ioeventfd(new KvmIoEventFd(0, 0xD000_0000L, 0, null, 0)));
        final Kvm closed = Kvm.open();
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.createVm(KvmVmConfig.defaults()));
        assertThrows(IllegalStateException.class, () -> closed.checkExtension(KvmApi.KVM_CAP_IOEVENTFD));
    }
}
