package io.jvirtio.virtio.testkit;

import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.virtio.machine.AttachedDevice;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.machine.VirtioMachine;
import io.jvirtio.virtio.transport.LoopbackDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The health kit passes a healthy machine and catches each kind of damage it promises to catch.
 */
class HostHealthTest
{
    private static AttachedDevice started(final VirtioMachine machine, final TransportKind kind)
    {
        final AttachedDevice dut = machine.attach(new LoopbackDevice(), kind);
        dut.driver().initialize(0);
        dut.driver().setupQueue(0, 16).disableInterrupts();
        dut.driver().setupQueue(1, 16).disableInterrupts();
        dut.driver().driverOk();
        return dut;
    }

    @ParameterizedTest
    @EnumSource(TransportKind.class)
    void shouldPassWhenTheDeviceServedOnlyGoodTraffic(final TransportKind kind)
    {
        try (VirtioMachine machine = VirtioMachine.create(VmConfig.defaults()))
        {
            final AttachedDevice dut = started(machine, kind);
            try (HostHealth health = HostHealth.watch(machine))
            {
                health.loopbackRoundTrip(dut, 0);
                health.loopbackRoundTrip(dut, 1);
                health.checkHealthy();
            }
        }
    }

    @Test
    void shouldFailWhenRamOutsideTheAreasSetUpWasWritten()
    {
        try (VirtioMachine machine = VirtioMachine.create(VmConfig.defaults()))
        {
            started(machine, TransportKind.PCI);
            try (HostHealth health = HostHealth.watch(machine))
            {
                final long stray = machine.vm().memory().regions().getFirst().size() / 2;
                machine.vm().memory().putByte(stray, (byte)0);
                final AssertionError error = assertThrows(AssertionError.class, health::checkHealthy);
                assertTrue(error.getMessage().contains(Long.toHexString(stray)), error.getMessage());
            }
        }
    }

    @Test
    void shouldPassWhenTheWriteIsInADeclaredRange()
    {
        try (VirtioMachine machine = VirtioMachine.create(VmConfig.defaults()))
        {
            started(machine, TransportKind.MMIO_WILDCARD);
            try (HostHealth health = HostHealth.watch(machine))
            {
                final long stray = machine.vm().memory().regions().getFirst().size() / 2;
                health.deviceMayWrite(stray, 1);
                machine.vm().memory().putByte(stray, (byte)0);
                health.checkHealthy();
            }
        }
    }

    @Test
    void shouldFailWhenAThreadDiedOfAnUncaughtException() throws InterruptedException
    {
        try (VirtioMachine machine = VirtioMachine.create(VmConfig.defaults()))
        {
            started(machine, TransportKind.PCI);
            try (HostHealth health = HostHealth.watch(machine))
            {
                final Thread t = Thread.ofPlatform().name("dying").start(() ->
                {
                    throw new IllegalStateException("device thread died: test=1");
                });
                t.join();
                final AssertionError error = assertThrows(AssertionError.class, health::checkHealthy);
                assertTrue(error.getMessage().contains("dying"), error.getMessage());
            }
        }
    }

    @Test
    void shouldFailWhenAGuestActionThrowsSomethingOtherThanAVcpuFault()
    {
        try (VirtioMachine machine = VirtioMachine.create(VmConfig.defaults()))
        {
            started(machine, TransportKind.PCI);
            try (HostHealth health = HostHealth.watch(machine))
            {
                assertNull(health.guest(() ->
                {
                    throw new IllegalArgumentException("a register threw: offset=0");
                }));
                assertThrows(AssertionError.class, health::checkHealthy);
            }
        }
    }
}
