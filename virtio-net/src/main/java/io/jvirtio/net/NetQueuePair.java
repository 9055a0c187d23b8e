package io.jvirtio.net;

import io.jvirtio.net.backend.NetBackend;
import io.jvirtio.virtio.DeviceHost;
import io.jvirtio.virtio.VirtioInterrupt;
import io.jvirtio.virtio.queue.DescriptorChain;
import io.jvirtio.virtio.queue.PopStatus;
import io.jvirtio.virtio.queue.VirtQueue;
import io.jvirtio.virtio.worker.QueueHandler;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_CSUM;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_GUEST_CSUM;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_GUEST_TSO4;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_GUEST_TSO6;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_HOST_TSO4;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_HOST_TSO6;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MRG_RXBUF;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MTU;
import static io.jvirtio.net.NetFeatures.has;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_F_DATA_VALID;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_F_NEEDS_CSUM;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_NONE;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_TCPV4;
import static io.jvirtio.net.NetHeaderLayout.VIRTIO_NET_HDR_GSO_TCPV6;

/**
 * The data plane of one queue pair (receiveqN = 2(N-1), transmitqN = 2(N-1)+1, virtio-v1.2 §5.1.2): the handler its
 * {@link io.jvirtio.virtio.worker.DeviceWorker} calls for a kick of either queue or a backend wake-up. Every call
 * drains TX into the backend, then fills RX from the backend, each within the budget.
 * <p>
 * <b>TX</b> (§5.1.6.2, checklist item 22): the header is read once into a staging buffer and checked (gso_type
 * against the negotiated HOST_* features, gso_size, csum_start/offset against the frame with NEEDS_CSUM); a chain
 * shorter than the header, a frame over the limit or a refused header is dropped and counted, and every chain is
 * completed with used length 0.
 * <p>
 * <b>RX</b> (§5.1.6.3, checklist item 23). Without MRG_RXBUF a frame goes into exactly one chain with
 * {@code num_buffers = 1}; if the chain is too small the frame is dropped and the chain given back unused
 * (CVE-2015-7295). With MRG_RXBUF it is spread over as many chains as needed, at most {@link #MAX_MERGED_BUFFERS},
 * with {@code num_buffers} written before anything is completed (CVE-2021-3748); when the queue runs dry part way,
 * the chains gathered so far stay in flight, unwritten and unused, until the driver adds the rest. A chain whose
 * writable part cannot hold the header is completed with 0 and skipped.
 * <p>
 * <b>RX without buffers, the stated policy</b>: the frame waits in this pair's one-frame staging slot, and while it
 * waits nothing more is taken from the backend (whose own queue is bounded and counts its drops). The device then
 * asks for RX kicks and tries once more; if the frame still does not fit, the worker sleeps (buffers it popped and
 * gave back do not count as new work), and the driver's next RX buffer kick retries the frame (CVE-2020-16843:
 * liveness does not depend on a backend event). The pair never blocks and other pairs are not affected.
 * <p>
 * Thread safety: owned by one worker thread after activation; constructed on the control thread.
 */
final class NetQueuePair implements QueueHandler
{
    /** Most RX buffers one frame may use with MRG_RXBUF: a 64 KiB frame in the 1.5 KiB buffers Linux posts is 44. */
    static final int MAX_MERGED_BUFFERS = 64;
    /** Largest frame with GSO, or without MTU: 64 KiB plus an Ethernet header (Firecracker's 65562 minus 12). */
    static final int MAX_FRAME = 65_550;
    /** Ethernet header length added to the MTU for the frame limit (§5.1.4.2). */
    static final int ETH_HEADER = 14;

    private static final int HEADER = NetHeaderLayout.LENGTH;
    private static final int DELIVERED = 0;
    private static final int DROPPED = 1;
    private static final int NO_BUFFER = 2;
    private static final int BROKEN = 3;
    private static final int RX_FLAGS_KEPT = VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;

    private final int pair;
    private final int rxIndex;
    private final int txIndex;
    private final VirtQueue rx;
    private final VirtQueue tx;
    private final NetBackend backend;
    private final NetCounters counters;
    private final VirtioInterrupt interrupt;
    private final AtomicInteger activePairs;
    private final ControlQueue control;
    private final int controlIndex;
    private final DeviceHost host;
    private boolean rxBrokenReported;
    private boolean txBrokenReported;

    private final boolean csum;
    private final boolean guestCsum;
    private final boolean hostTso4;
    private final boolean hostTso6;
    private final boolean guestTso4;
    private final boolean guestTso6;
    private final boolean mergeable;
    private final int plainFrameLimit;

    private final DescriptorChain txChain;
    private final DescriptorChain[] rxChains;
    private final MemorySegment txPacket;
    private final MemorySegment rxPacket;
    private final NetHeader txHeader = new NetHeader();
    private final NetHeader rxHeader = new NetHeader();
    private int pendingRx = NetBackend.NO_FRAME;
    /** With MRG_RXBUF, chains popped for the waiting frame and kept in flight, unwritten, until it fits. */
    private int held;
    private long heldBytes;

    /**
     * @param pair         the pair's number, from 0.
     * @param rx           its receive queue, or null if the driver did not enable it.
     * @param tx           its transmit queue, or null if the driver did not enable it.
     * @param features     the negotiated features.
     * @param mtu          the device's MTU.
     * @param control      the control queue handler this worker also runs, or null.
     * @param controlIndex the control queue's index, or -1.
     * @param host         told once per queue when a ring breaks, or null.
     */
    NetQueuePair(
        final int pair,
        final VirtQueue rx,
        final VirtQueue tx,
        final long features,
        final int mtu,
        final NetBackend backend,
        final NetCounters counters,
        final VirtioInterrupt interrupt,
        final AtomicInteger activePairs,
        final ControlQueue control,
        final int controlIndex,
        final DeviceHost host)
    {
        this.pair = pair;
        this.rxIndex = 2 * pair;
        this.txIndex = 2 * pair + 1;
        this.rx = rx;
        this.tx = tx;
        this.backend = backend;
        this.counters = counters;
        this.interrupt = interrupt;
        this.activePairs = activePairs;
        this.control = control;
        this.controlIndex = controlIndex;
        this.host = host;
        csum = has(features, VIRTIO_NET_F_CSUM);
        guestCsum = has(features, VIRTIO_NET_F_GUEST_CSUM);
        hostTso4 = has(features, VIRTIO_NET_F_HOST_TSO4);
        hostTso6 = has(features, VIRTIO_NET_F_HOST_TSO6);
        guestTso4 = has(features, VIRTIO_NET_F_GUEST_TSO4);
        guestTso6 = has(features, VIRTIO_NET_F_GUEST_TSO6);
        mergeable = has(features, VIRTIO_NET_F_MRG_RXBUF);
        plainFrameLimit = has(features, VIRTIO_NET_F_MTU) ? mtu + ETH_HEADER : MAX_FRAME;

        final int chainCapacity = Math.max(queueSize(rx), queueSize(tx));
        txChain = new DescriptorChain(chainCapacity);
        rxChains = new DescriptorChain[mergeable ? MAX_MERGED_BUFFERS : 1];
        for (int i = 0; i < rxChains.length; i++)
        {
            rxChains[i] = new DescriptorChain(chainCapacity);
        }
        final Arena arena = Arena.ofAuto();
        txPacket = arena.allocate(HEADER + MAX_FRAME, Long.BYTES);
        rxPacket = arena.allocate(HEADER + MAX_FRAME, Long.BYTES);
        txHeader.wrap(txPacket, 0);
        rxHeader.wrap(rxPacket, 0);
    }

    private static int queueSize(final VirtQueue queue)
    {
        return queue == null || queue.size() == 0 ? 1 : queue.size();
    }

    @Override
    public boolean process(final int queueIndex, final int budget)
    {
        if (queueIndex == controlIndex)
        {
            return control.process(budget);
        }
        final boolean moreTx = tx != null && processTx(budget);
        final boolean moreRx = rx != null && processRx(budget);
        if (!txBrokenReported && tx != null && tx.isBroken())
        {
            txBrokenReported = true;
            reportBroken("transmit queue broken");
        }
        if (!rxBrokenReported && rx != null && rx.isBroken())
        {
            rxBrokenReported = true;
            reportBroken("receive queue broken");
        }
        return moreTx || moreRx;
    }

    /** A broken ring needs a device reset (virtio-v1.2 §2.1.2): counted, and told to the transport once. */
    private void reportBroken(final String reason)
    {
        counters.increment(NetCounter.QUEUES_BROKEN);
        if (host != null)
        {
            host.needsReset(reason);
        }
    }

    /** @return true if the TX queue still has chains. */
    boolean processTx(final int budget)
    {
        tx.disableNotification();
        int done = 0;
        // bound: the worker's budget per call
        while (done < budget && tx.pop(txChain) == PopStatus.CHAIN)
        {
            transmit();
            done++;
        }
        tx.publish();
        if (tx.needsInterrupt())
        {
            interrupt.signalQueue(txIndex);
        }
        return done == budget || tx.enableNotificationAndRecheck();
    }

    private void transmit()
    {
        final long readable = txChain.readableBytes();
        if (readable < HEADER)
        {
            counters.increment(NetCounter.TX_HEADER_TOO_SHORT);
            tx.complete(txChain, 0);
            return;
        }
        final long frameLength = readable - HEADER;
        if (frameLength > MAX_FRAME)
        {
            counters.increment(NetCounter.TX_FRAME_TOO_LARGE);
            tx.complete(txChain, 0);
            return;
        }
        // the header is read once, into device memory: later guest writes cannot change what was checked
        txChain.read(0, txPacket, 0, HEADER);
        final int length = (int)frameLength;
        if (!acceptTxHeader(length))
        {
            tx.complete(txChain, 0);
            return;
        }
        txChain.read(HEADER, txPacket, HEADER, length);
        backend.transmit(pair, txPacket, length);
        counters.increment(NetCounter.TX_FRAMES);
        counters.add(NetCounter.TX_BYTES, length);
        tx.complete(txChain, 0);
    }

    private boolean acceptTxHeader(final int frameLength)
    {
        final NetHeader h = txHeader;
        final int gsoType = h.gsoType();
        if (gsoType != VIRTIO_NET_HDR_GSO_NONE)
        {
            // HOST_ECN and HOST_UFO/USO are not offered: only plain TCPv4/TCPv6 with their HOST_* feature pass
            final boolean allowed = (gsoType == VIRTIO_NET_HDR_GSO_TCPV4 && hostTso4)
                || (gsoType == VIRTIO_NET_HDR_GSO_TCPV6 && hostTso6);
            if (!allowed)
            {
                counters.increment(NetCounter.TX_GSO_NOT_NEGOTIATED);
                return false;
            }
            if (h.gsoSize() == 0)
            {
                counters.increment(NetCounter.TX_GSO_SIZE_ZERO);
                return false;
            }
        }
        else if (frameLength > plainFrameLimit)
        {
            counters.increment(NetCounter.TX_FRAME_TOO_LARGE);
            return false;
        }
        if ((h.flags() & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0)
        {
            if (!csum)
            {
                counters.increment(NetCounter.TX_CSUM_NOT_NEGOTIATED);
                return false;
            }
            if (h.csumStart() + h.csumOffset() + 2 > frameLength)
            {
                counters.increment(NetCounter.TX_CSUM_OUT_OF_FRAME);
                return false;
            }
        }
        if (h.numBuffers() != 0)
        {
            counters.increment(NetCounter.TX_NUM_BUFFERS_NONZERO);
            h.numBuffers(0);
        }
        if (h.hdrLen() > frameLength)
        {
            counters.increment(NetCounter.TX_HDR_LEN_BEYOND_FRAME);
        }
        return true;
    }

    /** @return true if RX still has work (budget used up, or buffers arrived while a frame waits). */
    boolean processRx(final int budget)
    {
        if (pendingRx == NetBackend.NO_FRAME && pair >= activePairs.get())
        {
            // §5.1.6.5.5: after VQ_PAIRS_SET, receive only on the first virtqueue_pairs pairs
            return false;
        }
        rx.disableNotification();
        int done = 0;
        int outcome = DELIVERED;
        // bound: the worker's budget per call
        while (done < budget)
        {
            if (pendingRx == NetBackend.NO_FRAME)
            {
                final int length = backend.receive(pair, rxPacket);
                if (length == NetBackend.NO_FRAME)
                {
                    break;
                }
                if (!acceptRxFrame(length))
                {
                    done++;
                    continue;
                }
                pendingRx = length;
            }
            outcome = mergeable ? deliverMerged() : deliverOne();
            if (outcome == NO_BUFFER || outcome == BROKEN)
            {
                break;
            }
            pendingRx = NetBackend.NO_FRAME;
            done++;
        }
        boolean retried = false;
        if (outcome == NO_BUFFER)
        {
            counters.increment(NetCounter.RX_NO_BUFFER);
            // The frame waits: ask for a kick when the driver adds buffers, then try once more for buffers added
            // before kicks were enabled (QEMU's virtio_net_has_buffers). Chains that were popped and given back are
            // still available, so "available" alone is no reason to loop: that re-popped the same buffers for as
            // long as the driver added none, unbounded work for one kick.
            rx.enableNotificationAndRecheck();
            outcome = mergeable ? deliverMerged() : deliverOne();
            if (outcome == DELIVERED || outcome == DROPPED)
            {
                pendingRx = NetBackend.NO_FRAME;
                retried = true;
            }
        }
        rx.publish();
        if (rx.needsInterrupt())
        {
            interrupt.signalQueue(rxIndex);
        }
        if (outcome == BROKEN)
        {
            pendingRx = NetBackend.NO_FRAME;
            return false;
        }
        return outcome != NO_BUFFER && (retried || done == budget);
    }

    private boolean acceptRxFrame(final int length)
    {
        final NetHeader h = rxHeader;
        final int gsoType = h.gsoType();
        if (gsoType != VIRTIO_NET_HDR_GSO_NONE)
        {
            final boolean allowed = (gsoType == VIRTIO_NET_HDR_GSO_TCPV4 && guestTso4)
                || (gsoType == VIRTIO_NET_HDR_GSO_TCPV6 && guestTso6);
            if (!allowed)
            {
                counters.increment(NetCounter.RX_GSO_NOT_NEGOTIATED);
                return false;
            }
            if ((h.flags() & VIRTIO_NET_HDR_F_NEEDS_CSUM) == 0 || h.gsoSize() == 0)
            {
                // §5.1.6.4.1: with a gso_type the device sets NEEDS_CSUM and fills gso_size
                counters.increment(NetCounter.RX_GSO_INCONSISTENT);
                return false;
            }
        }
        else if (length > plainFrameLimit)
        {
            counters.increment(NetCounter.RX_FRAME_OVER_MTU);
            return false;
        }
        // §5.1.6.4.1: without GUEST_CSUM flags are 0; with it only NEEDS_CSUM and DATA_VALID mean anything
        h.flags(guestCsum ? h.flags() & RX_FLAGS_KEPT : 0);
        return true;
    }

    private int deliverOne()
    {
        final DescriptorChain chain = rxChains[0];
        final long needed = HEADER + pendingRx;
        // bound: each pass consumes one available chain; a queue holds at most N
        for (int skipped = 0; skipped < rx.size(); skipped++)
        {
            final PopStatus status = rx.pop(chain);
            if (status != PopStatus.CHAIN)
            {
                return status == PopStatus.EMPTY ? NO_BUFFER : BROKEN;
            }
            final long writable = chain.writableBytes();
            if (writable < HEADER)
            {
                counters.increment(NetCounter.RX_CHAIN_UNUSABLE);
                rx.complete(chain, 0);
                continue;
            }
            if (writable < needed)
            {
                // CVE-2015-7295: drop the frame, keep the buffer for the next one
                rx.unpop(chain);
                counters.increment(NetCounter.RX_CHAIN_TOO_SMALL);
                return DROPPED;
            }
            rxHeader.numBuffers(1);
            chain.write(0, rxPacket, 0, needed);
            rx.complete(chain);
            countRx();
            return DELIVERED;
        }
        return NO_BUFFER;
    }

    private int deliverMerged()
    {
        final DescriptorChain[] chains = rxChains;
        final long needed = HEADER + pendingRx;
        long gathered = heldBytes;
        int count = held;
        held = 0;
        heldBytes = 0;
        int skipped = 0;
        // bound: at most MAX_MERGED_BUFFERS chains, plus at most N unusable ones skipped
        while (gathered < needed)
        {
            if (count == chains.length)
            {
                unpopAll(count);
                counters.increment(NetCounter.RX_MERGE_LIMIT);
                return DROPPED;
            }
            final PopStatus status = rx.pop(chains[count]);
            if (status != PopStatus.CHAIN)
            {
                if (status == PopStatus.EMPTY)
                {
                    // Keep what was gathered, unused and unwritten, until the driver adds buffers. Handing the
                    // chains back would put the device's next-available index behind the driver's, so that with
                    // EVENT_IDX the driver's next buffer raises no kick (avail_event would name a chain it already
                    // made available) and the frame waits for ever.
                    held = count;
                    heldBytes = gathered;
                    return NO_BUFFER;
                }
                completeAll(count);
                return BROKEN;
            }
            final long writable = chains[count].writableBytes();
            if (count == 0 && writable < HEADER)
            {
                counters.increment(NetCounter.RX_CHAIN_UNUSABLE);
                rx.complete(chains[0], 0);
                if (++skipped >= rx.size())
                {
                    return NO_BUFFER;
                }
                continue;
            }
            gathered += writable;
            count++;
        }
        // every byte, num_buffers included, is written before any chain is completed (CVE-2021-3748)
        rxHeader.numBuffers(count);
        long offset = 0;
        // bound: count <= MAX_MERGED_BUFFERS
        for (int i = 0; i < count; i++)
        {
            final long n = Math.min(chains[i].writableBytes(), needed - offset);
            chains[i].write(0, rxPacket, offset, n);
            offset += n;
        }
        // bound: count <= MAX_MERGED_BUFFERS
        for (int i = 0; i < count; i++)
        {
            rx.complete(chains[i]);
        }
        countRx();
        return DELIVERED;
    }

    private void unpopAll(final int count)
    {
        // unpop takes back only the latest popped chain, so newest first; bound: count <= MAX_MERGED_BUFFERS
        for (int i = count - 1; i >= 0; i--)
        {
            rx.unpop(rxChains[i]);
        }
    }

    private void completeAll(final int count)
    {
        // bound: count <= MAX_MERGED_BUFFERS
        for (int i = 0; i < count; i++)
        {
            rx.complete(rxChains[i], 0);
        }
    }

    private void countRx()
    {
        counters.increment(NetCounter.RX_FRAMES);
        counters.add(NetCounter.RX_BYTES, pendingRx);
    }

    /** @return true if a received frame waits for RX buffers. */
    boolean hasPendingRx()
    {
        return pendingRx != NetBackend.NO_FRAME;
    }
}
