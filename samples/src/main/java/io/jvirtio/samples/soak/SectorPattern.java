package io.jvirtio.samples.soak;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What the block soak writes into a sector, so that a sector says which write put it there: word 0 is the sector
 * number, word 1 the write's id (from 1), and the other 62 words are derived from both. A sector that reads back
 * with a wrong sector number, or with words that do not follow from its id, is neither the write it names nor any
 * other.
 * <p>
 * Thread safety: stateless; any thread.
 */
public final class SectorPattern
{
    /** Bytes per sector (virtio-blk's unit, §5.2.6). */
    public static final int SECTOR = 512;
    /** {@link #idOf} for a sector that holds nothing a write of the soak put there. */
    public static final long FOREIGN = -1;
    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final int WORDS = SECTOR / Long.BYTES;

    private SectorPattern()
    {
    }

    /** Fills {@code count} sectors at {@code offset} of {@code dst} with write {@code id}'s pattern from sector on. */
    public static void fill(final MemorySegment dst, final long offset, final long sector, final int count,
        final long id)
    {
        for (int s = 0; s < count; s++)
        {
            final long at = offset + (long)s * SECTOR;
            final long base = Mix.mix(sector + s, id);
            dst.set(WORD, at, sector + s);
            dst.set(WORD, at + Long.BYTES, id);
            for (int w = 2; w < WORDS; w++)
            {
                dst.set(WORD, at + (long)w * Long.BYTES, base + w);
            }
        }
    }

    /**
     * @param src    where the sector's bytes are.
     * @param offset the sector's offset in {@code src}.
     * @param sector the sector number it was read from.
     * @return the id of the write whose pattern the sector holds whole, 0 for a sector of zeroes (never written), or
     *     {@link #FOREIGN}.
     */
    public static long idOf(final MemorySegment src, final long offset, final long sector)
    {
        final long id = src.get(WORD, offset + Long.BYTES);
        if (src.get(WORD, offset) != sector || id <= 0)
        {
            return zero(src, offset) ? 0 : FOREIGN;
        }
        final long base = Mix.mix(sector, id);
        for (int w = 2; w < WORDS; w++)
        {
            if (src.get(WORD, offset + (long)w * Long.BYTES) != base + w)
            {
                return FOREIGN;
            }
        }
        return id;
    }

    private static boolean zero(final MemorySegment src, final long offset)
    {
        for (int w = 0; w < WORDS; w++)
        {
            if (src.get(WORD, offset + (long)w * Long.BYTES) != 0)
            {
                return false;
            }
        }
        return true;
    }
}
