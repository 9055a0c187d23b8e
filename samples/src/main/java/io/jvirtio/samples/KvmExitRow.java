package io.jvirtio.samples;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.kvmhost.Kvm;
import io.jvirtio.bus.kvmhost.KvmApi;
import io.jvirtio.bus.kvmhost.KvmRegs;
import io.jvirtio.bus.kvmhost.KvmVcpu;
import io.jvirtio.bus.kvmhost.KvmVm;
import io.jvirtio.bus.kvmhost.KvmVmConfig;
import io.jvirtio.bus.kvmhost.RealModeAssembler;
import io.jvirtio.bus.vm.UserspaceDevice;
import io.jvirtio.samples.bench.Sample;

import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_DATAMATCH;
import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_PIO;

/**
 * One row of the vmexit matrix on the host's real KVM: a VM whose real-mode guest makes byte stores to pci-testdev's
 * test address, {@code mov [bx], al} to unbacked guest-physical memory (MMIO) or {@code out dx, al} (PIO), then halts.
 * With no eventfd each store is a {@code KVM_EXIT_MMIO} or {@code KVM_EXIT_IO} return of {@code KVM_RUN} dispatched
 * to a counting userspace device; with an ioeventfd ({@code KVM_IOEVENTFD}, virt/kvm/eventfd.c) the kernel signals a
 * Linux eventfd and the guest runs on.
 * <p>
 * The guest's {@code loop} counts in CX, so a measurement of more than 65535 stores runs the guest in passes, each
 * started with {@code KVM_SET_REGS}; the passes are inside the timed span, as in the C harness of
 * {@link KvmRunRoundTrip}, which runs the same bytes.
 * <p>
 * Thread safety: one thread builds, measures and closes a row.
 */
final class KvmExitRow implements AutoCloseable
{
    /** Where the guest's code is loaded: above the real-mode IVT and BDA, inside the 4 MiB of RAM. */
    static final long ENTRY = 0x1000;
    /** The most stores one pass makes: {@code loop} decrements the 16-bit CX. */
    static final int MAX_PASS = 0xFFFF;

    final String access;
    final String eventfd;
    final Sample nanos;
    private final KvmVm vm;
    private final KvmVcpu vcpu;
    private final EventFd fd;
    private final long[] userspaceAccesses = new long[1];
    private final KvmRegs regs = new KvmRegs();
    private final int port;
    private final long value;
    private long signals;
    private long measured;
    private long failedRuns;

    KvmExitRow(final Kvm kvm, final String access, final String eventfd)
    {
        this.access = access;
        this.eventfd = eventfd;
        this.nanos = new Sample("kvm " + access + "-" + eventfd, "ns/access");
        final boolean mmio = "mmio".equals(access);
        this.port = VmExitMatrix.PIO_BASE + VmExitMatrix.PIO_OFFSET;
        this.value = "datamatch".equals(eventfd) ? VmExitMatrix.DATAMATCH : VmExitMatrix.DATA;
        final long address = mmio ? VmExitMatrix.MMIO_BASE + VmExitMatrix.MMIO_OFFSET : port;
        this.vm = kvm.createVm(KvmVmConfig.defaults());
        EventFd made = null;
        try
        {
            made = EventFds.linux();
            final UserspaceDevice testdev = new UserspaceDevice()
            {
                @Override
                public long read(final long offset, final int size)
                {
                    return 0;
                }

                @Override
                public void write(final long offset, final int size, final long v)
                {
                    userspaceAccesses[0]++;
                }
            };
            if (mmio)
            {
                vm.registerMmio(VmExitMatrix.MMIO_BASE, 4096, testdev);
            }
            else
            {
                vm.registerPio(VmExitMatrix.PIO_BASE, 256, testdev);
            }
            final int pioFlag = mmio ? 0 : KVM_IOEVENTFD_FLAG_PIO;
            switch (eventfd)
            {
                case "wildcard" -> vm.ioeventfd(new KvmIoEventFd(0, address, mmio ? 0 : 1, made, pioFlag));
                case "datamatch" -> vm.ioeventfd(new KvmIoEventFd(VmExitMatrix.DATAMATCH, address, 1, made,
                    pioFlag | KVM_IOEVENTFD_FLAG_DATAMATCH));
                default ->
                {
                }
            }
            final byte[] guest = guest(mmio);
            vm.memory().copyIn(ENTRY, guest, 0, guest.length);
            this.vcpu = vm.kvmVcpu(0);
            vcpu.enterRealMode(mmio ? address : 0);
            this.fd = made;
        }
        catch (final RuntimeException e)
        {
            if (made != null)
            {
                made.close();
            }
            vm.close();
            throw e;
        }
    }

    /**
     * The guest: CX stores of AL, to DS:BX (DS base at the test address, BX 0) or to port DX, then {@code hlt}.
     * Registers come from {@link KvmRegs} at the start of each pass.
     *
     * @param mmio true for {@code mov [bx], al}, false for {@code out dx, al}.
     * @return the code, loaded at {@link #ENTRY}.
     */
    static byte[] guest(final boolean mmio)
    {
        final RealModeAssembler code = new RealModeAssembler().label();
        if (mmio)
        {
            code.storeBx(1);
        }
        else
        {
            code.outDx(1);
        }
        return code.loopToLabel().hlt().bytes();
    }

    String name()
    {
        return "kvm " + access + "-" + eventfd;
    }

    /**
     * Runs {@code n} stores.
     *
     * @return nanoseconds per store, or NaN if the guest did not halt (counted in {@link #failedRuns()}).
     */
    double measure(final int n)
    {
        final long start = System.nanoTime();
        int left = n;
        // bound: n / 65535 + 1 passes, each at most 65535 stores and one halt
        while (left > 0)
        {
            final int pass = Math.min(left, MAX_PASS);
            regs.set(KvmRegs.RAX, value).set(KvmRegs.RBX, 0).set(KvmRegs.RCX, pass).set(KvmRegs.RDX, port);
            vcpu.start(ENTRY, regs);
            // bound: one exit per store plus the halt; a few spare for signal interruptions
            final int reason = vcpu.run(pass + 16);
            if (reason != KvmApi.KVM_EXIT_HLT)
            {
                failedRuns++;
                signals += fd.tryRead();
                return Double.NaN;
            }
            left -= pass;
        }
        final long elapsed = System.nanoTime() - start;
        signals += fd.tryRead();
        measured += n;
        return (double)elapsed / n;
    }

    /** @return true if every store went where pci-testdev says: the eventfd once per store, or userspace. */
    boolean verified()
    {
        return failedRuns == 0 && ("none".equals(eventfd)
            ? signals == 0 && userspaceAccesses[0] == measured
            : signals == measured && userspaceAccesses[0] == 0);
    }

    long measured()
    {
        return measured;
    }

    long signals()
    {
        return signals;
    }

    long userspaceAccesses()
    {
        return userspaceAccesses[0];
    }

    /** @return measurements whose guest ended in something other than {@code hlt}. */
    long failedRuns()
    {
        return failedRuns;
    }

    @Override
    public void close()
    {
        fd.close();
        vm.close();
    }
}
