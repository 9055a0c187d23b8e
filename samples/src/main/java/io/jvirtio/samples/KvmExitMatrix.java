package io.jvirtio.samples;

import io.jvirtio.bus.kvmhost.Kvm;
import io.jvirtio.samples.bench.Ratio;
import io.jvirtio.samples.bench.Sample;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The vmexit matrix on the host's real KVM ({@link KvmExitRow}: {MMIO, PIO} x {no eventfd, wildcard, datamatch}
 * with pci-testdev's registrations), and the cost of one {@code KVM_RUN} round trip to userspace from Java beside
 * the same loop in C ({@link KvmRunRoundTrip}).
 * <p>
 * Rows are measured interleaved, run after run, each figure the median of the runs, as in {@link VmExitMatrix}.
 * The Java round trip is the PIO row without an eventfd: every store there is one {@code KVM_RUN} return.
 * <p>
 * Thread safety: one thread builds, runs and reads a matrix.
 */
final class KvmExitMatrix
{
    /** The line that says what this host's KVM is (see the project's reference on real guests). */
    static final String PVM_NOTE = "note: this host's kvm module is kvm_pvm (PVM, a software virtualizer): its MMIO"
        + " is emulated, so the kvm mmio rows are the emulated path, not VMX's fast MMIO path";
    /** The most Java / C may be: the Java {@code KVM_RUN} loop adds at most a fifth to the bare ioctl loop. */
    static final double JAVA_OVER_C_LIMIT = 1.2;

    private final List<KvmExitRow> rows = new ArrayList<>();
    private final Sample cNanos = new Sample("c kvm_run round trip", "ns/exit");
    private final List<Ratio> ratios = new ArrayList<>();
    private String cSkipped;
    private boolean verified = true;

    /**
     * Builds the six rows, measures them and the C harness, and prints the table and the ratios.
     *
     * @param out      where to print.
     * @param accesses stores per measurement.
     * @param runs     measurements per row.
     * @return the matrix, for {@link #putJson(Map)}.
     */
    static KvmExitMatrix run(final PrintWriter out, final int accesses, final int runs)
    {
        final KvmExitMatrix matrix = new KvmExitMatrix();
        try (Kvm kvm = Kvm.open())
        {
            for (final String access : List.of("mmio", "pio"))
            {
                for (final String eventfd : List.of("none", "wildcard", "datamatch"))
                {
                    matrix.rows.add(new KvmExitRow(kvm, access, eventfd));
                }
            }
            matrix.measure(out, accesses, runs);
        }
        finally
        {
            for (final KvmExitRow row : matrix.rows)
            {
                row.close();
            }
        }
        matrix.measureC(out, accesses, runs);
        matrix.report(out);
        return matrix;
    }

    private void measure(final PrintWriter out, final int accesses, final int runs)
    {
        out.printf("kvm vmexit matrix: %d rows on /dev/kvm, %d runs of %d accesses each, interleaved%n",
            rows.size(), runs, accesses);
        for (final KvmExitRow row : rows)
        {
            row.measure(accesses);
        }
        for (int run = 0; run < runs; run++)
        {
            for (final KvmExitRow row : rows)
            {
                final double nanos = row.measure(accesses);
                if (!Double.isNaN(nanos))
                {
                    row.nanos.add(nanos);
                }
            }
            out.printf("  kvm run %d/%d done%n", run + 1, runs);
        }
    }

    private void measureC(final PrintWriter out, final int accesses, final int runs)
    {
        final int port = VmExitMatrix.PIO_BASE + VmExitMatrix.PIO_OFFSET;
        try (KvmRunRoundTrip harness = KvmRunRoundTrip.compile(KvmExitRow.guest(false), port))
        {
            harness.run(accesses);
            for (int run = 0; run < runs; run++)
            {
                cNanos.add(harness.run(accesses));
            }
        }
        catch (final IOException e)
        {
            cSkipped = e.getMessage();
            out.println("c kvm_run harness skipped: " + cSkipped);
        }
    }

    private KvmExitRow find(final String access, final String eventfd)
    {
        for (final KvmExitRow row : rows)
        {
            if (row.access.equals(access) && row.eventfd.equals(eventfd))
            {
                return row;
            }
        }
        throw new IllegalStateException("no such kvm row: access=" + access + ", eventfd=" + eventfd);
    }

    private static double median(final Sample sample)
    {
        return sample.count() == 0 ? Double.NaN : sample.median();
    }

    private void report(final PrintWriter out)
    {
        out.println();
        out.printf("%-38s %12s %9s %8s %10s%n", "kvm row", "ns/access", "spread", "vs pio-w", "verified");
        final double pioWildcard = median(find("pio", "wildcard").nanos);
        for (final KvmExitRow row : rows)
        {
            final double nanos = median(row.nanos);
            out.printf(Locale.ROOT, "%-38s %12.1f %8.0f%% %8.2f %10s%n", row.name(), nanos,
                row.nanos.count() == 0 ? 0.0 : 100 * row.nanos.spread(), nanos / pioWildcard,
                row.verified() ? "yes" : "NO");
            verified &= row.verified();
        }
        out.println(PVM_NOTE);
        final double pioExit = median(find("pio", "none").nanos);
        final double mmioExit = median(find("mmio", "none").nanos);
        final double mmioWildcard = median(find("mmio", "wildcard").nanos);
        ratios.add(Ratio.reported("kvm_pio_ioeventfd_over_exit", pioWildcard / pioExit));
        ratios.add(Ratio.reported("kvm_mmio_ioeventfd_over_exit", mmioWildcard / mmioExit));
        ratios.add(Ratio.reported("kvm_mmio_wildcard_over_pio_wildcard", mmioWildcard / pioWildcard));
        if (cSkipped == null)
        {
            ratios.add(Ratio.atMost("kvm_run_java_over_c", pioExit / median(cNanos), JAVA_OVER_C_LIMIT));
        }
        out.println();
        out.printf(Locale.ROOT, "kvm_run round trip to userspace: java %.1f ns/exit, c %s%n", pioExit,
            cSkipped == null ? String.format(Locale.ROOT, "%.1f ns/exit (%d runs)", median(cNanos), cNanos.count())
                : "skipped");
        out.println("ratios (kvm, medians from the same run):");
        for (final Ratio ratio : ratios)
        {
            out.println("  " + ratio);
        }
        if (!verified)
        {
            out.println("KVM VERIFICATION FAILED: an eventfd did not fire exactly once per access (see the table)");
        }
    }

    /** @return true if every row's stores went where pci-testdev says, and every guest halted. */
    boolean verified()
    {
        return verified;
    }

    /** Adds this matrix's rows to {@code jsonRows} and its figures under {@code kvm_ratios} and {@code kvm_run}. */
    void putJson(final List<Object> jsonRows, final Map<String, Object> top)
    {
        for (final KvmExitRow row : rows)
        {
            final Map<String, Object> r = new LinkedHashMap<>();
            r.put("host", "kvm");
            r.put("access", row.access);
            r.put("eventfd", row.eventfd);
            r.put("ns_per_access", median(row.nanos));
            r.put("accesses", row.measured());
            r.put("eventfd_signals", row.signals());
            r.put("userspace_exits", row.userspaceAccesses());
            r.put("verified", row.verified());
            jsonRows.add(r);
        }
        final Map<String, Object> r = new LinkedHashMap<>();
        for (final Ratio ratio : ratios)
        {
            r.put(ratio.name(), ratio.value());
        }
        top.put("kvm_ratios", r);
        final Map<String, Object> roundTrip = new LinkedHashMap<>();
        roundTrip.put("java_ns_per_exit", median(find("pio", "none").nanos));
        roundTrip.put("c_ns_per_exit", cSkipped == null ? median(cNanos) : null);
        roundTrip.put("c_skipped", cSkipped);
        top.put("kvm_run", roundTrip);
    }
}
