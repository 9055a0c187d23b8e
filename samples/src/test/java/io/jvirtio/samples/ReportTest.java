package io.jvirtio.samples;

import io.jvirtio.samples.cli.Programs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The report runs with its smallest settings into a temporary folder and leaves the table, the CSV and a chart that
 * parses as XML, and its JSON line names every ratio with a value, a target and a verdict. Figures are timings and
 * are not asserted; the structure is.
 */
class ReportTest
{
    private static final List<String> RATIOS = List.of("fast_mmio_over_pio", "fast_bus_present_over_absent",
        "fast_over_emulated", "kicks_per_packet", "interrupts_per_packet", "alloc_bytes_per_packet",
        "echo_over_ring_floor", "blk_over_fio");

    @Test
    void shouldWriteTableCsvAndChartAndNameEveryRatioWhenRunSmall(@TempDir final Path dir) throws Exception
    {
        final Path outDir = dir.resolve("out");
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int status = Programs.run(new String[]{"report", "--runs", "1", "--frames", "2000", "--out",
            outDir.toString(), "--json"}, new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
        final String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, text + err.toString(StandardCharsets.UTF_8));
        final Path table = outDir.resolve("report.md");
        final Path csv = outDir.resolve("report.csv");
        final Path chart = outDir.resolve("report.svg");
        assertTrue(Files.isRegularFile(table) && Files.isRegularFile(csv) && Files.isRegularFile(chart));
        final String markdown = Files.readString(table);
        final String csvText = Files.readString(csv);
        final Document svg = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(chart.toFile());
        assertEquals("svg", svg.getDocumentElement().getNodeName());
        assertEquals(1 + 4 + 3 + 2, svg.getElementsByTagName("rect").getLength(),
            "a background and one bar per figure: four kick paths, three frame sizes, two depths");
        final String[] lines = text.strip().split("\n");
        final String json = lines[lines.length - 1];
        assertTrue(json.startsWith("{\"ratios\":{") && json.endsWith("}"), json);
        for (final String ratio : RATIOS)
        {
            assertTrue(json.contains("\"" + ratio + "\":{\"value\":"), "missing " + ratio + " in " + json);
            assertTrue(markdown.contains("| " + ratio + " |"), "missing " + ratio + " in the table");
            assertTrue(csvText.contains("ratio," + ratio + ","), "missing " + ratio + " in the csv");
        }
        assertTrue(json.contains("\"table\":\"" + table.toAbsolutePath() + "\""), json);
        assertTrue(json.contains("\"csv\":\"" + csv.toAbsolutePath() + "\""), json);
        assertTrue(json.contains("\"chart\":\"" + chart.toAbsolutePath() + "\""), json);
        assertTrue(text.contains("run 1/1: echo"), "progress lines: " + text);
    }

    @Test
    void shouldRefuseQuickAndFullTogether(@TempDir final Path dir)
    {
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int status = Programs.run(new String[]{"report", "--quick", "--full", "--out", dir.toString()},
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(Programs.USAGE, status);
        assertEquals(1, err.toString(StandardCharsets.UTF_8).strip().lines().count());
    }
}
