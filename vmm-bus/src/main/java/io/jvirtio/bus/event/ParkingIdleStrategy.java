package io.jvirtio.bus.event;

/**
 * Blocks as soon as a check finds nothing: no spinning, no yielding. The cheapest for the CPU and the slowest to
 * wake (a cross-CPU wake-up, about 20 us on the 2-vCPU reference VM); right for workers that are mostly idle.
 * <p>
 * Thread safety: immutable; one {@link #INSTANCE} serves every poller.
 */
public final class ParkingIdleStrategy implements IdleStrategy
{
    /** The one instance. */
    public static final ParkingIdleStrategy INSTANCE = new ParkingIdleStrategy();

    private ParkingIdleStrategy()
    {
    }

    /** @return true: block now. */
    @Override
    public boolean idle(final int idleCount)
    {
        return true;
    }

    @Override
    public String toString()
    {
        return "ParkingIdleStrategy";
    }
}
