package io.jvirtio.net;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.event.IdleStrategy;
import io.jvirtio.net.backend.NetBackend;
import io.jvirtio.virtio.DeviceContext;
import io.jvirtio.virtio.DeviceHost;
import io.jvirtio.virtio.VirtioDevice;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.queue.VirtQueue;
import io.jvirtio.virtio.worker.DeviceWorker;
import io.jvirtio.virtio.worker.QueueHandler;

import java.util.concurrent.atomic.AtomicInteger;

import static io.jvirtio.net.NetFeatures.bit;

/**
 * The virtio-net device, device ID 1 (virtio-v1.2 §5.1 "Network Device").
 * <p>
 * <b>Offer.</b> MAC, STATUS, MTU, MRG_RXBUF, CSUM, GUEST_CSUM, HOST_TSO4/6, GUEST_TSO4/6, CTRL_VQ, CTRL_RX, MQ, and the
 * ring features EVENT_IDX and INDIRECT_DESC. Checksum and GSO metadata are carried through in the header untouched:
 * the device neither segments nor checksums. The dependencies of §5.1.3.1 are checked at FEATURES_OK
 * ({@link NetFeatures#dependencyViolation}).
 * <p>
 * <b>Queues</b> (§5.1.2): receiveqN = 2(N-1), transmitqN = 2(N-1)+1 for N = 1 to max_virtqueue_pairs (1 unless MQ is
 * negotiated), then controlq = 2N with CTRL_VQ. {@link #queueCount()} reports the largest layout.
 * <p>
 * <b>Threads.</b> One {@link DeviceWorker} per queue pair owns that pair's RX and TX queues ({@link NetQueuePair});
 * the first also owns the control queue. When the transport gives several pairs one kick eventfd (virtio-mmio's
 * wildcard notify), one worker services every pair instead, since a signal wakes only the waiter that consumes it.
 * Each worker also waits on a wake-up eventfd per pair that the backend signals when frames arrive on another
 * thread. {@link #reset()} stops every worker before it returns.
 * <p>
 * Thread safety: the {@link VirtioDevice} methods on the transport's vCPU thread, serialised by the transport;
 * {@link #setLinkUp(boolean)} and every reader (counters, filter, link, active pairs) from any thread.
 */
public final class NetDevice implements VirtioDevice
{
    /** virtio-v1.2 §5: the network card. */
    public static final int DEVICE_ID = 1;
    /** The features this device offers. */
    public static final long OFFERED_FEATURES = bit(NetFeatures.VIRTIO_NET_F_CSUM)
        | bit(NetFeatures.VIRTIO_NET_F_GUEST_CSUM) | bit(NetFeatures.VIRTIO_NET_F_MTU)
        | bit(NetFeatures.VIRTIO_NET_F_MAC) | bit(NetFeatures.VIRTIO_NET_F_GUEST_TSO4)
        | bit(NetFeatures.VIRTIO_NET_F_GUEST_TSO6) | bit(NetFeatures.VIRTIO_NET_F_HOST_TSO4)
        | bit(NetFeatures.VIRTIO_NET_F_HOST_TSO6) | bit(NetFeatures.VIRTIO_NET_F_MRG_RXBUF)
        | bit(NetFeatures.VIRTIO_NET_F_STATUS) | bit(NetFeatures.VIRTIO_NET_F_CTRL_VQ)
        | bit(NetFeatures.VIRTIO_NET_F_CTRL_RX) | bit(NetFeatures.VIRTIO_NET_F_MQ)
        | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_EVENT_IDX)
        | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_INDIRECT_DESC);

    private final NetConfig config;
    private final NetBackend backend;
    private final IdleStrategy idle;
    private final int budget;
    private final NetCounters counters = new NetCounters();
    private final RxFilter filter = new RxFilter();
    private final AtomicInteger activePairs = new AtomicInteger(1);
    private volatile boolean linkUp;
    private volatile DeviceHost host;
    private DeviceWorker[] workers = new DeviceWorker[0];
    private EventFd[] wakeups = new EventFd[0];

    /**
     * @param config  MAC, pairs, MTU, queue size.
     * @param backend where frames go and come from.
     * @param idle    how each worker waits for kicks.
     */
    public NetDevice(final NetConfig config, final NetBackend backend, final IdleStrategy idle)
    {
        this(config, backend, idle, DeviceWorker.DEFAULT_BUDGET);
    }

    /**
     * @param config  MAC, pairs, MTU, queue size.
     * @param backend where frames go and come from.
     * @param idle    how each worker waits for kicks.
     * @param budget  chains per queue per worker wake-up.
     */
    public NetDevice(final NetConfig config, final NetBackend backend, final IdleStrategy idle, final int budget)
    {
        this.config = config;
        this.backend = backend;
        this.idle = idle;
        this.budget = budget;
        this.linkUp = config.linkUp();
    }

    @Override
    public int deviceId()
    {
        return DEVICE_ID;
    }

    @Override
    public long deviceFeatures()
    {
        return OFFERED_FEATURES;
    }

    @Override
    public String checkFeatures(final long driverFeatures)
    {
        if ((driverFeatures & ~(OFFERED_FEATURES | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1))) != 0)
        {
            return "features not offered";
        }
        return NetFeatures.dependencyViolation(driverFeatures);
    }

    @Override
    public int queueCount()
    {
        return 2 * config.maxQueuePairs() + 1;
    }

    @Override
    public int queueMaxSize(final int queueIndex)
    {
        return config.queueSize();
    }

    @Override
    public int configSize()
    {
        return NetConfigLayout.LENGTH;
    }

    @Override
    public long readConfig(final int offset, final int size)
    {
        long value = 0;
        // bound: at most 8 bytes
        for (int i = 0; i < size; i++)
        {
            value |= (long)configByte(offset + i) << (8 * i);
        }
        return value;
    }

    private int configByte(final int offset)
    {
        if (offset < NetConfigLayout.STATUS_OFFSET)
        {
            return config.macOctet(offset - NetConfigLayout.MAC_OFFSET);
        }
        final int field;
        if (offset < NetConfigLayout.MAX_VIRTQUEUE_PAIRS_OFFSET)
        {
            field = linkUp ? NetConfigLayout.VIRTIO_NET_S_LINK_UP : 0;
        }
        else if (offset < NetConfigLayout.MTU_OFFSET)
        {
            field = config.maxQueuePairs();
        }
        else if (offset < NetConfigLayout.LENGTH)
        {
            field = config.mtu();
        }
        else
        {
            return 0;
        }
        return (offset & 1) == 0 ? field & 0xFF : (field >>> 8) & 0xFF;
    }

    @Override
    public void writeConfig(final int offset, final int size, final long value)
    {
        // §5.1.4: every field here is read-only to the driver
        counters.increment(NetCounter.CONFIG_WRITES_IGNORED);
    }

    @Override
    public void attach(final DeviceHost host)
    {
        this.host = host;
    }

    @Override
    public void activate(final DeviceContext context)
    {
        if (workers.length != 0)
        {
            throw new IllegalStateException("device is already active: pairs=" + workers.length);
        }
        final long features = context.features();
        final int pairs = NetFeatures.has(features, NetFeatures.VIRTIO_NET_F_MQ) ? config.maxQueuePairs() : 1;
        final boolean ctrlVq = NetFeatures.has(features, NetFeatures.VIRTIO_NET_F_CTRL_VQ);
        final int controlIndex = ctrlVq ? 2 * pairs : -1;
        activePairs.set(1);
        filter.reset();
        final ControlQueue control = ctrlVq && enabled(context, controlIndex)
            ? new ControlQueue(context.queue(controlIndex), controlIndex, features, pairs, activePairs, filter,
            counters, context.interrupt(), host)
            : null;
        final NetQueuePair[] handlers = new NetQueuePair[pairs];
        for (int p = 0; p < pairs; p++)
        {
            handlers[p] = new NetQueuePair(p, queueOrNull(context, 2 * p), queueOrNull(context, 2 * p + 1),
                features, config.mtu(), backend, counters, context.interrupt(), activePairs,
                p == 0 ? control : null, p == 0 && control != null ? controlIndex : -1, host);
        }
        final EventFd[] wakes = new EventFd[pairs];
        final boolean shared = pairs > 1 && kicksShared(context, pairs);
        final DeviceWorker[] started = new DeviceWorker[shared ? 1 : pairs];
        if (shared)
        {
            started[0] = new DeviceWorker(workerName(0), idle, budget,
                new SharedKickHandler(handlers, control != null ? controlIndex : -1, queueCount()));
        }
        for (int p = 0; p < pairs; p++)
        {
            final DeviceWorker worker =
                shared ? started[0] : new DeviceWorker(workerName(p), idle, budget, handlers[p]);
            addIfEnabled(worker, context, 2 * p);
            addIfEnabled(worker, context, 2 * p + 1);
            if (p == 0 && control != null)
            {
                worker.addQueue(controlIndex, context.kick(controlIndex));
            }
            wakes[p] = EventFds.jvm();
            worker.addQueue(queueCount() + p, wakes[p]);
            started[shared ? 0 : p] = worker;
        }
        wakeups = wakes;
        workers = started;
        backend.start(pairs, this::framesAvailable);
        for (final DeviceWorker worker : started)
        {
            worker.start();
        }
    }

    private static void addIfEnabled(final DeviceWorker worker, final DeviceContext context, final int index)
    {
        if (enabled(context, index))
        {
            worker.addQueue(index, context.kick(index));
        }
    }

    /**
     * @return true if two pairs' queues share a kick eventfd (virtio-mmio's single wildcard notify): a signal is
     *     consumed by one waiter, so those queues must be serviced by one worker.
     */
    private static boolean kicksShared(final DeviceContext context, final int pairs)
    {
        // bound: at most 64 pairs, so 128 queues compared pairwise, once per activation
        for (int a = 0; a < 2 * pairs; a++)
        {
            for (int b = a + 1; b < 2 * pairs; b++)
            {
                if (a / 2 != b / 2 && enabled(context, a) && enabled(context, b)
                    && context.kick(a) == context.kick(b))
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean enabled(final DeviceContext context, final int index)
    {
        return index >= 0 && index < context.queueCount() && context.isQueueEnabled(index);
    }

    private static VirtQueue queueOrNull(final DeviceContext context, final int index)
    {
        return enabled(context, index) ? context.queue(index) : null;
    }

    private void framesAvailable(final int pair)
    {
        final EventFd[] wakes = wakeups;
        if (pair >= 0 && pair < wakes.length)
        {
            wakes[pair].signal();
        }
    }

    @Override
    public void reset()
    {
        final DeviceWorker[] stopping = workers;
        for (final DeviceWorker worker : stopping)
        {
            worker.stop();
        }
        if (stopping.length != 0)
        {
            backend.stop();
        }
        for (final EventFd wake : wakeups)
        {
            wake.close();
        }
        workers = new DeviceWorker[0];
        wakeups = new EventFd[0];
        activePairs.set(1);
        filter.reset();
    }

    /**
     * Sets the link state; a change sends a configuration change notification through the transport
     * (§5.1.4: {@code status} is VIRTIO_NET_S_LINK_UP).
     *
     * @param up the new state.
     */
    public void setLinkUp(final boolean up)
    {
        if (linkUp == up)
        {
            return;
        }
        linkUp = up;
        counters.increment(NetCounter.CONFIG_CHANGES);
        final DeviceHost h = host;
        if (h != null)
        {
            h.configChanged();
        }
    }

    /** @return the link state. */
    public boolean linkUp()
    {
        return linkUp;
    }

    /** @return the queue pairs the driver uses now (VQ_PAIRS_SET; 1 after reset). */
    public int activeQueuePairs()
    {
        return activePairs.get();
    }

    /** @return the device's counters. */
    public NetCounters counters()
    {
        return counters;
    }

    /** @return the receive filter state the driver set. */
    public RxFilter rxFilter()
    {
        return filter;
    }

    /** @return the configuration the device was built with. */
    public NetConfig config()
    {
        return config;
    }

    /** @return how many workers run (one per queue pair while active, 0 otherwise). */
    public int activeWorkers()
    {
        return workers.length;
    }

    /** @return the name of pair {@code pair}'s worker thread. */
    public static String workerName(final int pair)
    {
        return "virtio-net-pair-" + pair;
    }

    /** @return exceptions pair {@code pair}'s worker caught from the data plane (a device bug if not 0). */
    public long workerErrors(final int pair)
    {
        final DeviceWorker[] w = workers;
        return pair < w.length ? w[pair].handlerErrors() : 0;
    }

    /**
     * Services every pair from one worker when the pairs share a kick eventfd: routes each queue index (and each
     * pair's backend wake-up index) to its pair. Worker-owned; allocates nothing.
     */
    private static final class SharedKickHandler implements QueueHandler
    {
        private final NetQueuePair[] pairs;
        private final int controlIndex;
        private final int wakeBase;

        SharedKickHandler(final NetQueuePair[] pairs, final int controlIndex, final int wakeBase)
        {
            this.pairs = pairs;
            this.controlIndex = controlIndex;
            this.wakeBase = wakeBase;
        }

        @Override
        public boolean process(final int queueIndex, final int budget)
        {
            final int pair;
            if (queueIndex == controlIndex)
            {
                pair = 0;
            }
            else if (queueIndex >= wakeBase)
            {
                pair = queueIndex - wakeBase;
            }
            else
            {
                pair = queueIndex / 2;
            }
            return pairs[pair].process(queueIndex, budget);
        }
    }
}
