package io.jvirtio.bus.vm;

import io.jvirtio.bus.testing.AllocationProbe;
import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.stats.ExitPath;
import org.junit.jupiter.api.Test;


import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_DATAMATCH;
import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_PIO;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Every exit path a kick or a register access takes allocates nothing on the vCPU thread. */
class ExitPathAllocationTest
{
    private static final long NOTIFY = 0xD000_0000L;
    private static final long DEVICE = 0xD000_1000L;
    private static final int PORT = 0xC000;
    private static final int ROUNDS = 100_000;

    private static void round(final SimulatedVcpu vcpu)
    {
        vcpu.mmioWrite(NOTIFY, 2, 0);          // fast path
        vcpu.mmioWrite(DEVICE + 0x50, 4, 1);   // emulated, datamatch ioeventfd on the MMIO bus
        vcpu.mmioWrite(DEVICE + 0x70, 4, 7);   // emulated, userspace device
        vcpu.mmioRead(DEVICE + 0x60, 4);       // emulated load, userspace device
        vcpu.out(PORT, 2, 0);                  // PIO bus, ioeventfd
        vcpu.in(PORT + 4, 1);                  // userspace port
    }

    @Test
    void shouldAllocateNothingOnAnyExitPath()
    {
        try (SimulatedVm vm = SimulatedVm.create(VmConfig.defaults().withMemoryBytes(8L << 20));
            EventFd fast = EventFds.jvm();
            EventFd match = EventFds.jvm();
            EventFd pio = EventFds.jvm())
        {
            vm.ioeventfd(new KvmIoEventFd(0, NOTIFY, 0, fast, 0));
            vm.ioeventfd(new KvmIoEventFd(1, DEVICE + 0x50, 4, match, KVM_IOEVENTFD_FLAG_DATAMATCH));
            vm.ioeventfd(new KvmIoEventFd(0, PORT, 2, pio, KVM_IOEVENTFD_FLAG_PIO));
            final UserspaceDevice registers = new UserspaceDevice()
            {
                private long last;

                @Override
                public long read(final long offset, final int size)
                {
                    return last;
                }

                @Override
                public void write(final long offset, final int size, final long value)
                {
                    last = value;
                }
            };
            vm.registerMmio(DEVICE, 0x1000, registers);
            vm.registerPio(PORT + 4, 4, registers);
            final SimulatedVcpu vcpu = vm.vcpu(0);
            for (int i = 0; i < ROUNDS; i++)
            {
                round(vcpu);
            }
            final long allocated = AllocationProbe.leastAllocated(3, () ->
            {
                for (int i = 0; i < ROUNDS; i++)
                {
                    round(vcpu);
                }
            });
            assertEquals(0, allocated, "bytes allocated over " + ROUNDS + " rounds of six exits");
            assertEquals(fast.tryRead(), match.tryRead(), "every round signalled both ioeventfds");
            assertEquals(0, vm.exitStats().count(ExitPath.DECODE_FAILURE));
        }
    }
}
