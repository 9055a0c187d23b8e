package io.jvirtio.blk;

import io.jvirtio.bus.event.BackoffIdleStrategy;
import io.jvirtio.bus.event.IdleStrategy;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.worker.DeviceWorker;

/**
 * How a {@link BlockDevice} presents itself (virtio-v1.2 §5.2.4 fields that do not come from the backend) and how its
 * workers run.
 * <p>
 * Thread safety: immutable; any thread.
 *
 * @param numQueues              {@code num_queues}; MQ is offered when greater than 1. 1..64.
 * @param queueSize              the largest Queue Size of every queue, a power of 2 up to 32768.
 * @param segMax                 {@code seg_max}: most data segments in one request, 1..queueSize.
 * @param sizeMax                {@code size_max}: largest single segment the driver should use, in bytes, > 0.
 * @param blkSize                {@code blk_size}: the logical block size, a power of 2 from 512.
 * @param writeback              the initial {@code writeback}: true for a writeback cache (FLUSH persists), false for
 *                               writethrough (every write is persistent before it completes).
 * @param maxDiscardSectors      {@code max_discard_sectors}, > 0.
 * @param maxDiscardSeg          {@code max_discard_seg}, 1..256.
 * @param discardSectorAlignment {@code discard_sector_alignment}, in sectors.
 * @param maxWriteZeroesSectors  {@code max_write_zeroes_sectors}, > 0.
 * @param maxWriteZeroesSeg      {@code max_write_zeroes_seg}, 1..256.
 * @param writeZeroesMayUnmap    {@code write_zeroes_may_unmap}.
 * @param idle                   how the workers wait for kicks.
 * @param budget                 chains per queue per worker pass.
 */
public record BlockDeviceConfig(
    int numQueues,
    int queueSize,
    int segMax,
    int sizeMax,
    int blkSize,
    boolean writeback,
    int maxDiscardSectors,
    int maxDiscardSeg,
    int discardSectorAlignment,
    int maxWriteZeroesSectors,
    int maxWriteZeroesSeg,
    boolean writeZeroesMayUnmap,
    IdleStrategy idle,
    int budget)
{
    /** Upper bound of {@code max_discard_seg} and {@code max_write_zeroes_seg}: sizes the per-worker range arrays. */
    public static final int MAX_RANGES = 256;
    /** Upper bound of {@code num_queues}: one worker thread per queue. */
    public static final int MAX_QUEUES = 64;

    /** Validates every field. */
    public BlockDeviceConfig
    {
        if (numQueues < 1 || numQueues > MAX_QUEUES)
        {
            throw new IllegalArgumentException("num_queues must be 1 to 64: numQueues=" + numQueues);
        }
        if (queueSize < 2 || queueSize > SplitQueueConfig.MAX_QUEUE_SIZE || Integer.bitCount(queueSize) != 1)
        {
            throw new IllegalArgumentException("queue size must be a power of 2 from 2 to 32768: queueSize="
                + queueSize);
        }
        if (segMax < 1 || segMax > queueSize || sizeMax <= 0)
        {
            throw new IllegalArgumentException("seg_max must be 1 to the queue size and size_max positive: segMax="
                + segMax + ", sizeMax=" + sizeMax);
        }
        if (blkSize < VirtioBlk.SECTOR_SIZE || Integer.bitCount(blkSize) != 1)
        {
            throw new IllegalArgumentException("blk_size must be a power of 2 from 512: blkSize=" + blkSize);
        }
        if (maxDiscardSectors <= 0 || maxWriteZeroesSectors <= 0 || discardSectorAlignment < 0
            || maxDiscardSeg < 1 || maxDiscardSeg > MAX_RANGES
            || maxWriteZeroesSeg < 1 || maxWriteZeroesSeg > MAX_RANGES)
        {
            throw new IllegalArgumentException("discard and write-zeroes limits out of range: maxDiscardSectors="
                + maxDiscardSectors + ", maxDiscardSeg=" + maxDiscardSeg + ", maxWriteZeroesSectors="
                + maxWriteZeroesSectors + ", maxWriteZeroesSeg=" + maxWriteZeroesSeg);
        }
        if (idle == null || budget <= 0)
        {
            throw new IllegalArgumentException("an idle strategy and a positive budget are needed: budget=" + budget);
        }
    }

    /**
     * One queue of 256, {@code seg_max} 254, 1 MiB segments, 512-byte blocks, a writeback cache, up to 16 ranges of
     * 2^22 sectors (2 GiB) per discard or write-zeroes aligned to 8 sectors, backoff idling, budget 256.
     *
     * @return the defaults.
     */
    public static BlockDeviceConfig defaults()
    {
        return new BlockDeviceConfig(1, 256, 254, 1 << 20, VirtioBlk.SECTOR_SIZE, true, 1 << 22, 16, 8, 1 << 22, 16,
            true, new BackoffIdleStrategy(), DeviceWorker.DEFAULT_BUDGET);
    }

    /** @return a copy with {@code numQueues} queues. */
    public BlockDeviceConfig withNumQueues(final int queues)
    {
        return new BlockDeviceConfig(queues, queueSize, segMax, sizeMax, blkSize, writeback, maxDiscardSectors,
            maxDiscardSeg, discardSectorAlignment, maxWriteZeroesSectors, maxWriteZeroesSeg, writeZeroesMayUnmap, idle,
            budget);
    }

    /** @return a copy with the initial {@code writeback} set to {@code enabled}. */
    public BlockDeviceConfig withWriteback(final boolean enabled)
    {
        return new BlockDeviceConfig(numQueues, queueSize, segMax, sizeMax, blkSize, enabled, maxDiscardSectors,
            maxDiscardSeg, discardSectorAlignment, maxWriteZeroesSectors, maxWriteZeroesSeg, writeZeroesMayUnmap, idle,
            budget);
    }

    /** @return a copy with the given queue size and {@code seg_max}. */
    public BlockDeviceConfig withQueueSize(final int size, final int maxSegments)
    {
        return new BlockDeviceConfig(numQueues, size, maxSegments, sizeMax, blkSize, writeback, maxDiscardSectors,
            maxDiscardSeg, discardSectorAlignment, maxWriteZeroesSectors, maxWriteZeroesSeg, writeZeroesMayUnmap, idle,
            budget);
    }

    /** @return a copy with the given discard and write-zeroes limits. */
    public BlockDeviceConfig withRangeLimits(final int maxSectors, final int maxSegments)
    {
        return new BlockDeviceConfig(numQueues, queueSize, segMax, sizeMax, blkSize, writeback, maxSectors,
            maxSegments, discardSectorAlignment, maxSectors, maxSegments, writeZeroesMayUnmap, idle, budget);
    }
}
