package io.jvirtio.blk;

import io.jvirtio.blk.backend.BlockBackend;
import io.jvirtio.blk.driver.BlockDriver;
import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;
import io.jvirtio.virtio.DeviceHost;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.VirtioInterrupt;
import io.jvirtio.virtio.transport.ActiveContext;
import io.jvirtio.virtio.queue.QueueBrokenListener;
import io.jvirtio.virtio.queue.QueueConfigStatus;
import io.jvirtio.virtio.queue.SplitQueue;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.queue.SplitQueueDriver;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A guest with a {@link BlockDevice} activated on split queues, as a transport would hand it over at DRIVER_OK, and
 * the guest side of every queue ({@link BlockDriver} over {@link SplitQueueDriver}).
 * <p>
 * Guest-physical map, one 4 MiB RAM region: rings of queue q at {@code 0x1000 + q * 0x1_0000}; driver slots of queue q
 * at {@code 0x10_0000 + q * 0x2000}; data buffers from {@link #DATA} (4 KiB apart); indirect tables of queue q at
 * {@code 0x30_0000 + q * 0x4_0000}.
 */
final class BlockDeviceFixture implements AutoCloseable
{
    static final long MIB = 1L << 20;
    static final long DATA = 2 * MIB;
    static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);

    final GuestMemory memory;
    final BlockBackend backend;
    final BlockDevice device;
    final SplitQueue[] queues;
    final SplitQueueDriver[] rings;
    final BlockDriver[] drivers;
    final EventFd[] kicks;
    final AtomicIntegerArray interrupts;
    final List<String> needsReset = new CopyOnWriteArrayList<>();
    final long features;

    BlockDeviceFixture(final BlockBackend backend, final BlockDeviceConfig config)
    {
        this(backend, config, ~0L);
    }

    /**
     * @param backend  the disk.
     * @param config   the device configuration.
     * @param accepted mask of the offered features the driver accepts.
     */
    BlockDeviceFixture(final BlockBackend backend, final BlockDeviceConfig config, final long accepted)
    {
        this.backend = backend;
        memory = GuestMemory.of(GuestRegion.anonymous(0, 4 * MIB));
        device = new BlockDevice(backend, config);
        features = (device.deviceFeatures() & accepted) | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1);
        final int n = config.numQueues();
        queues = new SplitQueue[n];
        rings = new SplitQueueDriver[n];
        drivers = new BlockDriver[n];
        kicks = new EventFd[n];
        interrupts = new AtomicIntegerArray(n);
        final boolean eventIdx = VirtioFeatures.has(features, VirtioFeatures.VIRTIO_F_EVENT_IDX);
        final boolean indirect = VirtioFeatures.has(features, VirtioFeatures.VIRTIO_F_INDIRECT_DESC);
        for (int q = 0; q < n; q++)
        {
            final SplitQueueConfig ring = SplitQueueConfig.contiguous(
                0x1000 + q * 0x1_0000L, config.queueSize(), eventIdx, indirect);
            queues[q] = new SplitQueue(memory, config.queueSize(), QueueBrokenListener.NONE);
            assertEquals(QueueConfigStatus.VALID, queues[q].activate(ring));
            // 16-entry indirect tables, one per head, from 3 MiB (only when indirect is negotiated)
            rings[q] = indirect
                ? new SplitQueueDriver(memory, ring, 0, 3 * MIB + q * 0x4_0000L, 16)
                : new SplitQueueDriver(memory, ring);
            drivers[q] = new BlockDriver(memory, rings[q], MIB + q * 0x2000L);
            kicks[q] = EventFds.jvm();
        }
        device.attach(new DeviceHost()
        {
            @Override
            public void configChanged()
            {
            }

            @Override
            public void needsReset(final String reason)
            {
                needsReset.add(reason);
            }
        });
        assertEquals(null, device.checkFeatures(features));
        device.activate(ActiveContext.allEnabled(features, memory, queues, kicks, new VirtioInterrupt()
        {
            @Override
            public void signalQueue(final int queueIndex)
            {
                interrupts.incrementAndGet(queueIndex);
            }

            @Override
            public void signalConfig()
            {
            }
        }));
    }

    /** @return the guest-physical address of data buffer {@code i}. */
    static long data(final int i)
    {
        return DATA + i * 0x1000L;
    }

    /** Publishes and kicks queue {@code q} if the device wants it. */
    void publish(final int q)
    {
        if (drivers[q].publish())
        {
            kicks[q].signal();
        }
    }

    /** Waits for the next completion on queue {@code q} through the block driver. @return its tag. */
    int awaitCompletion(final int q)
    {
        final long deadline = System.nanoTime() + TIMEOUT_NANOS;
        while (true)
        {
            final int tag = drivers[q].reap();
            if (tag != BlockDriver.NOTHING_COMPLETED)
            {
                return tag;
            }
            if (System.nanoTime() - deadline > 0)
            {
                fail("no completion on queue " + q + " (failure timeout)");
            }
            Thread.onSpinWait();
        }
    }

    /**
     * Submits one request through the block driver on queue 0 and waits for it.
     *
     * @return the status byte.
     */
    int run(final int type, final long sector, final long data, final long length)
    {
        final int tag = drivers[0].submit(type, sector, data, length);
        publish(0);
        assertEquals(tag, awaitCompletion(0));
        return drivers[0].status();
    }

    /**
     * Posts a raw chain on queue 0, kicks, and waits until the device used it.
     *
     * @return the used length.
     */
    long runRaw(final long[] addrs, final long[] lens, final int readable, final int writable)
    {
        return runRaw(addrs, lens, readable, writable, false);
    }

    /**
     * Posts a raw chain on queue 0, directly or through an indirect table, kicks, and waits until the device used it.
     *
     * @return the used length.
     */
    long runRaw(final long[] addrs, final long[] lens, final int readable, final int writable, final boolean indirect)
    {
        final SplitQueueDriver ring = rings[0];
        final int head = indirect
            ? ring.postIndirect(addrs, lens, readable, writable)
            : ring.post(addrs, lens, readable, writable);
        ring.publish();
        if (ring.needsKick())
        {
            kicks[0].signal();
        }
        final long deadline = System.nanoTime() + TIMEOUT_NANOS;
        while (true)
        {
            final int used = ring.reap();
            if (used != SplitQueueDriver.NOTHING_USED)
            {
                assertEquals(head, used);
                return ring.reapedLength();
            }
            if (System.nanoTime() - deadline > 0)
            {
                fail("raw chain never used (failure timeout)");
            }
            Thread.onSpinWait();
        }
    }

    /** Writes a request header at {@code gpa}. */
    void header(final long gpa, final int type, final long sector)
    {
        memory.putIntLE(gpa, type);
        memory.putIntLE(gpa + 4, 0);
        memory.putLongLE(gpa + 8, sector);
    }

    long counter(final BlockCounter counter)
    {
        return device.counters().get(counter);
    }

    @Override
    public void close()
    {
        device.reset();
        for (final EventFd kick : kicks)
        {
            kick.close();
        }
        memory.close();
    }
}
