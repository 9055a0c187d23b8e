package io.jvirtio.samples.soak;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The block soak's kill test as both processes see it. The child ({@code BlockSoakChild}) writes {@link #flushed}
 * requests of a {@link RequestMix} over the image's first half (ids 1 to K), completes them all, sends FLUSH and prints
 * {@value #FLUSHED} once it is acknowledged; then it writes over the second half (ids from K + 1), printing
 * {@value #ACKED} each time every write up to a count has completed, until it is killed. The parent derives both write
 * sequences from the seed and checks the image sector by sector: the first half holds exactly the last flushed write
 * of every sector; in the second half, every sector holds its last write acknowledged before the last line read, or a
 * later write that covers it (one in flight or completed after that line).
 * <p>
 * Thread safety: immutable; any thread.
 *
 * @param seed    the seed of both sequences.
 * @param sectors the image's length in sectors.
 * @param flushed the writes made durable by the FLUSH (K).
 */
public record KillCheck(long seed, long sectors, long flushed)
{
    /** The line the child prints after FLUSH was acknowledged, followed by K. */
    public static final String FLUSHED = "flushed ";
    /** The line the child prints when its first M writes after the FLUSH have all completed, followed by M. */
    public static final String ACKED = "acked ";

    /** @return the writes over the first half. */
    public RequestMix first()
    {
        return new RequestMix(seed, 0, sectors / 2);
    }

    /** @return the writes over the second half. */
    public RequestMix second()
    {
        return new RequestMix(seed + 1, sectors / 2, sectors - sectors / 2);
    }

    /**
     * What the image held.
     *
     * @param sectorsChecked  sectors compared.
     * @param flushedMissing  first-half sectors without their last flushed write.
     * @param ackedMissing    second-half sectors without their last acknowledged write or a later one.
     * @param later           second-half sectors holding a write newer than the last acknowledged line (allowed).
     */
    public record Outcome(long sectorsChecked, long flushedMissing, long ackedMissing, long later)
    {
        /** @return true if every acknowledged write is there. */
        public boolean clean()
        {
            return flushedMissing == 0 && ackedMissing == 0;
        }
    }

    /**
     * Checks the image after the child was killed.
     *
     * @param acked the M of the last {@value #ACKED} line read (0 if none).
     */
    public Outcome check(final Path image, final long acked) throws IOException
    {
        final SectorShadow shadow = new SectorShadow(sectors);
        final RequestMix first = first();
        for (long i = 0; i < flushed; i++)
        {
            shadow.acknowledged(first.sector(i), first.count(i), i + 1);
        }
        final RequestMix second = second();
        for (long i = 0; i < acked; i++)
        {
            shadow.acknowledged(second.sector(i), second.count(i), flushed + i + 1);
        }
        long flushedMissing = 0;
        long ackedMissing = 0;
        long later = 0;
        try (FileChannel channel = FileChannel.open(image, StandardOpenOption.READ);
            Arena arena = Arena.ofConfined())
        {
            final MemorySegment bytes = channel.map(FileChannel.MapMode.READ_ONLY, 0,
                sectors * SectorPattern.SECTOR, arena);
            for (long s = 0; s < sectors; s++)
            {
                final long expected = shadow.idAt(s);
                final long found = SectorPattern.idOf(bytes, s * SectorPattern.SECTOR, s);
                if (s < sectors / 2)
                {
                    flushedMissing += found == expected ? 0 : 1;
                }
                else if (found != expected)
                {
                    final long index = found - flushed - 1;
                    if (index >= acked && index >= 0 && second.sector(index) <= s
                        && s < second.sector(index) + second.count(index))
                    {
                        later++;
                    }
                    else
                    {
                        ackedMissing++;
                    }
                }
            }
        }
        return new Outcome(sectors, flushedMissing, ackedMissing, later);
    }
}
