package io.jvirtio.virtio.transport;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.virtio.DeviceContext;
import io.jvirtio.virtio.VirtioInterrupt;
import io.jvirtio.virtio.queue.VirtQueue;

/**
 * The {@link DeviceContext} of one activation: copies of what was enabled at DRIVER_OK.
 * <p>
 * Thread safety: immutable after construction; any thread.
 */
final class ActiveContext implements DeviceContext
{
    private final long features;
    private final GuestMemory memory;
    private final VirtQueue[] queues;
    private final boolean[] enabled;
    private final EventFd[] kicks;
    private final VirtioInterrupt interrupt;

    ActiveContext(
        final long features,
        final GuestMemory memory,
        final VirtQueue[] queues,
        final boolean[] enabled,
        final EventFd[] kicks,
        final VirtioInterrupt interrupt)
    {
        this.features = features;
        this.memory = memory;
        this.queues = queues.clone();
        this.enabled = enabled.clone();
        this.kicks = kicks.clone();
        this.interrupt = interrupt;
    }

    @Override
    public long features()
    {
        return features;
    }

    @Override
    public GuestMemory memory()
    {
        return memory;
    }

    @Override
    public int queueCount()
    {
        return queues.length;
    }

    @Override
    public boolean isQueueEnabled(final int index)
    {
        return enabled[index];
    }

    @Override
    public VirtQueue queue(final int index)
    {
        return queues[index];
    }

    @Override
    public EventFd kick(final int index)
    {
        return kicks[index];
    }

    @Override
    public VirtioInterrupt interrupt()
    {
        return interrupt;
    }
}
