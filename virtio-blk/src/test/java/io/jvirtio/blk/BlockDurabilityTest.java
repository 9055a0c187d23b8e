package io.jvirtio.blk;

import io.jvirtio.blk.backend.FileBlockBackend;
import io.jvirtio.bus.linux.Libc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * FLUSH acknowledged means the writes before it survive the process: a child JVM writes a pattern through the device
 * to a file image, gets FLUSH answered OK, says so, and is killed with SIGKILL while it keeps writing; every block
 * written before the FLUSH is then in the image. A SIGKILL does not drop the page cache, so this checks that an
 * acknowledged write has left the process (no user-space buffering); that fdatasync returned 0 before OK is
 * checked by the backend's own tests.
 */
class BlockDurabilityTest
{
    private static final int BLOCKS = 256;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldFindEveryAcknowledgedWriteAfterTheWriterIsKilled(@TempDir final Path dir) throws Exception
    {
        assumeTrue(Libc.isAvailable(), Libc.unavailableReason());
        final Path image = dir.resolve("durable.img");
        try (FileBlockBackend created = FileBlockBackend.create(image, 2L * BLOCKS * 8, "durable"))
        {
            assertEquals(2L * BLOCKS * 8, created.capacity());
        }
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.add("-cp");
        command.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        command.add(BlockDurabilityChild.class.getName());
        command.add(image.toString());
        command.add(Integer.toString(BLOCKS));
        final Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        final StringBuilder output = new StringBuilder();
        try (BufferedReader lines = new BufferedReader(
            new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8)))
        {
            String line;
            // bound: the child prints a few lines, and ends itself after its lifetime if never killed
            while ((line = lines.readLine()) != null && !line.equals(BlockDurabilityChild.FLUSHED + " " + BLOCKS))
            {
                output.append(line).append('\n');
            }
            if (line == null)
            {
                fail("child ended without a flush: exit=" + child.waitFor() + ", output=" + output);
            }
            child.destroyForcibly();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "child killed (failure timeout)");
        }
        finally
        {
            child.destroyForcibly();
        }
        assertEquals(137, child.exitValue(), "the child died of SIGKILL");

        final ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(image)).order(ByteOrder.LITTLE_ENDIAN);
        int wrong = 0;
        for (int b = 0; b < BLOCKS; b++)
        {
            for (int w = 0; w < BlockDurabilityChild.BLOCK / Long.BYTES; w++)
            {
                if (bytes.getLong(b * BlockDurabilityChild.BLOCK + w * Long.BYTES)
                    != BlockDurabilityChild.pattern(b, w))
                {
                    wrong++;
                    break;
                }
            }
        }
        assertEquals(0, wrong, "acknowledged blocks missing from the image");
    }
}
