package io.jvirtio.blk;

import io.jvirtio.blk.backend.BlockBackend;
import io.jvirtio.virtio.DeviceContext;
import io.jvirtio.virtio.DeviceHost;
import io.jvirtio.virtio.VirtioDevice;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.worker.DeviceWorker;

/**
 * The virtio-blk device, virtio-v1.2 §5.2 (device ID 2), over a {@link BlockBackend}: the control plane. It offers
 * SIZE_MAX, SEG_MAX, BLK_SIZE, TOPOLOGY, FLUSH, CONFIG_WCE, DISCARD, WRITE_ZEROES, RO (when the backend is read-only),
 * MQ (with more than one queue), EVENT_IDX and INDIRECT_DESC; GEOMETRY and GET_LIFETIME are not offered. At
 * DRIVER_OK it starts one {@link DeviceWorker} per enabled queue, each with its own data plane; {@link #reset()}
 * stops them all before it returns.
 * <p>
 * What the device does with each request, and its policies where the spec leaves a choice, are on the data plane
 * (see the package documentation): content errors become IOERR or UNSUPP, broken framing completes the chain with
 * used len 0, a broken ring asks the transport for NEEDS_RESET. Everything is counted in {@link #counters()}.
 * <p>
 * Thread safety: the {@link VirtioDevice} methods on the transport's vCPU thread, serialised by it; {@link #counters()}
 * from any thread. The data plane reads {@code writeback} through a volatile field.
 */
public final class BlockDevice implements VirtioDevice
{
    private static final int GEOMETRY_HEADS = 16;
    private static final int GEOMETRY_SECTORS = 63;

    private final BlockBackend backend;
    private final BlockDeviceConfig config;
    private final BlockCounters counters = new BlockCounters();
    private final long offered;
    private final byte[] configSpace = new byte[BlockConfigLayout.LENGTH];
    private DeviceHost host;
    /** Written on the control thread; read there and by {@link #workerErrors()} from any thread. */
    private volatile DeviceWorker[] workers = new DeviceWorker[0];
    private long acceptedFeatures;
    private volatile boolean writeback;

    /**
     * @param backend where the sectors live; the device does not close it.
     * @param config  how the device presents itself.
     */
    public BlockDevice(final BlockBackend backend, final BlockDeviceConfig config)
    {
        this.backend = backend;
        this.config = config;
        this.writeback = config.writeback();
        long features = bit(VirtioBlk.VIRTIO_BLK_F_SIZE_MAX) | bit(VirtioBlk.VIRTIO_BLK_F_SEG_MAX)
            | bit(VirtioBlk.VIRTIO_BLK_F_GEOMETRY) | bit(VirtioBlk.VIRTIO_BLK_F_BLK_SIZE)
            | bit(VirtioBlk.VIRTIO_BLK_F_TOPOLOGY)
            | bit(VirtioBlk.VIRTIO_BLK_F_FLUSH) | bit(VirtioBlk.VIRTIO_BLK_F_CONFIG_WCE)
            | bit(VirtioBlk.VIRTIO_BLK_F_DISCARD) | bit(VirtioBlk.VIRTIO_BLK_F_WRITE_ZEROES)
            | bit(VirtioFeatures.VIRTIO_F_EVENT_IDX) | bit(VirtioFeatures.VIRTIO_F_INDIRECT_DESC);
        if (backend.isReadOnly())
        {
            features |= bit(VirtioBlk.VIRTIO_BLK_F_RO);
        }
        if (config.numQueues() > 1)
        {
            features |= bit(VirtioBlk.VIRTIO_BLK_F_MQ);
        }
        this.offered = features;
        buildConfigSpace();
    }

    private static long bit(final int bit)
    {
        return 1L << bit;
    }

    private void buildConfigSpace()
    {
        put(BlockConfigLayout.CAPACITY_OFFSET, Long.BYTES, backend.capacity());
        put(BlockConfigLayout.SIZE_MAX_OFFSET, Integer.BYTES, config.sizeMax());
        put(BlockConfigLayout.SEG_MAX_OFFSET, Integer.BYTES, config.segMax());
        // a legacy CHS geometry for tools that still ask (HDIO_GETGEO): the conventional 16 heads and 63 sectors per
        // track, and as many cylinders as fit, 2 to 16383 as a PC BIOS would translate (§5.2.4 leaves the values to
        // the device)
        final long cylinders = Math.clamp(backend.capacity() / (GEOMETRY_HEADS * GEOMETRY_SECTORS), 2, 16383);
        put(BlockConfigLayout.GEOMETRY_CYLINDERS_OFFSET, Short.BYTES, cylinders);
        put(BlockConfigLayout.GEOMETRY_HEADS_OFFSET, Byte.BYTES, GEOMETRY_HEADS);
        put(BlockConfigLayout.GEOMETRY_SECTORS_OFFSET, Byte.BYTES, GEOMETRY_SECTORS);
        put(BlockConfigLayout.BLK_SIZE_OFFSET, Integer.BYTES, config.blkSize());
        // topology: one logical block per physical block, no offset, minimum I/O one block, no optimal size
        put(BlockConfigLayout.MIN_IO_SIZE_OFFSET, Short.BYTES, 1);
        put(BlockConfigLayout.NUM_QUEUES_OFFSET, Short.BYTES, config.numQueues());
        put(BlockConfigLayout.MAX_DISCARD_SECTORS_OFFSET, Integer.BYTES, config.maxDiscardSectors());
        put(BlockConfigLayout.MAX_DISCARD_SEG_OFFSET, Integer.BYTES, config.maxDiscardSeg());
        put(BlockConfigLayout.DISCARD_SECTOR_ALIGNMENT_OFFSET, Integer.BYTES, config.discardSectorAlignment());
        put(BlockConfigLayout.MAX_WRITE_ZEROES_SECTORS_OFFSET, Integer.BYTES, config.maxWriteZeroesSectors());
        put(BlockConfigLayout.MAX_WRITE_ZEROES_SEG_OFFSET, Integer.BYTES, config.maxWriteZeroesSeg());
        put(BlockConfigLayout.WRITE_ZEROES_MAY_UNMAP_OFFSET, Byte.BYTES, config.writeZeroesMayUnmap() ? 1 : 0);
        // unused0 and unused1 stay zero (§5.2.4)
    }

    private void put(final int offset, final int size, final long value)
    {
        for (int i = 0; i < size; i++)
        {
            configSpace[offset + i] = (byte)(value >>> (8 * i));
        }
    }

    /** @return the configuration this device was built with. */
    public BlockDeviceConfig config()
    {
        return config;
    }

    /** @return the backend. */
    public BlockBackend backend()
    {
        return backend;
    }

    /** @return the device's counters. */
    public BlockCounters counters()
    {
        return counters;
    }

    /** @return the current {@code writeback} field: true for a writeback cache, false for writethrough. */
    public boolean writebackEnabled()
    {
        return writeback;
    }

    @Override
    public int deviceId()
    {
        return VirtioBlk.DEVICE_ID;
    }

    @Override
    public long deviceFeatures()
    {
        return offered;
    }

    /**
     * Accepts any subset of the offer. §5.2.5: with CONFIG_WCE accepted but not FLUSH, {@code writeback} starts at 0
     * (the data plane also treats every write as writethrough whenever FLUSH is not negotiated).
     */
    @Override
    public String checkFeatures(final long driverFeatures)
    {
        acceptedFeatures = driverFeatures;
        if ((driverFeatures & bit(VirtioBlk.VIRTIO_BLK_F_CONFIG_WCE)) != 0
            && (driverFeatures & bit(VirtioBlk.VIRTIO_BLK_F_FLUSH)) == 0)
        {
            writeback = false;
        }
        return null;
    }

    @Override
    public int queueCount()
    {
        return config.numQueues();
    }

    @Override
    public int queueMaxSize(final int queueIndex)
    {
        return config.queueSize();
    }

    @Override
    public int configSize()
    {
        return BlockConfigLayout.LENGTH;
    }

    @Override
    public long readConfig(final int offset, final int size)
    {
        long value = 0;
        // bound: size <= 8 bytes
        for (int i = size - 1; i >= 0; i--)
        {
            final int at = offset + i;
            final int b = at == BlockConfigLayout.WRITEBACK_OFFSET ? (writeback ? 1 : 0) : configSpace[at] & 0xFF;
            value = value << 8 | b;
        }
        return value;
    }

    /**
     * Only {@code writeback} is writable, with one-byte writes of 0 or 1, and only once CONFIG_WCE was accepted
     * (§5.2.5: "the driver MAY switch to writethrough or writeback mode by writing respectively 0 and 1"); every other
     * write is ignored and counted.
     */
    @Override
    public void writeConfig(final int offset, final int size, final long value)
    {
        if (offset == BlockConfigLayout.WRITEBACK_OFFSET && size == Byte.BYTES && (value == 0 || value == 1)
            && (acceptedFeatures & bit(VirtioBlk.VIRTIO_BLK_F_CONFIG_WCE)) != 0)
        {
            writeback = value == 1;
            return;
        }
        counters.increment(BlockCounter.CONFIG_WRITES_IGNORED);
    }

    @Override
    public void attach(final DeviceHost deviceHost)
    {
        this.host = deviceHost;
    }

    @Override
    public void activate(final DeviceContext context)
    {
        stopWorkers();
        final long features = context.features();
        final int queues = Math.min(context.queueCount(), config.numQueues());
        final DeviceWorker[] started = new DeviceWorker[queues];
        for (int i = 0; i < queues; i++)
        {
            if (!context.isQueueEnabled(i))
            {
                continue;
            }
            final BlockQueueHandler handler = new BlockQueueHandler(
                this, backend, counters, context.queue(i), context.memory(), context.interrupt(), i, features);
            final DeviceWorker worker = new DeviceWorker("virtio-blk-q" + i, config.idle(), config.budget(), handler);
            worker.addQueue(i, context.kick(i));
            started[i] = worker;
        }
        workers = started;
        for (final DeviceWorker worker : started)
        {
            if (worker != null)
            {
                worker.start();
            }
        }
    }

    @Override
    public void reset()
    {
        stopWorkers();
        acceptedFeatures = 0;
        // §5.2.5 / reset: a fresh driver sees the initial writeback mode again
        writeback = config.writeback();
    }

    private void stopWorkers()
    {
        final DeviceWorker[] running = workers;
        workers = new DeviceWorker[0];
        for (final DeviceWorker worker : running)
        {
            if (worker != null)
            {
                worker.stop();
            }
        }
    }

    /** @return handler exceptions the current workers caught (a device bug if not 0); any thread. */
    public long workerErrors()
    {
        long errors = 0;
        for (final DeviceWorker worker : workers)
        {
            if (worker != null)
            {
                errors += worker.handlerErrors();
            }
        }
        return errors;
    }

    /** Called on a worker thread when queue {@code queueIndex} broke a ring rule. */
    void queueBroken(final int queueIndex)
    {
        final DeviceHost h = host;
        if (h != null)
        {
            h.needsReset("virtqueue broken: queue=" + queueIndex);
        }
    }
}
