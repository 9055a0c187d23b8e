package io.jvirtio.virtio.transport;

import io.jvirtio.bus.event.BackoffIdleStrategy;
import io.jvirtio.virtio.DeviceContext;
import io.jvirtio.virtio.DeviceHost;
import io.jvirtio.virtio.VirtioDevice;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.queue.DescriptorChain;
import io.jvirtio.virtio.queue.PopStatus;
import io.jvirtio.virtio.queue.VirtQueue;
import io.jvirtio.virtio.worker.DeviceWorker;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A test device: each of its two queues, once enabled, copies each chain's readable bytes into its writable bytes,
 * both served by one {@link DeviceWorker}. Its 8-byte config space holds a read-only 32-bit value and a writable one.
 * Feature bit 1 depends on feature bit 0, which {@link #checkFeatures} enforces.
 * <p>
 * Thread safety: control methods on the transport's vCPU thread; counters from any thread.
 */
public final class LoopbackDevice implements VirtioDevice
{
    /** The device ID it reports (a value no device type uses, for tests). */
    public static final int DEVICE_ID = 0x3f;
    /** The largest queue size of both queues. */
    public static final int MAX_QUEUE_SIZE = 256;
    /** A device feature with no dependency. */
    public static final int F_BASE = 0;
    /** A device feature that needs {@link #F_BASE}. */
    public static final int F_NEEDS_BASE = 1;
    /** The value at config offset 0. */
    public static final int CONFIG_MAGIC = 0x1234_5678;
    private static final int CONFIG_SIZE = 8;
    private static final int COPY_BYTES = 4096;

    private final byte[] copy = new byte[COPY_BYTES];
    private final AtomicLong chains = new AtomicLong();
    private final AtomicLong activations = new AtomicLong();
    private final AtomicLong resets = new AtomicLong();
    private volatile int configValue;
    private volatile DeviceHost host;
    private volatile DeviceContext context;
    private volatile long activatedFeatures;
    private DeviceWorker worker;
    /** Per queue index: the chain its pops fill (worker-owned). */
    private final DescriptorChain[] chainOf = new DescriptorChain[2];

    @Override
    public int deviceId()
    {
        return DEVICE_ID;
    }

    @Override
    public long deviceFeatures()
    {
        return VirtioFeatures.bit(F_BASE) | VirtioFeatures.bit(F_NEEDS_BASE)
            | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_EVENT_IDX)
            | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_INDIRECT_DESC);
    }

    @Override
    public String checkFeatures(final long driverFeatures)
    {
        if (VirtioFeatures.has(driverFeatures, F_NEEDS_BASE) && !VirtioFeatures.has(driverFeatures, F_BASE))
        {
            return "feature 1 needs feature 0";
        }
        return null;
    }

    @Override
    public int queueCount()
    {
        return 2;
    }

    @Override
    public int queueMaxSize(final int queueIndex)
    {
        return MAX_QUEUE_SIZE;
    }

    @Override
    public int configSize()
    {
        return CONFIG_SIZE;
    }

    @Override
    public long readConfig(final int offset, final int size)
    {
        long value = 0;
        for (int i = size - 1; i >= 0; i--)
        {
            value = (value << 8) | configByte(offset + i);
        }
        return value;
    }

    private int configByte(final int offset)
    {
        final int word = offset < 4 ? CONFIG_MAGIC : configValue;
        return (word >>> ((offset & 3) * 8)) & 0xFF;
    }

    @Override
    public void writeConfig(final int offset, final int size, final long value)
    {
        if (offset == 4 && size == 4)
        {
            configValue = (int)value;
        }
    }

    @Override
    public void attach(final DeviceHost host)
    {
        this.host = host;
    }

    @Override
    public void activate(final DeviceContext context)
    {
        this.context = context;
        activatedFeatures = context.features();
        activations.getAndIncrement();
        DeviceWorker w = null;
        // bound: the device's two queues
        for (int q = 0; q < chainOf.length; q++)
        {
            if (context.isQueueEnabled(q))
            {
                chainOf[q] = new DescriptorChain(context.queue(q).size());
                if (w == null)
                {
                    w = new DeviceWorker("loopback", new BackoffIdleStrategy(), DeviceWorker.DEFAULT_BUDGET,
                        this::process);
                }
                w.addQueue(q, context.kick(q));
            }
        }
        if (w != null)
        {
            worker = w;
            w.start();
        }
    }

    private boolean process(final int queueIndex, final int budget)
    {
        final VirtQueue queue = context.queue(queueIndex);
        final DescriptorChain chain = chainOf[queueIndex];
        int left = budget;
        // bound: at most budget chains per call
        while (left-- > 0 && queue.pop(chain) == PopStatus.CHAIN)
        {
            final int n = (int)Math.min(COPY_BYTES, Math.min(chain.readableBytes(), chain.writableBytes()));
            chain.read(0, copy, 0, n);
            chain.write(0, copy, 0, n);
            queue.complete(chain, n);
            chains.getAndIncrement();
        }
        queue.publish();
        if (queue.needsInterrupt())
        {
            context.interrupt().signalQueue(queueIndex);
        }
        if (left < 0)
        {
            return true;
        }
        return queue.enableNotificationAndRecheck();
    }

    @Override
    public void reset()
    {
        final DeviceWorker w = worker;
        if (w != null)
        {
            w.stop();
            worker = null;
        }
        context = null;
        resets.getAndIncrement();
    }

    /** Tells the transport the config changed, as a device would. */
    public void changeConfig()
    {
        host.configChanged();
    }

    /** Reports an unrecoverable error, as a device would. */
    public void fail(final String reason)
    {
        host.needsReset(reason);
    }

    /** @return chains copied since creation. */
    public long chains()
    {
        return chains.get();
    }

    /** @return activations since creation. */
    public long activations()
    {
        return activations.get();
    }

    /** @return resets since creation. */
    public long resets()
    {
        return resets.get();
    }

    /** @return the features of the latest activation. */
    public long activatedFeatures()
    {
        return activatedFeatures;
    }

    /** @return the context of the current activation, or null when not active. */
    public DeviceContext context()
    {
        return context;
    }

    /** @return the current worker, or null when not active. */
    public DeviceWorker worker()
    {
        return worker;
    }
}
