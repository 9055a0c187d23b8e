package io.jvirtio.samples.soak;

/**
 * What came back on one queue: which sequence numbers arrived (a bitmap, one bit per frame sent), how many arrived a
 * second time, and how many arrived after a later one (reordered within the queue).
 * <p>
 * Thread safety: the guest thread only.
 */
public final class SequenceTracker
{
    private final long[] seen;
    private long highest = -1;
    private long distinct;
    private long duplicated;
    private long reordered;

    /** @param capacity the most sequence numbers this queue can be sent (0 to capacity - 1). */
    public SequenceTracker(final long capacity)
    {
        seen = new long[(int)((capacity + Long.SIZE - 1) / Long.SIZE)];
    }

    /**
     * Records an intact frame.
     *
     * @param sequence its sequence number; one never sent counts as a duplicate (it cannot be new).
     */
    public void arrived(final long sequence)
    {
        if (sequence < 0 || sequence >= (long)seen.length * Long.SIZE)
        {
            duplicated++;
            return;
        }
        final int word = (int)(sequence >>> 6);
        final long bit = 1L << (sequence & 63);
        if ((seen[word] & bit) != 0)
        {
            duplicated++;
            return;
        }
        seen[word] |= bit;
        distinct++;
        if (sequence < highest)
        {
            reordered++;
        }
        else
        {
            highest = sequence;
        }
    }

    /** @return sequence numbers that arrived at least once. */
    public long distinct()
    {
        return distinct;
    }

    /** @return arrivals of a sequence number that had arrived before (or was never sent). */
    public long duplicated()
    {
        return duplicated;
    }

    /** @return arrivals after a frame sent later on the same queue. */
    public long reordered()
    {
        return reordered;
    }
}
