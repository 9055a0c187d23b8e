package io.jvirtio.samples;

import io.jvirtio.samples.cli.Programs;
import io.jvirtio.net.capture.CaptureDirection;
import io.jvirtio.net.capture.CaptureReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every program runs on small settings and ends with one JSON object carrying the fields its issue names; usage
 * errors are one line and a non-zero exit. Figures are not asserted (they are timings); the structure is.
 */
class ProgramsTest
{
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

    private static void assertJsonFields(final String line, final String... fields)
    {
        assertTrue(line.startsWith("{") && line.endsWith("}"), line);
        for (final String field : fields)
        {
            assertTrue(line.contains("\"" + field + "\":"), "missing " + field + " in " + line);
        }
    }

    @Test
    void shouldListProgramsForHelp()
    {
        final Run help = run("--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("vmexit") && help.out().contains("ring") && help.out().contains("bus-bench"));
        assertTrue(help.out().contains("vhost-user"), help.out());
    }

    @Test
    void shouldExplainVhostUserOptionsForHelp()
    {
        final Run help = run("vhost-user", "--help");
        assertEquals(0, help.status(), help.err());
        for (final String option : List.of("--socket", "--connect", "--device", "--backend", "--file", "--read-only",
            "--memory", "--json", "memory-backend-memfd"))
        {
            assertTrue(help.out().contains(option), option + " in " + help.out());
        }
    }

    @Test
    void shouldRefuseVhostUserBlkWithoutDiskInOneLine(@TempDir final Path dir)
    {
        final Run bad = run("vhost-user", "--socket", dir.resolve("s.sock").toString(), "--device", "blk");
        assertEquals(Programs.USAGE, bad.status());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
    }

    @Test
    void shouldRefuseUnknownProgramInOneLine()
    {
        final Run unknown = run("no-such-program");
        assertEquals(Programs.USAGE, unknown.status());
        assertEquals(1, unknown.err().strip().lines().count(), unknown.err());
    }

    @Test
    void shouldRefuseBadOptionInOneLine()
    {
        final Run bad = run("vmexit", "--accesses", "lots");
        assertEquals(Programs.USAGE, bad.status());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
    }

    @Test
    void shouldRunVmExitMatrixAndVerifyEveryEventFd()
    {
        final Run vmexit = run("vmexit", "--accesses", "2000", "--runs", "1", "--json");
        assertEquals(0, vmexit.status(), vmexit.out());
        assertJsonFields(vmexit.lastLine(), "rows", "access", "eventfd", "fast_bus", "style", "ns_per_access",
            "accesses", "eventfd_signals", "ratios", "fast_mmio_over_pio", "fast_bus_present_over_absent",
            "fast_over_emulated");
        assertEquals(18, vmexit.lastLine().split("\"access\":").length - 1, "3 eventfd kinds x (2 mmio + 1 pio) x 2");
    }

    @Test
    void shouldRunRingBenchmark()
    {
        final Run ring = run("ring", "--buffers", "20000", "--runs", "1", "--json");
        assertEquals(0, ring.status(), ring.out());
        assertJsonFields(ring.lastLine(), "buffers", "buffers_per_second", "floor_per_second", "ratio",
            "kicks_per_buffer", "interrupts_per_buffer");
    }

    @Test
    void shouldRunBlockSampleWithEveryReadVerified()
    {
        final Run blk = run("blk", "--requests", "5000", "--size-mib", "8", "--json");
        assertEquals(0, blk.status(), blk.out());
        assertJsonFields(blk.lastLine(), "requests", "iops", "mib_per_second", "p50_us", "p99_us", "verify_errors",
            "kicks_per_request", "interrupts_per_request", "alloc_bytes_per_request");
        assertTrue(blk.lastLine().contains("\"verify_errors\":0,"), blk.lastLine());
    }

    @Test
    void shouldRunIopsOnBothDisksAndDeleteTheImage(@TempDir final Path dir) throws IOException
    {
        final Run iops = run("iops", "--requests", "2000", "--rounds", "1", "--size-mib", "8", "--fio-seconds", "1",
            "--dir", dir.toString(), "--json");
        assertEquals(0, iops.status(), iops.out());
        final String json = iops.lastLine();
        assertJsonFields(json, "block_size", "size_mib", "requests_per_run", "rounds", "results", "backend", "rw",
            "iodepth", "iops_median", "iops_runs", "alloc_bytes_per_request", "verify_errors", "io_errors", "fio",
            "available", "ratios", "file_over_memory_randread_qd1", "memory_randread_qd32_over_r11_1m", "errors");
        assertEquals(8, json.split("\"backend\":").length - 1, "2 disks x 2 patterns x 2 depths: " + json);
        assertTrue(json.contains("\"errors\":0}"), json);
        try (Stream<Path> left = Files.list(dir))
        {
            assertEquals(0, left.count(), "the temporary image is deleted");
        }
    }

    @Test
    void shouldEchoEveryFrameIntactOverVirtioMmio()
    {
        final Run echo = run("echo", "--transport", "mmio", "--frames", "20000", "--queue-pairs", "2", "--json");
        assertEquals(0, echo.status(), echo.out());
        final String json = echo.lastLine();
        assertJsonFields(json, "frames", "bytes", "lost", "duplicated", "reordered", "corrupted", "pps", "gbps",
            "kicks_per_packet", "interrupts_per_packet", "alloc_bytes_per_packet", "kick_paths", "fast_mmio",
            "emulated", "pio");
        assertTrue(json.contains("\"lost\":0,\"duplicated\":0,\"reordered\":0,\"corrupted\":0"), json);
        assertTrue(json.contains("\"emulated\":0"), "wildcard notify takes the fast path: " + json);
    }

    @Test
    void shouldEchoOverVirtioPciWithEveryKickOnTheFastPath()
    {
        final Run echo = run("echo", "--frames", "20000", "--json");
        assertEquals(0, echo.status(), echo.out());
        final String json = echo.lastLine();
        assertTrue(json.contains("\"lost\":0,\"duplicated\":0,\"reordered\":0,\"corrupted\":0"), json);
        assertTrue(json.contains("\"emulated\":0,\"pio\":0"), "notify_off_multiplier gives each queue a fast kick: "
            + json);
    }

    @Test
    void shouldRunEchoBenchOverEveryConfiguration()
    {
        final Run bench = run("echo-bench", "--frames", "10000", "--runs", "1", "--transport", "mmio", "--json");
        assertEquals(0, bench.status(), bench.out());
        assertJsonFields(bench.lastLine(), "floor_per_second", "64_event_idx_1qp", "1500_flags_2qp",
            "kicks_per_packet_event_idx_worst", "interrupts_per_packet_event_idx_worst",
            "alloc_bytes_per_packet_worst", "echo_over_ring_floor_event_idx_worst");
    }

    @Test
    void shouldCaptureEveryEchoedFrameBothWaysWhenCaptureIsGiven(@TempDir final Path dir)
    {
        final Path capture = dir.resolve("capture");
        final Run echo = run("echo", "--frames", "2000", "--capture", capture.toString(), "--json");
        assertEquals(0, echo.status(), echo.out());
        assertTrue(echo.out().contains("capture: " + capture.toAbsolutePath() + "\n"), echo.out());
        assertJsonFields(echo.lastLine(), "capture");
        final long[] counts = new long[2];
        final CaptureReader.Counts read = CaptureReader.read(capture, frame ->
        {
            counts[frame.direction() == CaptureDirection.TX ? 0 : 1]++;
            assertEquals(256, frame.frame().length);
        });
        // 2000 timed frames after 200 warm-up frames (a tenth), each recorded going out and coming back
        assertEquals(new CaptureReader.Counts(4400, 0), read);
        assertEquals(2200, counts[0]);
        assertEquals(2200, counts[1]);
    }

    @Test
    void shouldRunBusBench()
    {
        final Run bench = run("bus-bench", "--runs", "1", "--lookups", "1000", "--round-trips", "200", "--json");
        assertEquals(0, bench.status(), bench.out());
        assertJsonFields(bench.lastLine(), "figures", "lookup_mmio_1000_devices", "ioeventfd_signal_fast_mmio",
            "ratios", "eventfd_park_over_park_unpark");
    }
}
