package io.jvirtio.bus.event;

/**
 * Never blocks: every idle step is a {@link Thread#onSpinWait()} hint. The lowest wake-up latency (about 70 ns on
 * the 2-vCPU reference VM) at the price of a whole core; on a 2-core machine, use it only where a core is free.
 * <p>
 * Thread safety: immutable; one {@link #INSTANCE} serves every poller.
 */
public final class BusySpinIdleStrategy implements IdleStrategy
{
    /** The one instance. */
    public static final BusySpinIdleStrategy INSTANCE = new BusySpinIdleStrategy();

    private BusySpinIdleStrategy()
    {
    }

    /** @return false, after a spin-wait hint. */
    @Override
    public boolean idle(final int idleCount)
    {
        Thread.onSpinWait();
        return false;
    }

    @Override
    public String toString()
    {
        return "BusySpinIdleStrategy";
    }
}
