package io.jvirtio.virtio.transport;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.virtio.DeviceContext;
import io.jvirtio.virtio.VirtioInterrupt;
import io.jvirtio.virtio.queue.VirtQueue;

import java.util.Arrays;

/**
 * The {@link DeviceContext} of one activation: copies of what was enabled at DRIVER_OK. Transports build it; tests
 * that activate a device without a transport build it with {@link #allEnabled}.
 * <p>
 * Thread safety: immutable after construction; any thread.
 */
public final class ActiveContext implements DeviceContext
{
    private final long features;
    private final GuestMemory memory;
    private final VirtQueue[] queues;
    private final boolean[] enabled;
    private final EventFd[] kicks;
    private final VirtioInterrupt interrupt;

    /**
     * @param features  the negotiated features.
     * @param memory    guest RAM.
     * @param queues    the device's queues.
     * @param enabled   which of them the driver enabled.
     * @param kicks     each queue's kick eventfd.
     * @param interrupt the interrupt to notify through.
     */
    public ActiveContext(
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

    /** @return a context in which every one of {@code queues} is enabled. */
    public static ActiveContext allEnabled(
        final long features,
        final GuestMemory memory,
        final VirtQueue[] queues,
        final EventFd[] kicks,
        final VirtioInterrupt interrupt)
    {
        final boolean[] enabled = new boolean[queues.length];
        Arrays.fill(enabled, true);
        return new ActiveContext(features, memory, queues, enabled, kicks, interrupt);
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
        return index >= 0 && index < enabled.length && enabled[index];
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
