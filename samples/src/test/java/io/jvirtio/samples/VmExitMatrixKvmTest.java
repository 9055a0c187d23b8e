package io.jvirtio.samples;

import io.jvirtio.bus.kvmhost.Kvm;
import io.jvirtio.samples.cli.Programs;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code vmexit --host kvm}: the six pci-testdev rows on /dev/kvm, each eventfd fired once per guest store (counted
 * by the kernel's eventfd, read back), each store without one dispatched to userspace, and the KVM_RUN round trip
 * beside the C loop. Skipped, with the reason, where /dev/kvm is unusable. Timings are not asserted.
 */
class VmExitMatrixKvmTest
{
    private static final String UNUSABLE = Kvm.probe();
    private static final Pattern KVM_ROW = Pattern.compile("\\{\"host\":\"kvm\",\"access\":\"(mmio|pio)\","
        + "\"eventfd\":\"(none|wildcard|datamatch)\",\"ns_per_access\":[0-9.]+,\"accesses\":([0-9]+),"
        + "\"eventfd_signals\":([0-9]+),\"userspace_exits\":([0-9]+),\"verified\":(true|false)}");

    private record Run(int status, String out, String err)
    {
        String lastLine()
        {
            final String[] lines = out.strip().split("\n");
            return lines[lines.length - 1];
        }
    }

    private static Run run(final String... args)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int status = Programs.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static void assumeKvm()
    {
        assumeTrue(UNUSABLE == null, () -> "skipped: " + UNUSABLE);
    }

    @Test
    void shouldFireEveryKvmEventfdOncePerAccessWhenHostIsKvm()
    {
        assumeKvm();
        final Run vmexit = run("vmexit", "--host", "kvm", "--style", "vmx", "--accesses", "1000", "--runs", "1",
            "--kvm-accesses", "2000", "--json");
        assertEquals(0, vmexit.status(), vmexit.out());
        final String json = vmexit.lastLine();
        final Matcher rows = KVM_ROW.matcher(json);
        final List<String> seen = new ArrayList<>();
        while (rows.find())
        {
            final String name = rows.group(1) + "-" + rows.group(2);
            final long accesses = Long.parseLong(rows.group(3));
            final long signals = Long.parseLong(rows.group(4));
            final long userspace = Long.parseLong(rows.group(5));
            assertEquals(2 * 2000, accesses, name + ": the warm-up and one run");
            if ("none".equals(rows.group(2)))
            {
                assertEquals(0, signals, name);
                assertEquals(accesses, userspace, name + ": every store a KVM_RUN return");
            }
            else
            {
                assertEquals(accesses, signals, name + ": the eventfd once per store");
                assertEquals(0, userspace, name + ": no store left the kernel");
            }
            assertEquals("true", rows.group(6), name);
            seen.add(name);
        }
        assertEquals(List.of("mmio-none", "mmio-wildcard", "mmio-datamatch", "pio-none", "pio-wildcard",
            "pio-datamatch"), seen, json);
        assertEquals(9, json.split("\"host\":\"sim\"").length - 1, "the simulated vmx rows beside: " + json);
        for (final String field : List.of("kvm_pio_ioeventfd_over_exit", "kvm_mmio_ioeventfd_over_exit",
            "kvm_mmio_wildcard_over_pio_wildcard", "java_ns_per_exit", "c_ns_per_exit"))
        {
            assertTrue(json.contains("\"" + field + "\":"), "missing " + field + " in " + json);
        }
        assertTrue(vmexit.out().contains("kvm_pvm"), "the line naming this host's software virtualizer");
        if (json.contains("\"c_skipped\":null"))
        {
            assertTrue(json.contains("\"kvm_run_java_over_c\":"), json);
        }
    }

    @Test
    void shouldSplitStoresIntoPassesWhenMoreThanCxCanCount()
    {
        assumeKvm();
        final int stores = KvmExitRow.MAX_PASS + 7;
        try (Kvm kvm = Kvm.open(); KvmExitRow row = new KvmExitRow(kvm, "pio", "wildcard"))
        {
            assertFalse(Double.isNaN(row.measure(stores)));
            assertEquals(stores, row.measured());
            assertEquals(stores, row.signals(), "the eventfd once per store across both passes");
            assertEquals(0, row.failedRuns());
            assertTrue(row.verified());
        }
    }

    @Test
    void shouldRunNoKvmRowWhenHostIsSim()
    {
        final Run vmexit = run("vmexit", "--style", "vmx", "--accesses", "1000", "--runs", "1", "--json");
        assertEquals(0, vmexit.status(), vmexit.out());
        assertFalse(vmexit.lastLine().contains("\"host\":\"kvm\""), vmexit.lastLine());
        assertFalse(vmexit.lastLine().contains("kvm_ratios"), vmexit.lastLine());
    }

    @Test
    void shouldRefuseAnUnknownHostInOneLine()
    {
        final Run bad = run("vmexit", "--host", "xen");
        assertEquals(Programs.USAGE, bad.status());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
        assertTrue(bad.err().contains("--host"), bad.err());
    }

    @Test
    void shouldWriteTheGuestBytesAndPortIntoTheCHarness()
    {
        final byte[] guest = KvmExitRow.guest(false);
        final String source = KvmRunRoundTrip.source(guest, 0xC080);
        assertTrue(source.contains("0xee, 0xe2, 0xfd, 0xf4"), "out dx, al; loop -3; hlt: " + source);
        assertTrue(source.contains("#define PORT 0xc080"), source);
        assertTrue(source.contains("KVM_RUN"), source);
    }
}
