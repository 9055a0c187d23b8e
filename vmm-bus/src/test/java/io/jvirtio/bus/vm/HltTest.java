package io.jvirtio.bus.vm;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.irq.MsiMessage;
import io.jvirtio.bus.kvm.KvmIrqFd;
import io.jvirtio.bus.stats.ExitPath;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** HLT: the vCPU sleeps until an interrupt is pending for it, delivered through an irqfd, then takes it. */
class HltTest
{
    @Test
    void shouldWakeHaltedVcpuWhenIrqFdIsSignalled() throws Exception
    {
        try (SimulatedVm vm = SimulatedVm.create(VmConfig.defaults().withMemoryBytes(8L << 20));
            EventFd irq = EventFds.jvm())
        {
            final int gsi = vm.allocateMsiGsi();
            vm.setMsiRoute(gsi, MsiMessage.of(0, 0x41));
            vm.irqfd(KvmIrqFd.edge(irq, gsi));
            final SimulatedVcpu vcpu = vm.vcpu(0);
            final Thread device = Thread.ofPlatform().start(() ->
            {
                // The signal may land before or during the halt: either way the vCPU must wake.
                irq.signal();
            });
            final int vector = vcpu.hlt(30, TimeUnit.SECONDS);
            device.join();
            assertEquals(0x41, vector);
            vcpu.eoi();
            assertEquals(1, vm.exitStats().count(ExitPath.HLT));
            assertEquals(-1, vcpu.takeInterrupt(), "nothing else pending");
        }
    }

    @Test
    void shouldReturnFromHaltOnTimeoutWithNoInterrupt() throws Exception
    {
        try (SimulatedVm vm = SimulatedVm.create(VmConfig.defaults().withMemoryBytes(8L << 20)))
        {
            final SimulatedVcpu vcpu = vm.vcpu(0);
            final long rip = vcpu.registers().rip();
            assertEquals(-1, vcpu.hlt(1, TimeUnit.MILLISECONDS));
            assertEquals(rip + 1, vcpu.registers().rip(), "f4 is one byte and RIP moves past it");
        }
    }
}
