package io.jvirtio.net.capture;

import io.jvirtio.net.backend.EchoBackend;
import io.jvirtio.net.backend.NetBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A capture exported to pcap and read back: by the Java reader always, by tshark when it is installed. */
class PcapExportTest
{
    private static final int[] LENGTHS = {60, 1514, 333, 65_550};

    /** Captures each of {@link #LENGTHS} once through an echo: TX then RX, so twice as many frames in all. */
    private static byte[][] capture(final Path dir)
    {
        final byte[][] packets = new byte[LENGTHS.length][];
        final MemorySegment rx = Arena.ofAuto().allocate(NetBackend.FRAME_OFFSET + 65_550);
        try (CapturingBackend capture = CapturingBackend.open(EchoBackend.plain(), dir, true))
        {
            capture.start(1, pair ->
            {
            });
            for (int i = 0; i < LENGTHS.length; i++)
            {
                packets[i] = CapturingBackendTest.packet(LENGTHS[i], i);
                capture.transmit(0, MemorySegment.ofArray(packets[i]), LENGTHS[i]);
                assertEquals(LENGTHS[i], capture.receive(0, rx));
            }
        }
        return packets;
    }

    @Test
    void shouldReadBackEveryFrameWhenExported(@TempDir final Path dir)
    {
        final byte[][] packets = capture(dir.resolve("cap"));
        final Path file = dir.resolve("frames.pcap");

        assertEquals(2L * LENGTHS.length,
            PcapExport.export(dir.resolve("cap"), file, EnumSet.allOf(CaptureDirection.class)));

        final PcapReader pcap = PcapReader.read(file);
        assertEquals(PcapExport.LINKTYPE_ETHERNET, pcap.linkType());
        assertEquals(PcapExport.SNAPLEN, pcap.snaplen());
        assertEquals(2 * LENGTHS.length, pcap.records().size());
        for (int i = 0; i < pcap.records().size(); i++)
        {
            final PcapReader.Record record = pcap.records().get(i);
            final byte[] packet = packets[i / 2];
            final int length = packet.length - NetBackend.FRAME_OFFSET;
            assertEquals(length, record.originalLength());
            assertArrayEquals(Arrays.copyOfRange(packet, NetBackend.FRAME_OFFSET,
                NetBackend.FRAME_OFFSET + Math.min(length, PcapExport.SNAPLEN)), record.data(), "record " + i);
            assertTrue(record.subseconds() < 1_000_000, "microseconds below one second");
        }
    }

    @Test
    void shouldExportOnlyRequestedDirection(@TempDir final Path dir)
    {
        capture(dir.resolve("cap"));
        final Path file = dir.resolve("tx.pcap");
        assertEquals(LENGTHS.length, PcapExport.export(dir.resolve("cap"), file, EnumSet.of(CaptureDirection.TX)));
        assertEquals(LENGTHS.length, PcapReader.read(file).records().size());
    }

    @Test
    void shouldRefuseRecordLongerThanFile(@TempDir final Path dir) throws IOException
    {
        capture(dir.resolve("cap"));
        final Path file = dir.resolve("cut.pcap");
        PcapExport.export(dir.resolve("cap"), file, EnumSet.of(CaptureDirection.TX));
        final byte[] whole = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(whole, PcapExport.GLOBAL_HEADER_LENGTH + PcapExport.RECORD_HEADER_LENGTH + 10));
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PcapReader.read(file));
        assertEquals("pcap record longer than the snaplen or the file: file=" + file + ", record=0, inclLen=60",
            e.getMessage());
    }

    @Test
    void shouldCountFramesWithTsharkWhenInstalled(@TempDir final Path dir) throws Exception
    {
        final Path tshark = onPath("tshark");
        assumeTrue(tshark != null, "tshark is not installed");
        capture(dir.resolve("cap"));
        final Path file = dir.resolve("frames.pcap");
        PcapExport.export(dir.resolve("cap"), file, EnumSet.allOf(CaptureDirection.class));

        final Process process = new ProcessBuilder(tshark.toString(), "-r", file.toString(), "-T", "fields",
            "-e", "frame.len").redirectError(ProcessBuilder.Redirect.DISCARD).start();
        final String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "tshark did not finish");
        assertEquals(0, process.exitValue());
        final List<String> lengths = out.lines().filter(line -> !line.isBlank()).toList();
        assertEquals(2 * LENGTHS.length, lengths.size());
        for (int i = 0; i < lengths.size(); i++)
        {
            assertEquals(LENGTHS[i / 2], Integer.parseInt(lengths.get(i).trim()), "frame " + i);
        }
    }

    private static Path onPath(final String program)
    {
        final String path = System.getenv("PATH");
        if (path == null)
        {
            return null;
        }
        for (final String entry : path.split(File.pathSeparator))
        {
            final Path candidate = Path.of(entry, program);
            if (Files.isExecutable(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
