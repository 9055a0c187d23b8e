package io.jvirtio.samples;

import io.jvirtio.blk.backend.FileBlockBackend;
import io.jvirtio.bus.linux.Libc;
import io.jvirtio.samples.cli.Programs;
import io.jvirtio.samples.soak.ChildJvm;
import io.jvirtio.samples.soak.KillCheck;
import io.jvirtio.samples.soak.SectorPattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CI version of {@code ./jvirtio soak-blk}: a 64 MiB image, a few thousand mixed requests with every read and
 * every sector checked against the shadow, and the kill test; and the checks catch what they claim to catch.
 */
class BlockSoakTest
{
    private static final long SECTORS = (64L << 20) / SectorPattern.SECTOR;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldReadBackEveryAcknowledgedWriteWhenSoakedWithMixedSizesAndDepths(@TempDir final Path dir)
        throws IOException, InterruptedException
    {
        final BlockSoak.Result r = BlockSoak.soak(dir.resolve("soak.img"), SECTORS, 4000, 11, quiet());
        assertEquals(4000, r.requests());
        assertTrue(r.writes() > 1000 && r.writes() < 3000, "about half are writes: " + r.writes());
        assertEquals(0, r.mismatches(), "mismatches");
        assertEquals(0, r.ioErrors(), "i/o errors");
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldFindEveryAcknowledgedWriteWhenTheServingProcessIsKilled(@TempDir final Path dir)
        throws IOException, InterruptedException
    {
        assumeTrue(Libc.isAvailable(), Libc.unavailableReason());
        final BlockSoak.KillResult k = BlockSoak.kill(dir.resolve("kill.img"), SECTORS, 2000, 11, quiet());
        assertEquals(ChildJvm.KILLED, k.exitStatus(), "the child died of SIGKILL");
        assertTrue(k.acked() > 0, "writes acknowledged after the flush");
        assertEquals(0, k.outcome().flushedMissing(), "flushed writes missing");
        assertEquals(0, k.outcome().ackedMissing(), "acknowledged writes missing");
    }

    @Test
    void shouldCountAFlushedWriteMissingWhenItsSectorIsLost(@TempDir final Path dir) throws IOException
    {
        final Path image = dir.resolve("lost.img");
        final KillCheck kill = new KillCheck(11, SECTORS, 50);
        try (FileBlockBackend created = FileBlockBackend.create(image, SECTORS, "lost"))
        {
            assertEquals(SECTORS, created.capacity());
        }
        // write what the child would have flushed, except the last write's first sector
        try (FileChannel channel = FileChannel.open(image, StandardOpenOption.WRITE))
        {
            for (long i = 0; i < 50; i++)
            {
                final long sector = kill.first().sector(i);
                final int count = kill.first().count(i);
                final ByteBuffer bytes = ByteBuffer.allocateDirect(count * SectorPattern.SECTOR);
                SectorPattern.fill(MemorySegment.ofBuffer(bytes), 0, sector, count, i + 1);
                channel.write(bytes, sector * SectorPattern.SECTOR);
            }
            channel.write(ByteBuffer.allocate(SectorPattern.SECTOR), kill.first().sector(49) * SectorPattern.SECTOR);
        }
        final KillCheck.Outcome outcome = kill.check(image, 0);
        assertEquals(1, outcome.flushedMissing());
        assertEquals(0, outcome.ackedMissing());
    }

    @Test
    void shouldParseSizesWithBinarySuffixes()
    {
        assertEquals(1L << 30, BlockSoak.parseSize("1G"));
        assertEquals(64L << 20, BlockSoak.parseSize("64m"));
        assertEquals(4096, BlockSoak.parseSize("4096"));
        assertEquals(-1, BlockSoak.parseSize("lots"));
    }

    @Test
    void shouldRefuseASizeThatIsNotWholeSectorsInOneLine()
    {
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int status = Programs.run(new String[]{"soak-blk", "--size", "1000001"}, System.out,
            new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(Programs.USAGE, status);
        assertEquals(1, err.toString(StandardCharsets.UTF_8).strip().lines().count());
    }

    private static PrintWriter quiet()
    {
        return new PrintWriter(new StringWriter());
    }
}
