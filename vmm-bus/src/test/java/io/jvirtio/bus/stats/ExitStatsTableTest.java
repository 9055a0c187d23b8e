package io.jvirtio.bus.stats;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExitStatsTableTest
{
    private static final long SECOND = 1_000_000_000L;

    private ExitStatsSnapshot snapshot;

    /** 1000 exits in 2 s on two vCPUs; every latency is below 256 ns, so the histograms hold it exactly. */
    @BeforeEach
    void recordKnownExits()
    {
        final ManualClock clock = new ManualClock(0);
        final ExitStats stats = new ExitStats(2, null, clock);
        for (int i = 0; i < 600; i++)
        {
            stats.vcpu(i % 2).record(ExitReason.EPT_MISCONFIG, ExitPath.FAST_MMIO, 0x1000, 100 + i % 100);
        }
        for (int i = 0; i < 300; i++)
        {
            stats.vcpu(0).record(ExitReason.IO_INSTRUCTION, ExitPath.PIO_KERNEL, 0xc000, 50);
        }
        for (int i = 0; i < 100; i++)
        {
            stats.vcpu(1).record(ExitReason.HLT, ExitPath.HLT, 0, 200);
        }
        clock.set(2 * SECOND);
        snapshot = stats.sample();
    }

    @Test
    void shouldPrintOneRowPerReasonAndPathWithCountsShareRateAndLatencies()
    {
        final List<String> lines = ExitStatsTable.table(snapshot).lines().toList();
        assertEquals("exits 1000 in 2.000000 s, all vCPUs", lines.get(0));

        // 100..199 ns, six of each: the 300th is 149, the 594th is 198.
        assertEquals(List.of("EPT_MISCONFIG", "600", "60.00", "300.0", "149", "198", "199"),
            cells(row(lines, "EPT_MISCONFIG")));
        assertEquals(List.of("NPF", "0", "0.00", "0.0", "-", "-", "-"), cells(row(lines, "NPF")));
        assertEquals(List.of("IO_INSTRUCTION", "300", "30.00", "150.0", "50", "50", "50"),
            cells(row(lines, "IO_INSTRUCTION")));
        // 300 x 50, then 100..199 six of each, then 100 x 200: the 500th is 133, the 990th 200.
        assertEquals(List.of("total", "1000", "100.00", "500.0", "133", "200", "200"), cells(row(lines, "total")));
        assertEquals(List.of("FAST_MMIO", "600", "60.00", "300.0", "149", "198", "199"),
            cells(row(lines, "FAST_MMIO")));
        assertEquals(List.of("PIO_KERNEL", "300", "30.00", "150.0", "50", "50", "50"), cells(row(lines, "PIO_KERNEL")));
        assertEquals(List.of("HLT", "100", "10.00", "50.0", "200", "200", "200"), cells(row(lines, "HLT")));
        assertEquals(List.of("UNHANDLED", "0", "0.00", "0.0", "-", "-", "-"), cells(row(lines, "UNHANDLED")));
    }

    @Test
    void shouldListEveryReasonThenEveryPathInDeclarationOrder()
    {
        final List<String> names = new ArrayList<>();
        for (final String line : ExitStatsTable.table(snapshot).lines().toList())
        {
            if (!line.isEmpty() && !line.startsWith("exits "))
            {
                names.add(line.substring(0, line.indexOf(' ') < 0 ? line.length() : line.indexOf(' ')));
            }
        }
        final List<String> expected = new ArrayList<>(List.of("exit"));
        Arrays.stream(ExitReason.values()).map(Enum::name).forEach(expected::add);
        expected.add("total");
        expected.add("exit");
        Arrays.stream(ExitPath.values()).map(Enum::name).forEach(expected::add);
        assertEquals(expected, names);
    }

    @Test
    void shouldRightAlignEveryValueUnderItsHeading()
    {
        final List<String> lines = ExitStatsTable.table(snapshot).lines().toList();
        final String header = lines.get(1);
        final String[] headings = {"total", "%total", "rate/s", "p50 ns", "p99 ns", "max ns"};
        for (final String line : lines)
        {
            if (line.isEmpty() || line.startsWith("exit"))
            {
                continue;
            }
            assertEquals(header.length(), line.length(), "every row as wide as the header: " + line);
            for (final String heading : headings)
            {
                final int end = header.indexOf(heading) + heading.length();
                assertTrue(line.charAt(end - 1) != ' ' && (end == line.length() || line.charAt(end) == ' '),
                    "value under '" + heading + "' ends where the heading ends: " + line);
            }
        }
    }

    @Test
    void shouldPrintPerfKvmStatSummaryOfExitsThatOccurredMostFrequentFirst()
    {
        final List<String> lines = ExitStatsTable.summary(snapshot).lines().toList();
        assertEquals("Analyze events for all VMs, all VCPUs:", lines.get(0));
        final List<String> names = new ArrayList<>();
        for (final String line : lines)
        {
            final String trimmed = line.trim();
            if (!trimmed.isEmpty() && Character.isUpperCase(trimmed.charAt(0)) && trimmed.contains("%"))
            {
                names.add(cells(line).get(0));
            }
        }
        assertEquals(List.of("VM-EXIT", "EPT_MISCONFIG", "IO_INSTRUCTION", "HLT", "EXIT-PATH", "FAST_MMIO",
            "PIO_KERNEL", "HLT"), names, "a heading, then the rows that occurred, most frequent first");

        // EPT_MISCONFIG: 600 exits of 100..199 ns, 89 700 ns in all; all exits took 89 700 + 15 000 + 20 000 ns.
        assertEquals(List.of("EPT_MISCONFIG", "600", "60.00%", "71.93%", "100ns", "199ns", "149.5ns"),
            cells(summaryRow(lines, "EPT_MISCONFIG")));
        assertEquals(List.of("IO_INSTRUCTION", "300", "30.00%", "12.03%", "50ns", "50ns", "50.0ns"),
            cells(summaryRow(lines, "IO_INSTRUCTION")));
        assertEquals("Total Samples:1000, Total events handled time:124700ns.", lines.get(lines.size() - 1));
    }

    @Test
    void shouldNameTheVcpuOfAPerVcpuSnapshot()
    {
        final ExitStatsSnapshot vcpu1 = snapshot.vcpus().get(1);
        assertEquals("exits 400 in 2.000000 s, vCPU 1", ExitStatsTable.table(vcpu1).lines().findFirst().orElseThrow());
        assertEquals("Analyze events for all VMs, VCPU 1:",
            ExitStatsTable.summary(vcpu1).lines().findFirst().orElseThrow());
        // vCPU 1 had the odd ones, 101..199: the 150th is 149, the 297th is 199.
        assertEquals(List.of("EPT_MISCONFIG", "300", "75.00", "150.0", "149", "199", "199"),
            cells(row(ExitStatsTable.table(vcpu1).lines().toList(), "EPT_MISCONFIG")));
    }

    @Test
    void shouldPrintTheSameTextToAPrintStream()
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        ExitStatsTable.print(snapshot, out);
        ExitStatsTable.printSummary(snapshot, out);
        assertEquals(ExitStatsTable.table(snapshot) + ExitStatsTable.summary(snapshot),
            bytes.toString(StandardCharsets.UTF_8));
    }

    private static String row(final List<String> lines, final String name)
    {
        return lines.stream().filter(l -> l.startsWith(name + " ")).findFirst().orElseThrow();
    }

    private static String summaryRow(final List<String> lines, final String name)
    {
        return lines.stream().filter(l -> l.trim().startsWith(name + " ")).findFirst().orElseThrow();
    }

    private static List<String> cells(final String line)
    {
        return List.of(line.trim().split(" +"));
    }
}
