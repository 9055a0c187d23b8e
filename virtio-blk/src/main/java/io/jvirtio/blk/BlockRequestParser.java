package io.jvirtio.blk;

import io.jvirtio.virtio.queue.DescriptorChain;

import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_DISCARD;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_GET_ID;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_IN;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_OUT;
import static io.jvirtio.blk.VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES;

/**
 * Turns a popped descriptor chain into a {@link BlockRequest}, with no side effect: it reads the 16-byte header once
 * (it may span descriptors; conformance checklist item 26) and records where data and status lie; it writes nothing to
 * guest memory and executes nothing. Validation of the content (sectors, lengths, types) is the device's, so that
 * every content error becomes a status byte.
 * <p>
 * Framing (virtio-v1.2 §5.2.6): the header is the first 16 device-readable bytes; the status byte is the last
 * device-writable byte; "the driver MUST place any device-writable descriptor elements after any device-readable
 * descriptor elements" (§2.7.4.2) is already enforced by the ring.
 * <p>
 * Nothing here allocates. Thread safety: not thread-safe; one parser per worker thread.
 */
public final class BlockRequestParser
{
    private final byte[] header = new byte[BlockRequestLayout.HEADER_LENGTH];

    /**
     * Parses {@code chain} into {@code request}.
     *
     * @param chain   a popped chain.
     * @param request the reusable request; its capacity must be at least the chain's segment count.
     * @return {@link ParseStatus#OK}, or the framing error (the request then holds no data segments).
     * @throws IllegalArgumentException if {@code request} is smaller than the chain.
     */
    public ParseStatus parse(final DescriptorChain chain, final BlockRequest request)
    {
        final int segments = chain.readableSegments() + chain.writableSegments();
        if (request.capacity() < segments)
        {
            throw new IllegalArgumentException("request smaller than chain: capacity=" + request.capacity()
                + ", segments=" + segments);
        }
        request.clear();
        if (chain.readableBytes() < BlockRequestLayout.HEADER_LENGTH)
        {
            return ParseStatus.NO_HEADER;
        }
        final int statusSegment = lastNonEmptyWritable(chain);
        if (statusSegment < 0)
        {
            return ParseStatus.NO_STATUS;
        }
        // the header is copied once: later guest writes to it change nothing (double-fetch defence)
        chain.read(0, header, 0, BlockRequestLayout.HEADER_LENGTH);
        final int type = BlockRequestLayout.intLE(header, BlockRequestLayout.TYPE_OFFSET);
        request.header(
            type,
            BlockRequestLayout.intLE(header, BlockRequestLayout.RESERVED_OFFSET),
            BlockRequestLayout.longLE(header, BlockRequestLayout.SECTOR_OFFSET));
        final long statusAddr = chain.writableAddr(statusSegment) + chain.writableLength(statusSegment) - 1;
        request.sides(
            chain.readableBytes() - BlockRequestLayout.HEADER_LENGTH, chain.writableBytes() - 1, statusAddr);
        switch (type)
        {
            case VIRTIO_BLK_T_IN, VIRTIO_BLK_T_GET_ID -> addWritableData(chain, statusSegment, request);
            case VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES -> addReadableData(chain, request);
            default ->
            {
                // FLUSH and types without data: any bytes around are reported through the two side counts only
            }
        }
        return ParseStatus.OK;
    }

    private static int lastNonEmptyWritable(final DescriptorChain chain)
    {
        // bound: one pass over the chain's writable segments, at most the queue size
        for (int i = chain.writableSegments() - 1; i >= 0; i--)
        {
            if (chain.writableLength(i) > 0)
            {
                return i;
            }
        }
        return -1;
    }

    private static void addWritableData(
        final DescriptorChain chain, final int statusSegment, final BlockRequest request)
    {
        request.dataWritable(true);
        // bound: segments up to and including the one holding the status byte, at most the queue size
        for (int i = 0; i <= statusSegment; i++)
        {
            final long length = i == statusSegment ? chain.writableLength(i) - 1 : chain.writableLength(i);
            if (length > 0)
            {
                request.addData(chain.writableAddr(i), length);
            }
        }
    }

    private static void addReadableData(final DescriptorChain chain, final BlockRequest request)
    {
        long skip = BlockRequestLayout.HEADER_LENGTH;
        // bound: one pass over the chain's readable segments, at most the queue size
        for (int i = 0; i < chain.readableSegments(); i++)
        {
            final long length = chain.readableLength(i);
            if (skip >= length)
            {
                skip -= length;
                continue;
            }
            request.addData(chain.readableAddr(i) + skip, length - skip);
            skip = 0;
        }
    }
}
