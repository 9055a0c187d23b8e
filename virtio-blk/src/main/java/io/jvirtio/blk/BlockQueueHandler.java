package io.jvirtio.blk;

import io.jvirtio.blk.backend.BlockBackend;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.virtio.VirtioInterrupt;
import io.jvirtio.virtio.queue.DescriptorChain;
import io.jvirtio.virtio.queue.PopStatus;
import io.jvirtio.virtio.queue.VirtQueue;
import io.jvirtio.virtio.worker.QueueHandler;

import java.io.IOException;

import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_IOERR;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_OK;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_S_UNSUPP;

/**
 * The data plane of one virtio-blk queue: pops chains, parses them, checks them against virtio-v1.2 §5.2.6 and the
 * conformance checklist (items 26 to 28), runs them on the backend, writes the status byte and completes the chain
 * with the exact used length.
 * <p>
 * Policies where the spec leaves a choice:
 * <ul>
 *     <li>Broken framing (no 16-byte header, no writable byte): the chain is completed with used len 0 and nothing
 *     written, and counted; the queue keeps running (the Firecracker / Cloud Hypervisor choice).</li>
 *     <li>Used len: the bytes really written, status included: data + 1 on success of IN and GET_ID, 1 otherwise (an
 *     underestimate is always allowed, §2.7.8.2).</li>
 *     <li>FLUSH with a sector other than 0 or with data, and GET_ID whose writable data is not exactly 20 bytes, are
 *     IOERR (driver MUSTs the device polices, as vm-virtio does).</li>
 *     <li>Ranges are copied out of guest memory once, all validated, then executed: an invalid range means nothing
 *     of the request is done.</li>
 * </ul>
 * Nothing here allocates or locks on the data path. Thread safety: called only on its worker thread.
 */
final class BlockQueueHandler implements QueueHandler
{
    private static final int SECTOR_MASK = VirtioBlk.SECTOR_SIZE - 1;
    private static final int SEGMENT_MASK = BlockRequestLayout.SEGMENT_LENGTH - 1;

    private final BlockDevice device;
    private final BlockBackend backend;
    private final BlockCounters counters;
    private final VirtQueue queue;
    private final GuestMemory memory;
    private final VirtioInterrupt interrupt;
    private final int queueIndex;
    private final long capacity;
    private final boolean readOnly;
    private final boolean discardNegotiated;
    private final boolean writeZeroesNegotiated;
    private final boolean flushNegotiated;
    private final int segMax;
    private final int maxDiscardSeg;
    private final long maxDiscardSectors;
    private final int maxWriteZeroesSeg;
    private final long maxWriteZeroesSectors;
    private final byte[] id;
    private final DescriptorChain chain;
    private final BlockRequest request;
    private final BlockRequestParser parser = new BlockRequestParser();
    private final byte[] segment = new byte[BlockRequestLayout.SEGMENT_LENGTH];
    private final long[] rangeSector = new long[BlockDeviceConfig.MAX_RANGES];
    private final long[] rangeSectors = new long[BlockDeviceConfig.MAX_RANGES];
    private final boolean[] rangeUnmap = new boolean[BlockDeviceConfig.MAX_RANGES];
    private boolean brokenReported;
    private long dataWritten;

    BlockQueueHandler(
        final BlockDevice device, final BlockBackend backend, final BlockCounters counters, final VirtQueue queue,
        final GuestMemory memory, final VirtioInterrupt interrupt, final int queueIndex, final long features)
    {
        final BlockDeviceConfig config = device.config();
        this.device = device;
        this.backend = backend;
        this.counters = counters;
        this.queue = queue;
        this.memory = memory;
        this.interrupt = interrupt;
        this.queueIndex = queueIndex;
        this.capacity = backend.capacity();
        this.readOnly = backend.isReadOnly();
        this.discardNegotiated = (features & (1L << VirtioBlk.VIRTIO_BLK_F_DISCARD)) != 0;
        this.writeZeroesNegotiated = (features & (1L << VirtioBlk.VIRTIO_BLK_F_WRITE_ZEROES)) != 0;
        this.flushNegotiated = (features & (1L << VirtioBlk.VIRTIO_BLK_F_FLUSH)) != 0;
        this.segMax = config.segMax();
        this.maxDiscardSeg = config.maxDiscardSeg();
        this.maxDiscardSectors = config.maxDiscardSectors();
        this.maxWriteZeroesSeg = config.maxWriteZeroesSeg();
        this.maxWriteZeroesSectors = config.maxWriteZeroesSectors();
        this.id = new byte[VirtioBlk.VIRTIO_BLK_ID_BYTES];
        final byte[] backendId = backend.id();
        System.arraycopy(backendId, 0, id, 0, Math.min(backendId.length, id.length));
        this.chain = new DescriptorChain(queue.size());
        this.request = new BlockRequest(queue.size());
    }

    @Override
    public boolean process(final int index, final int budget)
    {
        final VirtQueue q = queue;
        q.disableNotification();
        int done = 0;
        // bound: the worker's budget per pass, so that one queue cannot starve the others (CVE-2019-3900)
        while (done < budget)
        {
            final PopStatus popped = q.pop(chain);
            if (popped == PopStatus.EMPTY)
            {
                break;
            }
            if (popped == PopStatus.BROKEN)
            {
                reportBroken();
                return false;
            }
            q.complete(chain, handle());
            done++;
        }
        q.publish();
        if (q.needsInterrupt())
        {
            interrupt.signalQueue(queueIndex);
        }
        if (done == budget)
        {
            return true;
        }
        return q.enableNotificationAndRecheck();
    }

    private void reportBroken()
    {
        if (!brokenReported)
        {
            brokenReported = true;
            counters.increment(BlockCounter.QUEUE_BROKEN);
            device.queueBroken(queueIndex);
        }
    }

    /** @return the used length for the chain now in the cursor. */
    private long handle()
    {
        counters.increment(BlockCounter.REQUESTS);
        final ParseStatus parsed = parser.parse(chain, request);
        if (parsed != ParseStatus.OK)
        {
            counters.increment(parsed == ParseStatus.NO_HEADER
                ? BlockCounter.FRAMING_NO_HEADER : BlockCounter.FRAMING_NO_STATUS);
            return 0;
        }
        dataWritten = 0;
        final byte status = execute();
        memory.putByte(request.statusAddr(), status);
        switch (status)
        {
            case VIRTIO_BLK_S_OK -> counters.increment(BlockCounter.STATUS_OK);
            case VIRTIO_BLK_S_UNSUPP -> counters.increment(BlockCounter.STATUS_UNSUPP);
            default -> counters.increment(BlockCounter.STATUS_IOERR);
        }
        return status == VIRTIO_BLK_S_OK ? dataWritten + 1 : 1;
    }

    private byte execute()
    {
        switch (request.type())
        {
            case VirtioBlk.VIRTIO_BLK_T_IN:
                return transfer(false);
            case VirtioBlk.VIRTIO_BLK_T_OUT:
                return transfer(true);
            case VirtioBlk.VIRTIO_BLK_T_FLUSH:
                return flush();
            case VirtioBlk.VIRTIO_BLK_T_GET_ID:
                return getId();
            case VirtioBlk.VIRTIO_BLK_T_DISCARD:
                return ranges(true);
            case VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES:
                return ranges(false);
            default:
                return fail(BlockCounter.UNSUPPORTED_TYPE, VIRTIO_BLK_S_UNSUPP);
        }
    }

    private byte fail(final BlockCounter reason, final byte status)
    {
        counters.increment(reason);
        return status;
    }

    /** IN and OUT, §5.2.6.1: length a multiple of 512, range inside capacity, RO enforced from the device config. */
    private byte transfer(final boolean write)
    {
        final BlockRequest r = request;
        if (write ? r.writableDataBytes() != 0 : r.readableDataBytes() != 0)
        {
            return fail(BlockCounter.BAD_DIRECTION, VIRTIO_BLK_S_IOERR);
        }
        if (write && readOnly)
        {
            // issue #7697 lesson: read-only comes from the device, not from what the driver acked
            return fail(BlockCounter.READ_ONLY_WRITE, VIRTIO_BLK_S_IOERR);
        }
        if (r.dataSegments() > segMax)
        {
            return fail(BlockCounter.TOO_MANY_SEGMENTS, VIRTIO_BLK_S_IOERR);
        }
        final long bytes = r.dataBytes();
        if ((bytes & SECTOR_MASK) != 0)
        {
            return fail(BlockCounter.BAD_LENGTH, VIRTIO_BLK_S_IOERR);
        }
        if (!inRange(r.sector(), bytes >>> VirtioBlk.SECTOR_SHIFT))
        {
            return fail(BlockCounter.OUT_OF_RANGE, VIRTIO_BLK_S_IOERR);
        }
        long position = r.sector() << VirtioBlk.SECTOR_SHIFT;
        try
        {
            final int segments = r.dataSegments();
            // bound: the request's data segments, at most the queue size
            for (int i = 0; i < segments; i++)
            {
                final long length = r.dataLength(i);
                if (write)
                {
                    backend.write(position, memory, r.dataAddr(i), length);
                }
                else
                {
                    backend.read(position, memory, r.dataAddr(i), length);
                }
                position += length;
            }
            if (write)
            {
                persistIfWritethrough();
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            return fail(BlockCounter.BACKEND_ERRORS, VIRTIO_BLK_S_IOERR);
        }
        dataWritten = write ? 0 : bytes;
        return VIRTIO_BLK_S_OK;
    }

    /** FLUSH, §5.2.6.1: persists every write completed before it; OK only after the backend's flush returned. */
    private byte flush()
    {
        final BlockRequest r = request;
        if (r.sector() != 0 || r.readableDataBytes() != 0 || r.writableDataBytes() != 0)
        {
            return fail(BlockCounter.BAD_FLUSH, VIRTIO_BLK_S_IOERR);
        }
        try
        {
            backend.flush();
            counters.increment(BlockCounter.FLUSHES);
        }
        catch (final IOException | RuntimeException ex)
        {
            return fail(BlockCounter.BACKEND_ERRORS, VIRTIO_BLK_S_IOERR);
        }
        return VIRTIO_BLK_S_OK;
    }

    /** GET_ID, §5.2.6: exactly 20 bytes, NUL-padded, not NUL-terminated when the ID is 20 bytes long. */
    private byte getId()
    {
        final BlockRequest r = request;
        if (r.readableDataBytes() != 0 || r.writableDataBytes() != VirtioBlk.VIRTIO_BLK_ID_BYTES)
        {
            return fail(BlockCounter.BAD_GET_ID, VIRTIO_BLK_S_IOERR);
        }
        dataWritten = chain.write(0, id, 0, id.length);
        return VIRTIO_BLK_S_OK;
    }

    /** DISCARD and WRITE_ZEROES, §5.2.6.1 and checklist item 28. */
    private byte ranges(final boolean discard)
    {
        final BlockRequest r = request;
        if (discard ? !discardNegotiated : !writeZeroesNegotiated)
        {
            return fail(BlockCounter.UNSUPPORTED_TYPE, VIRTIO_BLK_S_UNSUPP);
        }
        if (r.writableDataBytes() != 0)
        {
            return fail(BlockCounter.BAD_DIRECTION, VIRTIO_BLK_S_IOERR);
        }
        if (readOnly)
        {
            return fail(BlockCounter.READ_ONLY_WRITE, VIRTIO_BLK_S_IOERR);
        }
        final long bytes = r.dataBytes();
        if (bytes == 0 || (bytes & SEGMENT_MASK) != 0)
        {
            return fail(BlockCounter.BAD_LENGTH, VIRTIO_BLK_S_IOERR);
        }
        final long count = bytes / BlockRequestLayout.SEGMENT_LENGTH;
        if (count > (discard ? maxDiscardSeg : maxWriteZeroesSeg))
        {
            return fail(BlockCounter.TOO_MANY_SEGMENTS, VIRTIO_BLK_S_UNSUPP);
        }
        final int n = (int)count;
        final long maxSectors = discard ? maxDiscardSectors : maxWriteZeroesSectors;
        // bound: n <= max_*_seg <= MAX_RANGES, checked above; each range is copied once (double-fetch defence)
        for (int i = 0; i < n; i++)
        {
            chain.read(BlockRequestLayout.HEADER_LENGTH + (long)i * BlockRequestLayout.SEGMENT_LENGTH, segment, 0,
                BlockRequestLayout.SEGMENT_LENGTH);
            final long sector = BlockRequestLayout.longLE(segment, BlockRequestLayout.SEGMENT_SECTOR_OFFSET);
            final long sectors =
                BlockRequestLayout.intLE(segment, BlockRequestLayout.SEGMENT_NUM_SECTORS_OFFSET) & 0xFFFF_FFFFL;
            final int flags = BlockRequestLayout.intLE(segment, BlockRequestLayout.SEGMENT_FLAGS_OFFSET);
            if ((flags & ~VirtioBlk.VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) != 0)
            {
                return fail(BlockCounter.BAD_SEGMENT_FLAGS, VIRTIO_BLK_S_UNSUPP);
            }
            final boolean unmap = flags == VirtioBlk.VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
            if (discard && unmap)
            {
                // §5.2.6.1: the device MUST set the status to UNSUPP for a discard with the unmap flag
                return fail(BlockCounter.BAD_SEGMENT_FLAGS, VIRTIO_BLK_S_UNSUPP);
            }
            if (sectors > maxSectors)
            {
                return fail(BlockCounter.SEGMENT_TOO_LARGE, VIRTIO_BLK_S_IOERR);
            }
            if (!inRange(sector, sectors))
            {
                return fail(BlockCounter.OUT_OF_RANGE, VIRTIO_BLK_S_IOERR);
            }
            rangeSector[i] = sector;
            rangeSectors[i] = sectors;
            rangeUnmap[i] = unmap;
        }
        try
        {
            // bound: n ranges, validated above
            for (int i = 0; i < n; i++)
            {
                final long position = rangeSector[i] << VirtioBlk.SECTOR_SHIFT;
                final long length = rangeSectors[i] << VirtioBlk.SECTOR_SHIFT;
                if (discard)
                {
                    backend.discard(position, length);
                }
                else
                {
                    backend.writeZeroes(position, length, rangeUnmap[i]);
                }
            }
            persistIfWritethrough();
        }
        catch (final IOException | RuntimeException ex)
        {
            return fail(BlockCounter.BACKEND_ERRORS, VIRTIO_BLK_S_IOERR);
        }
        return VIRTIO_BLK_S_OK;
    }

    /**
     * §5.2.6.2 stable writes: with FLUSH not negotiated, or {@code writeback} 0, a write is persistent before it is
     * reported complete.
     */
    private void persistIfWritethrough() throws IOException
    {
        if (!flushNegotiated || !device.writebackEnabled())
        {
            backend.flush();
            counters.increment(BlockCounter.FLUSHES);
        }
    }

    /**
     * @param sector  start sector, u64.
     * @param sectors sector count, 0..2^55.
     * @return true if {@code [sector, sector + sectors)} lies inside capacity, with no overflow.
     */
    private boolean inRange(final long sector, final long sectors)
    {
        return Long.compareUnsigned(sector, capacity) <= 0 && sectors <= capacity - sector;
    }
}
