package io.jvirtio.bus.event;

/**
 * Spin, then yield, then block: {@code spins} empty checks each followed by a {@link Thread#onSpinWait()} hint, then
 * {@code yields} each followed by {@link Thread#yield()}, then block until an eventfd is signalled.
 * <p>
 * This is the adaptive shape that makes notification cheap on a machine with few cores (QEMU's aio poll, vhost
 * busy-poll, the 128 spins of JBoss's executor: work that arrives within
 * the spin budget is picked up in nanoseconds, and an idle worker gives its core back. Unlike Agrona's
 * {@code BackoffIdleStrategy} there is no park period: the last phase blocks until a signal, not for a time.
 * <p>
 * Thread safety: immutable; an instance may be shared by any number of pollers.
 */
public final class BackoffIdleStrategy implements IdleStrategy
{
    /** Spins before yielding, by default: 128, as JBoss's executor and the JDK's LinkedTransferQueue do. */
    public static final int DEFAULT_SPINS = 128;
    /** Yields before blocking, by default. */
    public static final int DEFAULT_YIELDS = 16;

    private final int spins;
    private final int yieldsEnd;

    /** A strategy with {@link #DEFAULT_SPINS} and {@link #DEFAULT_YIELDS}. */
    public BackoffIdleStrategy()
    {
        this(DEFAULT_SPINS, DEFAULT_YIELDS);
    }

    /**
     * @param spins  empty checks followed by a spin-wait hint, from 0.
     * @param yields empty checks followed by a yield after the spins, from 0.
     * @throws IllegalArgumentException if either is negative, or their sum passes {@link Integer#MAX_VALUE}.
     */
    public BackoffIdleStrategy(final int spins, final int yields)
    {
        if (spins < 0 || yields < 0 || spins > Integer.MAX_VALUE - yields)
        {
            throw new IllegalArgumentException("spin and yield counts must be non-negative and sum to an int: spins=" +
                spins + ", yields=" + yields);
        }
        this.spins = spins;
        this.yieldsEnd = spins + yields;
    }

    @Override
    public boolean idle(final int idleCount)
    {
        if (idleCount < spins)
        {
            Thread.onSpinWait();
            return false;
        }
        if (idleCount < yieldsEnd)
        {
            Thread.yield();
            return false;
        }
        return true;
    }

    /** @return the spin count. */
    public int spins()
    {
        return spins;
    }

    /** @return the yield count. */
    public int yields()
    {
        return yieldsEnd - spins;
    }

    @Override
    public String toString()
    {
        return "BackoffIdleStrategy{spins=" + spins + ", yields=" + yields() + "}";
    }
}
