package io.jvirtio.net;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.net.driver.NetQueuePairDriver;
import io.jvirtio.virtio.DeviceContext;
import io.jvirtio.virtio.transport.ActiveContext;
import io.jvirtio.virtio.DeviceHost;
import io.jvirtio.virtio.VirtioInterrupt;
import io.jvirtio.virtio.queue.QueueBrokenListener;
import io.jvirtio.virtio.queue.QueueConfigStatus;
import io.jvirtio.virtio.queue.SplitQueue;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.queue.SplitQueueDriver;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A guest for the virtio-net tests, in place of a transport: guest RAM, one split ring per queue with its device side
 * (activated as at DRIVER_OK) and its driver side, a kick eventfd per queue, an interrupt that records what it was
 * asked to signal, and a host that turns configChanged into a config interrupt as a transport would.
 */
final class NetRig implements AutoCloseable
{
    static final long RAM = 64L << 20;

    final GuestMemory memory = GuestMemory.anonymous(RAM);
    final long features;
    final int queueSize;
    final SplitQueue[] queues;
    final SplitQueueConfig[] configs;
    final SplitQueueDriver[] drivers;
    final EventFd[] kicks;
    final RecordingInterrupt interrupt = new RecordingInterrupt();
    final RecordingHost host = new RecordingHost(interrupt);
    private long next = 0x1000;

    /**
     * @param queueCount queues, all enabled.
     * @param queueSize  Queue Size of each.
     * @param features   the negotiated features (ring features included).
     */
    NetRig(final int queueCount, final int queueSize, final long features)
    {
        this(queueCount, queueSize, features, false);
    }

    /**
     * @param sharedKick one kick eventfd for every queue, as virtio-mmio's wildcard notify gives.
     */
    NetRig(final int queueCount, final int queueSize, final long features, final boolean sharedKick)
    {
        this.features = features;
        this.queueSize = queueSize;
        queues = new SplitQueue[queueCount];
        configs = new SplitQueueConfig[queueCount];
        drivers = new SplitQueueDriver[queueCount];
        kicks = new EventFd[queueCount];
        final boolean eventIdx = (features & (1L << 29)) != 0;
        final boolean indirect = (features & (1L << 28)) != 0;
        for (int q = 0; q < queueCount; q++)
        {
            final long base = alloc(SplitQueueConfig.contiguousLength(queueSize), 4096);
            final SplitQueueConfig config = SplitQueueConfig.contiguous(base, queueSize, eventIdx, indirect);
            configs[q] = config;
            drivers[q] = new SplitQueueDriver(memory, config);
            queues[q] = new SplitQueue(memory, queueSize, QueueBrokenListener.NONE);
            assertEquals(QueueConfigStatus.VALID, queues[q].activate(config));
            kicks[q] = sharedKick && q > 0 ? kicks[0] : EventFds.jvm();
        }
    }

    /** @return guest RAM for the test's own buffers, zeroed. */
    long alloc(final long bytes, final long align)
    {
        final long start = (next + align - 1) & -align;
        next = start + bytes;
        if (next > RAM)
        {
            throw new IllegalStateException("test guest ram exhausted: next=" + next);
        }
        memory.fill(start, bytes, (byte)0);
        return start;
    }

    /** @return the address of a fresh copy of {@code bytes} in guest RAM. */
    long put(final byte[] bytes)
    {
        final long gpa = alloc(Math.max(1, bytes.length), 8);
        memory.copyIn(gpa, bytes, 0, bytes.length);
        return gpa;
    }

    /** @return a guest driver for pair {@code pair} with its buffers in fresh guest RAM. */
    NetQueuePairDriver pairDriver(final int pair, final int rxBufferSize, final int txCapacity, final boolean mrg)
    {
        final SplitQueueDriver rx = drivers[2 * pair];
        final SplitQueueDriver tx = drivers[2 * pair + 1];
        final long area = alloc(NetQueuePairDriver.areaLength(rx.size(), tx.size(), rxBufferSize, txCapacity), 64);
        return new NetQueuePairDriver(memory, rx, tx, area, rxBufferSize, txCapacity, mrg);
    }

    DeviceContext context()
    {
        return ActiveContext.allEnabled(features, memory, queues, kicks, interrupt);
    }

    @Override
    public void close()
    {
        for (int q = 0; q < kicks.length; q++)
        {
            if (q == 0 || kicks[q] != kicks[0])
            {
                kicks[q].close();
            }
        }
        memory.close();
    }

    /** Records every notification it is asked to send. */
    static final class RecordingInterrupt implements VirtioInterrupt
    {
        final AtomicLongArray queueSignals = new AtomicLongArray(256);
        final AtomicLong configSignals = new AtomicLong();

        @Override
        public void signalQueue(final int queueIndex)
        {
            queueSignals.getAndIncrement(queueIndex);
        }

        @Override
        public void signalConfig()
        {
            configSignals.getAndIncrement();
        }
    }

    /** A transport's side of DeviceHost: a config change becomes a config interrupt. */
    static final class RecordingHost implements DeviceHost
    {
        final RecordingInterrupt interrupt;
        final AtomicLong needsReset = new AtomicLong();

        RecordingHost(final RecordingInterrupt interrupt)
        {
            this.interrupt = interrupt;
        }

        @Override
        public void configChanged()
        {
            interrupt.signalConfig();
        }

        @Override
        public void needsReset(final String reason)
        {
            needsReset.getAndIncrement();
        }
    }
}
