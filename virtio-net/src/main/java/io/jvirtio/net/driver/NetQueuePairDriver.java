package io.jvirtio.net.driver;

import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.net.NetHeader;
import io.jvirtio.net.NetHeaderLayout;
import io.jvirtio.virtio.queue.SplitQueueDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The guest side of one virtio-net queue pair, transport-neutral: it posts receive buffers, sends frames with their
 * header, reaps transmit completions and reassembles received frames (virtio-v1.2 §5.1.6.2 "Packet Transmission",
 * §5.1.6.3 "Setting Up Receive Buffers", §5.1.6.4 "Processing of Incoming Packets").
 * <p>
 * It owns a buffer area in guest RAM (from {@code GuestAddressSpace.allocate}, {@link #areaLength} bytes): one
 * receive buffer per RX descriptor, then one transmit slot per TX descriptor. A frame is sent as one device-readable
 * descriptor holding the header and the frame. Receive buffers are one device-writable descriptor each: mergeable-sized
 * with MRG_RXBUF (the frame may span several, {@code num_buffers} says how many), or big enough for the largest frame
 * without it (§5.1.6.3.1: 1526 bytes for MTU 1500, 65562 with GUEST_TSO).
 * <p>
 * The caller kicks: after posting, {@link #rxNeedsKick()} and {@link #txNeedsKick()} say whether the device wants a
 * notification ({@link SplitQueueDriver#needsKick()}), and the caller performs it through its transport.
 * Nothing allocates per frame.
 * <p>
 * Thread safety: not thread-safe; owned by the guest thread that plays the driver.
 */
public final class NetQueuePairDriver
{
    /** {@link #receive} result when no frame has arrived. */
    public static final int NO_FRAME = -1;

    private static final int HEADER = NetHeaderLayout.LENGTH;

    private final GuestMemory memory;
    private final SplitQueueDriver rx;
    private final SplitQueueDriver tx;
    private final boolean mergeable;
    private final int rxBufferSize;
    private final int txSlotSize;
    private final long rxArea;
    private final long txArea;
    private final int[] rxFree;
    private int rxFreeTop;
    private final int[] rxBufferOfHead;
    private final int[] txFree;
    private int txFreeTop;
    private final int[] txSlotOfHead;
    private final long[] addrs = new long[1];
    private final long[] lens = new long[1];
    private final MemorySegment txHeaderBytes;
    private final MemorySegment rxHeaderBytes;
    private final NetHeader txHeader = new NetHeader();
    private final NetHeader rxHeader = new NetHeader();
    private long framesSent;
    private long framesReceived;

    /**
     * @param memory          guest RAM.
     * @param rx              the receive queue's driver side.
     * @param tx              the transmit queue's driver side.
     * @param area            guest-physical start of the buffer area, {@link #areaLength} bytes of RAM.
     * @param rxBufferSize    bytes per receive buffer, at least the 12-byte header.
     * @param txFrameCapacity the largest frame {@link #send} takes.
     * @param mergeable       VIRTIO_NET_F_MRG_RXBUF was negotiated.
     * @throws IllegalArgumentException if a size is out of range or the area is not RAM.
     */
    public NetQueuePairDriver(
        final GuestMemory memory,
        final SplitQueueDriver rx,
        final SplitQueueDriver tx,
        final long area,
        final int rxBufferSize,
        final int txFrameCapacity,
        final boolean mergeable)
    {
        if (rxBufferSize < HEADER || txFrameCapacity < 1)
        {
            throw new IllegalArgumentException("buffers must hold the header and a frame: rxBufferSize="
                + rxBufferSize + ", txFrameCapacity=" + txFrameCapacity);
        }
        final long length = areaLength(rx.size(), tx.size(), rxBufferSize, txFrameCapacity);
        if (!memory.isRam(area, length))
        {
            throw new IllegalArgumentException("buffer area must be guest ram: area=0x" + Long.toHexString(area)
                + ", length=" + length);
        }
        this.memory = memory;
        this.rx = rx;
        this.tx = tx;
        this.mergeable = mergeable;
        this.rxBufferSize = rxBufferSize;
        this.txSlotSize = HEADER + txFrameCapacity;
        this.rxArea = area;
        this.txArea = area + (long)rx.size() * rxBufferSize;
        rxFree = new int[rx.size()];
        rxBufferOfHead = new int[rx.size()];
        for (int i = 0; i < rxFree.length; i++)
        {
            rxFree[i] = rxFree.length - 1 - i;
        }
        rxFreeTop = rxFree.length;
        txFree = new int[tx.size()];
        txSlotOfHead = new int[tx.size()];
        for (int i = 0; i < txFree.length; i++)
        {
            txFree[i] = txFree.length - 1 - i;
        }
        txFreeTop = txFree.length;
        final Arena arena = Arena.ofAuto();
        txHeaderBytes = arena.allocate(HEADER);
        rxHeaderBytes = arena.allocate(HEADER);
        txHeader.wrap(txHeaderBytes, 0);
        rxHeader.wrap(rxHeaderBytes, 0);
    }

    /**
     * @return bytes of guest RAM a driver with these sizes needs for its buffers.
     */
    public static long areaLength(final int rxSize, final int txSize, final int rxBufferSize, final int txFrameCapacity)
    {
        return (long)rxSize * rxBufferSize + (long)txSize * (HEADER + txFrameCapacity);
    }

    /**
     * Posts every free receive buffer and publishes them.
     *
     * @return buffers posted.
     */
    public int fillRx()
    {
        int posted = 0;
        // bound: at most one post per free buffer, N in all
        while (rxFreeTop > 0)
        {
            final int buffer = rxFree[rxFreeTop - 1];
            addrs[0] = rxArea + (long)buffer * rxBufferSize;
            lens[0] = rxBufferSize;
            final int head = rx.post(addrs, lens, 0, 1);
            if (head == SplitQueueDriver.NO_SPACE)
            {
                break;
            }
            rxFreeTop--;
            rxBufferOfHead[head] = buffer;
            posted++;
        }
        rx.publish();
        return posted;
    }

    /** @return true if the device wants an RX queue notification for the buffers posted since the last check. */
    public boolean rxNeedsKick()
    {
        return rx.needsKick();
    }

    /** @return the header the next {@link #send} carries; cleared after every send. */
    public NetHeader txHeader()
    {
        return txHeader;
    }

    /**
     * Copies {@link #txHeader()} and the frame into a free transmit slot, posts it and publishes it.
     *
     * @param frame  where the frame is.
     * @param offset its offset in {@code frame}.
     * @param length its length, up to the transmit capacity.
     * @return false if every slot is in flight (reap completions first).
     * @throws IllegalArgumentException if the frame is longer than the transmit capacity.
     */
    public boolean send(final MemorySegment frame, final long offset, final int length)
    {
        if (length < 0 || length > txSlotSize - HEADER)
        {
            throw new IllegalArgumentException("frame does not fit a transmit slot: length=" + length
                + ", capacity=" + (txSlotSize - HEADER));
        }
        if (txFreeTop == 0)
        {
            return false;
        }
        final int slot = txFree[txFreeTop - 1];
        final long gpa = txArea + (long)slot * txSlotSize;
        memory.copyIn(gpa, txHeaderBytes, 0, HEADER);
        memory.copyIn(gpa + HEADER, frame, offset, length);
        addrs[0] = gpa;
        lens[0] = HEADER + length;
        final int head = tx.post(addrs, lens, 1, 0);
        if (head == SplitQueueDriver.NO_SPACE)
        {
            return false;
        }
        txFreeTop--;
        txSlotOfHead[head] = slot;
        tx.publish();
        txHeader.clear();
        framesSent++;
        return true;
    }

    /** @return true if the device wants a TX queue notification for the frames sent since the last check. */
    public boolean txNeedsKick()
    {
        return tx.needsKick();
    }

    /**
     * Reaps every transmit completion, freeing their slots.
     *
     * @return completions reaped.
     */
    public int reapTx()
    {
        int reaped = 0;
        // bound: at most N chains are in flight
        for (int head = tx.reap(); head != SplitQueueDriver.NOTHING_USED; head = tx.reap())
        {
            txFree[txFreeTop++] = txSlotOfHead[head];
            reaped++;
        }
        return reaped;
    }

    /**
     * Takes the next received frame, if any: reads its header into {@link #rxHeader()} and copies the frame, across
     * {@code num_buffers} buffers with MRG_RXBUF, into {@code dst}. The buffers become free again; {@link #fillRx()}
     * posts them.
     *
     * @param dst       where the frame goes.
     * @param dstOffset its offset in {@code dst}.
     * @return the frame's length, or {@link #NO_FRAME}.
     * @throws IllegalStateException     if the device broke a rule (a buffer shorter than the header, a
     *                                   {@code num_buffers} that is 0, above 1 without MRG_RXBUF, or more than used).
     * @throws IndexOutOfBoundsException if the frame does not fit {@code dst}.
     */
    public int receive(final MemorySegment dst, final long dstOffset)
    {
        int head = rx.reap();
        if (head == SplitQueueDriver.NOTHING_USED)
        {
            return NO_FRAME;
        }
        long used = rx.reapedLength();
        int buffer = release(head);
        if (used < HEADER)
        {
            throw new IllegalStateException("used receive buffer is shorter than the header: len=" + used);
        }
        final long first = rxArea + (long)buffer * rxBufferSize;
        memory.copyOut(first, rxHeaderBytes, 0, HEADER);
        final int buffers = rxHeader.numBuffers();
        if (buffers == 0 || (!mergeable && buffers != 1))
        {
            throw new IllegalStateException("bad num_buffers: numBuffers=" + buffers + ", mergeable=" + mergeable);
        }
        long length = used - HEADER;
        Objects.checkFromIndexSize(dstOffset, length, dst.byteSize());
        memory.copyOut(first + HEADER, dst, dstOffset, length);
        // bound: num_buffers, each of which is a used element that the device published with the first
        for (int i = 1; i < buffers; i++)
        {
            head = rx.reap();
            if (head == SplitQueueDriver.NOTHING_USED)
            {
                throw new IllegalStateException("device published fewer buffers than num_buffers: numBuffers="
                    + buffers + ", reaped=" + i);
            }
            used = rx.reapedLength();
            buffer = release(head);
            Objects.checkFromIndexSize(dstOffset + length, used, dst.byteSize());
            memory.copyOut(rxArea + (long)buffer * rxBufferSize, dst, dstOffset + length, used);
            length += used;
        }
        framesReceived++;
        return (int)length;
    }

    private int release(final int head)
    {
        final int buffer = rxBufferOfHead[head];
        rxFree[rxFreeTop++] = buffer;
        return buffer;
    }

    /** @return the header of the frame the last successful {@link #receive} returned. */
    public NetHeader rxHeader()
    {
        return rxHeader;
    }

    /** @return frames sent. */
    public long framesSent()
    {
        return framesSent;
    }

    /** @return frames received. */
    public long framesReceived()
    {
        return framesReceived;
    }

    /** @return transmit slots free. */
    public int txSlotsFree()
    {
        return txFreeTop;
    }

    /** @return receive buffers not posted. */
    public int rxBuffersFree()
    {
        return rxFreeTop;
    }
}
