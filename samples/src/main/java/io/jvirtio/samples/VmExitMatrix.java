package io.jvirtio.samples;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.kvmhost.Kvm;
import io.jvirtio.bus.vm.ExitStyle;
import io.jvirtio.bus.vm.SimulatedVcpu;
import io.jvirtio.bus.vm.SimulatedVm;
import io.jvirtio.bus.vm.UserspaceDevice;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.samples.bench.Ratio;
import io.jvirtio.samples.bench.Sample;
import io.jvirtio.samples.cli.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_DATAMATCH;
import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_PIO;

/**
 * The kvm-unit-tests vmexit matrix ({@code x86/vmexit.c} with QEMU's pci-testdev) on the simulated exit path:
 * {MMIO, PIO} x {no eventfd, wildcard eventfd, datamatch eventfd}, the MMIO rows with the FAST_MMIO bus on and off,
 * in VMX and SVM style. Registrations are pci-testdev's: wildcard MMIO with length 0 (the fast path), wildcard PIO with
 * length 1, datamatch with length 1 and 0xFA; byte stores of 0xFA (datamatch rows) or 0xCE.
 * <p>
 * Rows are measured interleaved, run after run, so machine noise hits every row alike; each figure is the median of
 * the runs. Exit timing is off while measuring (no clock reads inside the handler), as KVM's tracepoints are off.
 * <p>
 * With {@code --host kvm} (or {@code both}) the same six rows also run on the host's /dev/kvm ({@link KvmExitMatrix}),
 * with the {@code KVM_RUN} round trip from Java beside a C loop of plain ioctls; if /dev/kvm is unusable one line
 * says why and only the simulated matrix runs.
 * <p>
 * Thread safety: a command object; run once on the main thread.
 */
@Command(name = "vmexit", mixinStandardHelpOptions = true,
    description = {"The kvm-unit-tests vmexit matrix on the simulated exit path: cost per access for MMIO and PIO",
        "with no eventfd, a wildcard eventfd and a datamatch eventfd; MMIO with the fast bus on and off; VMX and SVM.",
        "Prints the ratios the fast-MMIO patch claims, measured side by side in one run.",
        "With --host kvm the same rows also run on /dev/kvm, and KVM_RUN from Java is timed beside a C loop."})
public final class VmExitMatrix implements Callable<Integer>
{
    static final long MMIO_BASE = 0xC000_0000L;
    static final int PIO_BASE = 0xC000;
    /** pci-testdev's offsets: the test's byte sits past the header, at 2048 + i for MMIO and 128 + i for PIO. */
    static final long MMIO_OFFSET = 2048;
    static final int PIO_OFFSET = 128;
    static final int DATAMATCH = 0xFA;
    static final int DATA = 0xCE;

    /** The 2013 pci-testdev cycles per access (before fast MMIO), for the shape of the table. */
    private static final Map<String, Integer> KVM_2013_CYCLES = Map.of(
        "mmio-none", 8796, "mmio-wildcard", 3609, "mmio-datamatch", 3685,
        "pio-none", 5287, "pio-wildcard", 1762, "pio-datamatch", 1777);

    @Option(names = "--accesses", description = "accesses per measurement (default: ${DEFAULT-VALUE})")
    int accesses = 100_000;

    @Option(names = "--runs", description = "measurements per row; the median is reported (default: ${DEFAULT-VALUE})")
    int runs = 7;

    @Option(names = "--style", description = "vmx, svm or both (default: ${DEFAULT-VALUE})")
    String style = "both";

    @Option(names = "--host", description = "sim (the simulated exit path), kvm or both (the simulated matrix and"
        + " beside it the same matrix on /dev/kvm, with the KVM_RUN round trip against a C loop)"
        + " (default: ${DEFAULT-VALUE})")
    String host = "sim";

    @Option(names = "--kvm-accesses", description = "accesses per measurement on /dev/kvm, where each exit costs"
        + " microseconds (default: ${DEFAULT-VALUE})")
    int kvmAccesses = 20_000;

    @Option(names = "--json", description = "print one JSON object as the last line")
    boolean json;

    @Spec
    CommandSpec spec;

    private PrintWriter out;

    /** One line of the matrix. */
    static final class Row implements AutoCloseable
    {
        final String access;
        final String eventfd;
        final boolean fastBus;
        final ExitStyle exitStyle;
        final Sample nanos;
        final SimulatedVm vm;
        final SimulatedVcpu vcpu;
        final EventFd fd;
        final long[] userspaceAccesses = new long[1];
        final long address;
        final long value;
        long signals;
        long measured;

        Row(final String access, final String eventfd, final boolean fastBus, final ExitStyle exitStyle)
        {
            this.access = access;
            this.eventfd = eventfd;
            this.fastBus = fastBus;
            this.exitStyle = exitStyle;
            this.nanos = new Sample(name(), "ns/access");
            this.vm = SimulatedVm.create(VmConfig.defaults().withMemoryBytes(8L << 20).withExitStyle(exitStyle)
                .withFastMmioBus(fastBus).withExitTiming(false));
            this.vcpu = vm.vcpu(0);
            this.fd = EventFds.jvm();
            final boolean mmio = "mmio".equals(access);
            this.address = mmio ? MMIO_BASE + MMIO_OFFSET : PIO_BASE + PIO_OFFSET;
            this.value = "datamatch".equals(eventfd) ? DATAMATCH : DATA;
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
                vm.registerMmio(MMIO_BASE, 4096, testdev);
            }
            else
            {
                vm.registerPio(PIO_BASE, 256, testdev);
            }
            final int pioFlag = mmio ? 0 : KVM_IOEVENTFD_FLAG_PIO;
            switch (eventfd)
            {
                case "wildcard" -> vm.ioeventfd(new KvmIoEventFd(0, address, mmio ? 0 : 1, fd, pioFlag));
                case "datamatch" -> vm.ioeventfd(
                    new KvmIoEventFd(DATAMATCH, address, 1, fd, pioFlag | KVM_IOEVENTFD_FLAG_DATAMATCH));
                default ->
                {
                }
            }
        }

        String name()
        {
            return access + "-" + eventfd + ("mmio".equals(access) ? (fastBus ? "" : " (no fast bus)") : "")
                + " " + exitStyle.name().toLowerCase(Locale.ROOT);
        }

        /** @return nanoseconds per access for {@code n} accesses. */
        double measure(final int n)
        {
            final SimulatedVcpu cpu = vcpu;
            final long addr = address;
            final long v = value;
            final long start = System.nanoTime();
            if ("mmio".equals(access))
            {
                for (int i = 0; i < n; i++)
                {
                    cpu.mmioWrite(addr, 1, v);
                }
            }
            else
            {
                final int port = (int)addr;
                for (int i = 0; i < n; i++)
                {
                    cpu.out(port, 1, v);
                }
            }
            final long elapsed = System.nanoTime() - start;
            signals += fd.tryRead();
            measured += n;
            return (double)elapsed / n;
        }

        /** @return true if the access went where pci-testdev says: the eventfd once per access, or userspace. */
        boolean verified()
        {
            return "none".equals(eventfd)
                ? signals == 0 && userspaceAccesses[0] == measured
                : signals == measured && userspaceAccesses[0] == 0;
        }

        @Override
        public void close()
        {
            fd.close();
            vm.close();
        }
    }

    @Override
    public Integer call()
    {
        out = spec.commandLine().getOut();
        if (accesses < 1000 || runs < 1 || kvmAccesses < 1)
        {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                "--accesses must be at least 1000, --runs and --kvm-accesses at least 1");
        }
        if (!List.of("sim", "kvm", "both").contains(host))
        {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                "--host must be sim, kvm or both, not '" + host + "'");
        }
        final List<ExitStyle> styles = switch (style)
        {
            case "vmx" -> List.of(ExitStyle.VMX);
            case "svm" -> List.of(ExitStyle.SVM);
            case "both" -> List.of(ExitStyle.VMX, ExitStyle.SVM);
            default -> throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                "--style must be vmx, svm or both, not '" + style + "'");
        };
        final List<Row> rows = new ArrayList<>();
        try
        {
            for (final ExitStyle s : styles)
            {
                for (final String eventfd : List.of("none", "wildcard", "datamatch"))
                {
                    rows.add(new Row("mmio", eventfd, true, s));
                    rows.add(new Row("mmio", eventfd, false, s));
                }
                for (final String eventfd : List.of("none", "wildcard", "datamatch"))
                {
                    rows.add(new Row("pio", eventfd, true, s));
                }
            }
            out.printf("vmexit matrix: %d rows, %d runs of %d accesses each, interleaved%n",
                rows.size(), runs, accesses);
            for (final Row row : rows)
            {
                row.measure(accesses);
            }
            for (int run = 0; run < runs; run++)
            {
                for (final Row row : rows)
                {
                    row.nanos.add(row.measure(accesses));
                }
                out.printf("  run %d/%d done%n", run + 1, runs);
            }
            return report(rows, styles);
        }
        finally
        {
            for (final Row row : rows)
            {
                row.close();
            }
        }
    }

    private static Row find(final List<Row> rows, final String access, final String eventfd, final boolean fastBus,
        final ExitStyle s)
    {
        for (final Row row : rows)
        {
            if (row.access.equals(access) && row.eventfd.equals(eventfd) && row.fastBus == fastBus
                && row.exitStyle == s)
            {
                return row;
            }
        }
        throw new IllegalStateException("no such row: " + access + "-" + eventfd);
    }

    /** @return the real-KVM matrix if {@code --host} asks for it and /dev/kvm works, else null (said in one line). */
    private KvmExitMatrix kvmMatrix()
    {
        if ("sim".equals(host))
        {
            return null;
        }
        final String unusable = Kvm.probe();
        if (unusable != null)
        {
            out.println();
            out.println("kvm rows skipped, simulated matrix only: " + unusable);
            return null;
        }
        out.println();
        return KvmExitMatrix.run(out, kvmAccesses, runs);
    }

    private int report(final List<Row> rows, final List<ExitStyle> styles)
    {
        out.println();
        out.printf("%-38s %12s %9s %8s %10s   %s%n", "row", "ns/access", "spread", "vs pio-w", "verified",
            "KVM 2013 cycles (vs pio-w)");
        boolean allVerified = true;
        for (final ExitStyle s : styles)
        {
            final double pioWildcard = find(rows, "pio", "wildcard", true, s).nanos.median();
            for (final Row row : rows)
            {
                if (row.exitStyle != s)
                {
                    continue;
                }
                final Integer cycles = row.fastBus ? KVM_2013_CYCLES.get(row.access + "-" + row.eventfd) : null;
                final String kvm = cycles == null ? "" : String.format(Locale.ROOT, "%5d (%.2f)", cycles,
                    cycles / (double)KVM_2013_CYCLES.get("pio-wildcard"));
                out.printf(Locale.ROOT, "%-38s %12.1f %8.0f%% %8.2f %10s   %s%n", row.name(), row.nanos.median(),
                    100 * row.nanos.spread(), row.nanos.median() / pioWildcard, row.verified() ? "yes" : "NO", kvm);
                allVerified &= row.verified();
            }
        }
        out.println("(KVM 2013 figures predate fast MMIO: its mmio-wildcard row was still emulated.)");
        final ExitStyle primary = styles.getFirst();
        final List<Ratio> ratios = List.of(
            Ratio.atMost("fast_mmio_over_pio",
                find(rows, "mmio", "wildcard", true, primary).nanos.median()
                    / find(rows, "pio", "wildcard", true, primary).nanos.median(), 1.05),
            Ratio.atMost("fast_bus_present_over_absent",
                find(rows, "mmio", "none", true, primary).nanos.median()
                    / find(rows, "mmio", "none", false, primary).nanos.median(), 1.01),
            Ratio.atMost("fast_over_emulated",
                find(rows, "mmio", "wildcard", true, primary).nanos.median()
                    / find(rows, "mmio", "wildcard", false, primary).nanos.median(), 0.5));
        out.println();
        out.println("ratios (" + primary.name().toLowerCase(Locale.ROOT) + ", medians from the same run):");
        for (final Ratio ratio : ratios)
        {
            out.println("  " + ratio);
        }
        if (!allVerified)
        {
            out.println("VERIFICATION FAILED: an eventfd did not fire exactly once per access (see the table)");
        }
        final KvmExitMatrix kvm = kvmMatrix();
        if (json)
        {
            final List<Object> jsonRows = new ArrayList<>();
            for (final Row row : rows)
            {
                final Map<String, Object> r = new LinkedHashMap<>();
                r.put("host", "sim");
                r.put("access", row.access);
                r.put("eventfd", row.eventfd);
                r.put("fast_bus", row.fastBus);
                r.put("style", row.exitStyle.name().toLowerCase(Locale.ROOT));
                r.put("ns_per_access", row.nanos.median());
                r.put("accesses", row.measured);
                r.put("eventfd_signals", row.signals);
                jsonRows.add(r);
            }
            final Map<String, Object> r = new LinkedHashMap<>();
            for (final Ratio ratio : ratios)
            {
                r.put(ratio.name(), ratio.value());
            }
            final Map<String, Object> top = new LinkedHashMap<>();
            top.put("rows", jsonRows);
            top.put("ratios", r);
            if (kvm != null)
            {
                kvm.putJson(jsonRows, top);
            }
            out.println(Json.write(top));
        }
        return allVerified && (kvm == null || kvm.verified()) ? 0 : 1;
    }
}
