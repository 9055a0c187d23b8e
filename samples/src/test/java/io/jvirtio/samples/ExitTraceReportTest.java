package io.jvirtio.samples;

import io.jvirtio.bus.stats.ExitPath;
import io.jvirtio.bus.stats.ExitReason;
import io.jvirtio.bus.stats.ExitStats;
import io.jvirtio.bus.stats.ExitStatsTable;
import io.jvirtio.bus.stats.ExitTrace;
import io.jvirtio.samples.cli.Programs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExitTraceReportTest
{
    /** What one run of a program printed, and its exit status. */
    private record Run(int status, String out, String err)
    {
        List<String> lines()
        {
            return out.lines().toList();
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

    /** 700 fast-MMIO kicks and 300 port accesses on vCPU 0, 500 halts on vCPU 1, over one virtual second. */
    private static String writeTrace(final Path dir)
    {
        final long[] now = {10_000};
        try (ExitTrace trace = ExitTrace.open(dir))
        {
            final ExitStats stats = new ExitStats(2, trace, () -> now[0]);
            now[0] += 1_000_000_000L;
            for (int i = 0; i < 700; i++)
            {
                stats.vcpu(0).record(ExitReason.EPT_MISCONFIG, ExitPath.FAST_MMIO, 0xfe00_3000L, 120);
            }
            for (int i = 0; i < 300; i++)
            {
                stats.vcpu(0).record(ExitReason.IO_INSTRUCTION, ExitPath.PIO_USERSPACE, 0xcfc, 2_000);
            }
            for (int i = 0; i < 500; i++)
            {
                stats.vcpu(1).record(ExitReason.HLT, ExitPath.HLT, 0, 50_000);
            }
            return ExitStatsTable.table(stats.sample());
        }
    }

    @Test
    void shouldPrintTheTableTheLiveStatisticsPrinted(@TempDir final Path dir)
    {
        final String live = writeTrace(dir);
        final Run run = run("trace-report", dir.toString());
        assertEquals(0, run.status(), run.err());
        assertEquals("trace " + dir + ": 1 sessions, 1500 exits, 0 malformed records", run.lines().get(0));
        assertTrue(run.out().contains(live), "the replayed table equals the live one:\n" + run.out());
        assertEquals(List.of("EPT_MISCONFIG", "700", "46.67", "700.0", "120", "120", "120"),
            cells(row(run.lines(), "EPT_MISCONFIG")));
        // 2000 ns at two significant digits: the top of its 16 ns bucket, [1992, 2007].
        assertEquals(List.of("PIO_USERSPACE", "300", "20.00", "300.0", "2007", "2007", "2007"),
            cells(row(run.lines(), "PIO_USERSPACE")));
    }

    @Test
    void shouldEndWithOneJsonObjectWhenAskedForJson(@TempDir final Path dir)
    {
        writeTrace(dir);
        final Run run = run("trace-report", dir.toString(), "--json", "--summary", "--per-vcpu");
        assertEquals(0, run.status(), run.err());
        assertTrue(run.out().contains("Analyze events for all VMs, all VCPUs:"), "the summary is printed");
        assertTrue(run.out().contains("exits 500 in 1.000000 s, vCPU 1"), "the per-vCPU tables are printed");

        final List<String> lines = run.lines();
        final Map<?, ?> json = (Map<?, ?>)new JsonParser(lines.get(lines.size() - 1)).parse();
        assertEquals("trace-report", json.get("program"));
        assertEquals(dir.toString(), json.get("trace"));
        assertEquals(1.0, json.get("sessions"));
        assertEquals(1500.0, json.get("exits"));
        assertEquals(0.0, json.get("malformedRecords"));
        final Map<?, ?> stats = (Map<?, ?>)json.get("stats");
        assertEquals("all", stats.get("vcpu"));
        assertEquals(1e9, stats.get("intervalNs"));
        final Map<?, ?> halt = (Map<?, ?>)((Map<?, ?>)stats.get("paths")).get("HLT");
        assertEquals(500.0, halt.get("count"));
        assertEquals(500.0, halt.get("ratePerSec"));
        assertEquals(1.0 / 3, (Double)halt.get("share"), 1e-5);
        assertEquals(50_000.0, (Double)halt.get("p99Ns"), 500.0, "within 1%");
        final Map<?, ?> reasons = (Map<?, ?>)stats.get("reasons");
        assertEquals(List.of("EPT_MISCONFIG", "NPF", "IO_INSTRUCTION", "HLT"), new ArrayList<>(reasons.keySet()));
        final List<?> vcpus = (List<?>)stats.get("vcpus");
        assertEquals(2, vcpus.size());
        assertEquals(1000.0, ((Map<?, ?>)vcpus.get(0)).get("exits"));
        assertEquals(500.0, ((Map<?, ?>)vcpus.get(1)).get("exits"));
    }

    @Test
    void shouldFailInOneLineWhenDirectoryHoldsNoTrace(@TempDir final Path dir)
    {
        final Run run = run("trace-report", dir.toString());
        assertEquals(ExitTraceReport.NO_TRACE, run.status());
        assertEquals("jvirtio trace-report: no exit trace in directory: dir=" + dir, run.err().strip());
        assertEquals("", run.out());
    }

    @Test
    void shouldDescribeItsOptionsWhenAskedForHelp()
    {
        final Run run = run("trace-report", "--help");
        assertEquals(0, run.status(), run.err());
        assertTrue(run.out().contains("./jvirtio trace-report"), run.out());
        for (final String option : List.of("DIR", "--json", "--summary", "--per-vcpu", "--help"))
        {
            assertTrue(run.out().contains(option), option + " in:\n" + run.out());
        }
        final Run listing = run("--help");
        assertTrue(listing.out().contains("trace-report"), "listed among the programs");
    }

    @Test
    void shouldReportUsageErrorWhenDirectoryIsMissing()
    {
        final Run run = run("trace-report");
        assertEquals(Programs.USAGE, run.status());
        assertTrue(run.err().startsWith("jvirtio trace-report: Missing required parameter"), run.err());
    }

    private static String row(final List<String> lines, final String name)
    {
        return lines.stream().filter(l -> l.startsWith(name + " ")).findFirst().orElseThrow();
    }

    private static List<String> cells(final String line)
    {
        return List.of(line.trim().split(" +"));
    }

    /** A small JSON reader for the test: objects (ordered), arrays, strings, numbers as Double, booleans, null. */
    private static final class JsonParser
    {
        private final String text;
        private int pos;

        JsonParser(final String text)
        {
            this.text = text;
        }

        Object parse()
        {
            final Object value = value();
            skipSpace();
            assertEquals(text.length(), pos, "trailing characters after the JSON value");
            return value;
        }

        private Object value()
        {
            skipSpace();
            final char c = text.charAt(pos);
            switch (c)
            {
                case '{':
                    return object();
                case '[':
                    return array();
                case '"':
                    return string();
                default:
                    if (text.startsWith("true", pos) || text.startsWith("null", pos))
                    {
                        pos += 4;
                        return c == 't' ? Boolean.TRUE : null;
                    }
                    if (text.startsWith("false", pos))
                    {
                        pos += 5;
                        return Boolean.FALSE;
                    }
                    return number();
            }
        }

        private Map<String, Object> object()
        {
            final Map<String, Object> map = new LinkedHashMap<>();
            expect('{');
            skipSpace();
            if (text.charAt(pos) == '}')
            {
                pos++;
                return map;
            }
            do
            {
                skipSpace();
                final String key = string();
                skipSpace();
                expect(':');
                map.put(key, value());
                skipSpace();
            }
            while (text.charAt(pos++) == ',');
            assertEquals('}', text.charAt(pos - 1), "object ends with }");
            return map;
        }

        private List<Object> array()
        {
            final List<Object> list = new ArrayList<>();
            expect('[');
            skipSpace();
            if (text.charAt(pos) == ']')
            {
                pos++;
                return list;
            }
            do
            {
                list.add(value());
                skipSpace();
            }
            while (text.charAt(pos++) == ',');
            assertEquals(']', text.charAt(pos - 1), "array ends with ]");
            return list;
        }

        private String string()
        {
            expect('"');
            final StringBuilder sb = new StringBuilder();
            while (text.charAt(pos) != '"')
            {
                char c = text.charAt(pos++);
                if (c == '\\')
                {
                    c = text.charAt(pos++);
                    switch (c)
                    {
                        case 'n' -> sb.append('\n');
                        case 't' -> sb.append('\t');
                        case 'r' -> sb.append('\r');
                        case 'u' ->
                        {
                            sb.append((char)Integer.parseInt(text.substring(pos, pos + 4), 16));
                            pos += 4;
                        }
                        default -> sb.append(c);
                    }
                }
                else
                {
                    sb.append(c);
                }
            }
            pos++;
            return sb.toString();
        }

        private Double number()
        {
            final int start = pos;
            while (pos < text.length() && "+-0123456789.eE".indexOf(text.charAt(pos)) >= 0)
            {
                pos++;
            }
            return Double.valueOf(text.substring(start, pos));
        }

        private void expect(final char c)
        {
            assertEquals(c, text.charAt(pos), "at offset " + pos);
            pos++;
        }

        private void skipSpace()
        {
            while (pos < text.length() && Character.isWhitespace(text.charAt(pos)))
            {
                pos++;
            }
        }
    }
}
