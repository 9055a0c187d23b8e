package io.jvirtio.samples.soak;

import java.lang.foreign.MemorySegment;

/**
 * What the block soak's host side knows should be on the disk: per sector, the id of the last write acknowledged
 * there (0: none), 4 bytes a sector instead of a copy of the disk.
 * <p>
 * Thread safety: the guest thread only.
 */
public final class SectorShadow
{
    private final int[] idOfSector;

    /** @param sectors the disk's length in sectors, at most 2^31 - 1. */
    public SectorShadow(final long sectors)
    {
        if (sectors > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("disk too large for the shadow: sectors=" + sectors);
        }
        idOfSector = new int[(int)sectors];
    }

    /** Records that write {@code id} over {@code count} sectors from {@code sector} was acknowledged. */
    public void acknowledged(final long sector, final int count, final long id)
    {
        if (id <= 0 || id > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("write id out of range: id=" + id);
        }
        for (int s = 0; s < count; s++)
        {
            idOfSector[(int)(sector + s)] = (int)id;
        }
    }

    /** @return the id of the last write acknowledged at {@code sector}, 0 for none. */
    public long idAt(final long sector)
    {
        return idOfSector[(int)sector];
    }

    /** @return the disk's length in sectors. */
    public long sectors()
    {
        return idOfSector.length;
    }

    /**
     * Compares {@code count} sectors read from {@code sector} on with the shadow.
     *
     * @param data     what was read.
     * @param unknown  true if sectors never written in this run may hold anything (an image that existed before).
     * @return sectors that do not hold their last acknowledged write (or zeroes where none was made and the disk
     *     started empty).
     */
    public int mismatches(final MemorySegment data, final long sector, final int count, final boolean unknown)
    {
        int wrong = 0;
        for (int s = 0; s < count; s++)
        {
            final long expected = idOfSector[(int)(sector + s)];
            if (expected == 0 && unknown)
            {
                continue;
            }
            if (SectorPattern.idOf(data, (long)s * SectorPattern.SECTOR, sector + s) != expected)
            {
                wrong++;
            }
        }
        return wrong;
    }
}
