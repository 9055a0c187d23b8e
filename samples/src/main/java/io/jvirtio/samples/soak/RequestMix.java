package io.jvirtio.samples.soak;

/**
 * The block soak's requests, derived from a seed and the request's index alone so that another process (the kill
 * test's checker) can derive the same ones: a range of 1 to 256 sectors (512 B to 128 KiB) inside a region, a
 * read or a write, and the queue depth of the batch of {@value #BATCH} requests it belongs to (1 to 32).
 * <p>
 * Thread safety: immutable; any thread.
 */
public final class RequestMix
{
    /** The largest request, in sectors: 128 KiB. */
    public static final int MAX_SECTORS = 256;
    /** The deepest batch. */
    public static final int MAX_DEPTH = 32;
    /** Requests per batch of one depth. */
    public static final int BATCH = 256;

    private final long seed;
    private final long first;
    private final long sectors;

    /**
     * @param seed    the seed.
     * @param first   the region's first sector.
     * @param sectors the region's length in sectors, at least {@link #MAX_SECTORS}.
     */
    public RequestMix(final long seed, final long first, final long sectors)
    {
        if (sectors < MAX_SECTORS)
        {
            throw new IllegalArgumentException("region smaller than the largest request: sectors=" + sectors);
        }
        this.seed = seed;
        this.first = first;
        this.sectors = sectors;
    }

    /** @return the number of sectors request {@code index} covers, 1 to {@link #MAX_SECTORS}. */
    public int count(final long index)
    {
        final long h = Mix.mix(seed, index);
        // half the requests are a power of two (what file systems issue), half any length
        return (h & 1) == 0 ? 1 << (int)((h >>> 1) % 9) : 1 + (int)((h >>> 8) % MAX_SECTORS);
    }

    /** @return the first sector of request {@code index}. */
    public long sector(final long index)
    {
        return first + Long.remainderUnsigned(Mix.mix(seed + 1, index), sectors - count(index) + 1);
    }

    /** @return true if request {@code index} is a write (about half are). */
    public boolean write(final long index)
    {
        return (Mix.mix(seed + 2, index) & 1) == 0;
    }

    /** @return the queue depth of the batch request {@code index} is in, 1 to {@link #MAX_DEPTH}. */
    public int depth(final long index)
    {
        return 1 + (int)Long.remainderUnsigned(Mix.mix(seed + 3, index / BATCH), MAX_DEPTH);
    }
}
