package io.jvirtio.bus.vm;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.stats.ExitPath;
import io.jvirtio.bus.stats.ExitReason;
import io.jvirtio.bus.stats.ExitTraceReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_PIO;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A VM built with an exit trace writes every exit to it, and reading the trace back gives the live counts. */
class ExitTraceVmTest
{
    @Test
    void shouldTraceEveryExitOfTheVm(@TempDir final Path dir)
    {
        final Path trace = dir.resolve("exits");
        final long fastBefore;
        try (SimulatedVm vm = SimulatedVm.create(VmConfig.defaults().withMemoryBytes(8L << 20).withExitTrace(trace));
            EventFd kick = EventFds.jvm())
        {
            vm.ioeventfd(new KvmIoEventFd(0, 0xD000_0000L, 0, kick, 0));
            vm.ioeventfd(new KvmIoEventFd(0, 0xC000, 2, kick, KVM_IOEVENTFD_FLAG_PIO));
            final SimulatedVcpu vcpu = vm.vcpu(0);
            for (int i = 0; i < 100; i++)
            {
                vcpu.mmioWrite(0xD000_0000L, 2, i);
                vcpu.out(0xC000, 2, i);
                vcpu.mmioRead(0xD000_2000L, 4);
            }
            fastBefore = vm.exitStats().count(ExitPath.FAST_MMIO);
            assertEquals(100, fastBefore);
        }
        final ExitTraceReader.Replay replay = ExitTraceReader.replay(trace);
        assertEquals(300, replay.counts().exits());
        assertEquals(fastBefore, replay.snapshot().path(ExitPath.FAST_MMIO).count());
        assertEquals(100, replay.snapshot().path(ExitPath.PIO_KERNEL).count());
        assertEquals(100, replay.snapshot().path(ExitPath.UNHANDLED).count());
        assertEquals(200, replay.snapshot().reason(ExitReason.EPT_MISCONFIG).count());
    }
}
