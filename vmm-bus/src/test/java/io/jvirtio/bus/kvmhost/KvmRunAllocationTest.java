package io.jvirtio.bus.kvmhost;

import io.jvirtio.bus.vm.UserspaceDevice;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import com.sun.management.ThreadMXBean;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The KVM_RUN loop allocates nothing per exit: port and MMIO exits, loads and stores, dispatched to userspace. */
class KvmRunAllocationTest
{
    private static final long ENTRY = 0x1000;
    private static final long MMIO_BASE = 0xD000_0000L;
    private static final int PORT = 0x10;
    private static final int ITERATIONS = 1000;
    private static final int EXITS_PER_ITERATION = 4;
    private static final int WARM_UP_RUNS = 8;

    @BeforeEach
    void requireKvm()
    {
        KvmAssumptions.assumeKvm();
    }

    /** A register file that keeps the last value written. */
    private static final class Register implements UserspaceDevice
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
    }

    @Test
    void shouldAllocateNothingWhileDispatchingExits()
    {
        final byte[] guest = new RealModeAssembler()
            .movDx(PORT)
            .movBx(0x10)
            .movCx(ITERATIONS)
            .label()
            .outDx(2)        // KVM_EXIT_IO out
            .inDx(4)         // KVM_EXIT_IO in, completed through kvm_run
            .storeBx(4)      // KVM_EXIT_MMIO write
            .loadBx(2)       // KVM_EXIT_MMIO read, completed through kvm_run
            .loopToLabel()
            .hlt()
            .bytes();
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(KvmVmConfig.defaults()))
        {
            final Register register = new Register();
            vm.registerPio(PORT, 4, register);
            vm.registerMmio(MMIO_BASE, 0x1000, register);
            vm.memory().copyIn(ENTRY, guest, 0, guest.length);
            final KvmVcpu vcpu = vm.kvmVcpu(0);
            vcpu.enterRealMode(MMIO_BASE);
            final KvmRegs regs = new KvmRegs();
            final int budget = ITERATIONS * EXITS_PER_ITERATION + 1;
            for (int i = 0; i < WARM_UP_RUNS; i++)
            {
                vcpu.start(ENTRY, regs);
                assertEquals(KvmApi.KVM_EXIT_HLT, vcpu.run(budget));
            }
            final ThreadMXBean threads = (ThreadMXBean)ManagementFactory.getThreadMXBean();
            final long tid = Thread.currentThread().threadId();
            long allocated = Long.MAX_VALUE;
            // A few measured runs: the JIT may still allocate once while it settles; a path that really allocates
            // does so on every exit and fails every run.
            for (int run = 0; run < 3 && allocated != 0; run++)
            {
                vcpu.start(ENTRY, regs);
                final long before = threads.getThreadAllocatedBytes(tid);
                final int stop = vcpu.run(budget);
                allocated = threads.getThreadAllocatedBytes(tid) - before;
                assertEquals(KvmApi.KVM_EXIT_HLT, stop);
            }
            assertEquals(0, allocated, "bytes allocated by " + ITERATIONS * EXITS_PER_ITERATION + " exits");
            // every exit reached the register file: two port and two MMIO exits per iteration, none unassigned
            assertEquals(vcpu.exitCount(KvmApi.KVM_EXIT_IO), vcpu.exitCount(KvmApi.KVM_EXIT_MMIO));
            assertEquals(0, vcpu.exitCount(KvmApi.KVM_EXIT_IO) % (2 * ITERATIONS));
            assertEquals(0, vm.userspacePio().unassignedWrites() + vm.userspaceMmio().unassignedReads());
            assertEquals(0, vcpu.malformedExits());
        }
    }
}
