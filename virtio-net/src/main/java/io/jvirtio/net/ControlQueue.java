package io.jvirtio.net;

import io.jvirtio.virtio.DeviceHost;
import io.jvirtio.virtio.VirtioInterrupt;
import io.jvirtio.virtio.queue.DescriptorChain;
import io.jvirtio.virtio.queue.PopStatus;
import io.jvirtio.virtio.queue.VirtQueue;

import java.util.concurrent.atomic.AtomicInteger;

import static io.jvirtio.net.ControlLayout.HEADER_LENGTH;
import static io.jvirtio.net.ControlLayout.MAC_TABLE_ENTRIES_LENGTH;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MAC;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MAC_TABLE_SET;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MQ;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_RX;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_RX_ALLMULTI;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_RX_PROMISC;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_ERR;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_OK;
import static io.jvirtio.net.ControlLayout.VQ_PAIRS_SET_LENGTH;

/**
 * The control virtqueue (virtio-v1.2 §5.1.6.5; checklist item 24). A command is parsed as a byte stream over all
 * readable descriptors, whatever their arrangement (section 8 of the checklist: never assume a layout), and its
 * payload is validated exactly: a size that is not the command's size, a value out of range or a MAC table whose
 * lengths do not add up is answered VIRTIO_NET_ERR and counted. The state is applied before the chain is completed
 * (§5.1.6.5.2.1). A chain without the 2-byte header or the writable ack byte cannot be answered: it is completed with
 * used length 0 and counted. Unknown or unnegotiated classes and commands are answered VIRTIO_NET_ERR, as QEMU does.
 * <p>
 * Commands: RX PROMISC and ALLMULTI (with CTRL_RX), MAC TABLE_SET (with CTRL_RX), MQ VQ_PAIRS_SET (with MQ).
 * <p>
 * Thread safety: owned by the worker thread that services the control queue.
 */
final class ControlQueue
{
    private static final int U8 = 0xFF;
    private static final int MAC_LENGTH = NetConfigLayout.MAC_LENGTH;

    private final VirtQueue queue;
    private final int queueIndex;
    private final boolean ctrlRx;
    private final boolean mq;
    private final int maxPairs;
    private final AtomicInteger activePairs;
    private final RxFilter filter;
    private final NetCounters counters;
    private final VirtioInterrupt interrupt;
    private final DeviceHost host;
    private boolean brokenReported;
    private final DescriptorChain chain;
    private final byte[] scratch = new byte[Long.BYTES];
    private final long[] unicast = new long[RxFilter.MAC_TABLE_ENTRIES];
    private final long[] multicast = new long[RxFilter.MAC_TABLE_ENTRIES];

    ControlQueue(
        final VirtQueue queue,
        final int queueIndex,
        final long features,
        final int maxPairs,
        final AtomicInteger activePairs,
        final RxFilter filter,
        final NetCounters counters,
        final VirtioInterrupt interrupt,
        final DeviceHost host)
    {
        this.queue = queue;
        this.queueIndex = queueIndex;
        this.ctrlRx = NetFeatures.has(features, NetFeatures.VIRTIO_NET_F_CTRL_RX);
        this.mq = NetFeatures.has(features, NetFeatures.VIRTIO_NET_F_MQ);
        this.maxPairs = maxPairs;
        this.activePairs = activePairs;
        this.filter = filter;
        this.counters = counters;
        this.interrupt = interrupt;
        this.host = host;
        this.chain = new DescriptorChain(Math.max(1, queue.size()));
    }

    /** @return true if the queue still has commands after {@code budget} of them. */
    boolean process(final int budget)
    {
        queue.disableNotification();
        int done = 0;
        // bound: the worker's budget per call
        while (done < budget && queue.pop(chain) == PopStatus.CHAIN)
        {
            handle();
            done++;
        }
        queue.publish();
        if (queue.needsInterrupt())
        {
            interrupt.signalQueue(queueIndex);
        }
        if (!brokenReported && queue.isBroken())
        {
            // virtio-v1.2 §2.1.2: a broken ring needs a device reset; counted, and told to the transport once
            brokenReported = true;
            counters.increment(NetCounter.QUEUES_BROKEN);
            if (host != null)
            {
                host.needsReset("control queue broken");
            }
        }
        return done == budget || queue.enableNotificationAndRecheck();
    }

    private void handle()
    {
        if (chain.readableBytes() < HEADER_LENGTH || chain.writableBytes() < 1)
        {
            counters.increment(NetCounter.CTRL_MISSING_HEADER);
            queue.complete(chain, 0);
            return;
        }
        chain.read(0, scratch, 0, HEADER_LENGTH);
        final int ack = execute(scratch[0] & U8, scratch[1] & U8, chain.readableBytes() - HEADER_LENGTH);
        if (ack == VIRTIO_NET_OK)
        {
            counters.increment(NetCounter.CTRL_OK);
        }
        scratch[0] = (byte)ack;
        chain.write(0, scratch, 0, 1);
        queue.complete(chain, 1);
    }

    private int execute(final int commandClass, final int command, final long payload)
    {
        switch (commandClass)
        {
            case VIRTIO_NET_CTRL_RX:
                return ctrlRx ? rxMode(command, payload) : unsupported();
            case VIRTIO_NET_CTRL_MAC:
                return ctrlRx && command == VIRTIO_NET_CTRL_MAC_TABLE_SET ? macTableSet(payload) : unsupported();
            case VIRTIO_NET_CTRL_MQ:
                return mq && command == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ? vqPairsSet(payload) : unsupported();
            default:
                return unsupported();
        }
    }

    private int unsupported()
    {
        counters.increment(NetCounter.CTRL_UNSUPPORTED);
        return VIRTIO_NET_ERR;
    }

    private int malformed()
    {
        counters.increment(NetCounter.CTRL_MALFORMED);
        return VIRTIO_NET_ERR;
    }

    /** §5.1.6.5.1: one byte, 0 (off) or 1 (on). */
    private int rxMode(final int command, final long payload)
    {
        if (command != VIRTIO_NET_CTRL_RX_PROMISC && command != VIRTIO_NET_CTRL_RX_ALLMULTI)
        {
            // ALLUNI, NOMULTI, NOUNI and NOBCAST need CTRL_RX_EXTRA, which is not offered
            return unsupported();
        }
        if (payload != 1)
        {
            return malformed();
        }
        chain.read(HEADER_LENGTH, scratch, 0, 1);
        final int value = scratch[0] & U8;
        if (value > 1)
        {
            return malformed();
        }
        if (command == VIRTIO_NET_CTRL_RX_PROMISC)
        {
            filter.promiscuous(value == 1);
        }
        else
        {
            filter.allMulticast(value == 1);
        }
        return VIRTIO_NET_OK;
    }

    /**
     * §5.1.6.5.2: {@code le32 entries; u8 macs[entries][6]} for unicast, then the same for multicast, exactly filling
     * the payload. Entries are u32: {@code entries * 6} is computed in 64 bits, so 0xFFFFFFFF cannot overflow it.
     */
    private int macTableSet(final long payload)
    {
        long offset = HEADER_LENGTH;
        final long end = HEADER_LENGTH + payload;
        final long unicastTotal = readEntries(offset, end);
        if (unicastTotal < 0)
        {
            return malformed();
        }
        final int unicastKept = copyTable(offset + MAC_TABLE_ENTRIES_LENGTH, unicastTotal, unicast);
        offset += MAC_TABLE_ENTRIES_LENGTH + unicastTotal * MAC_LENGTH;
        final long multicastTotal = readEntries(offset, end);
        if (multicastTotal < 0)
        {
            return malformed();
        }
        final int multicastKept = copyTable(offset + MAC_TABLE_ENTRIES_LENGTH, multicastTotal, multicast);
        offset += MAC_TABLE_ENTRIES_LENGTH + multicastTotal * MAC_LENGTH;
        if (offset != end)
        {
            return malformed();
        }
        if (unicastTotal > RxFilter.MAC_TABLE_ENTRIES || multicastTotal > RxFilter.MAC_TABLE_ENTRIES)
        {
            counters.increment(NetCounter.CTRL_MAC_TABLE_OVERFLOW);
        }
        System.arraycopy(unicast, 0, filter.unicastTable(), 0, unicastKept);
        System.arraycopy(multicast, 0, filter.multicastTable(), 0, multicastKept);
        filter.publishTables(unicastKept, unicastTotal, multicastKept, multicastTotal);
        return VIRTIO_NET_OK;
    }

    /** @return the table's entry count if the count and its entries lie within the payload, else -1. */
    private long readEntries(final long offset, final long end)
    {
        if (end - offset < MAC_TABLE_ENTRIES_LENGTH)
        {
            return -1;
        }
        chain.read(offset, scratch, 0, MAC_TABLE_ENTRIES_LENGTH);
        final long entries = (scratch[0] & U8) | (scratch[1] & U8) << 8 | (scratch[2] & U8) << 16
            | (long)(scratch[3] & U8) << 24;
        if (entries * MAC_LENGTH > end - offset - MAC_TABLE_ENTRIES_LENGTH)
        {
            return -1;
        }
        return entries;
    }

    /** @return entries copied: the first {@link RxFilter#MAC_TABLE_ENTRIES}; the rest are skipped, not read. */
    private int copyTable(final long offset, final long entries, final long[] table)
    {
        final int kept = (int)Math.min(entries, table.length);
        // bound: at most MAC_TABLE_ENTRIES entries are read
        for (int i = 0; i < kept; i++)
        {
            chain.read(offset + (long)i * MAC_LENGTH, scratch, 0, MAC_LENGTH);
            long mac = 0;
            // bound: six octets
            for (int b = 0; b < MAC_LENGTH; b++)
            {
                mac = mac << 8 | (scratch[b] & U8);
            }
            table[i] = mac;
        }
        return kept;
    }

    /** §5.1.6.5.6.1: {@code le16 virtqueue_pairs}, 1 to max_virtqueue_pairs. */
    private int vqPairsSet(final long payload)
    {
        if (payload != VQ_PAIRS_SET_LENGTH)
        {
            return malformed();
        }
        chain.read(HEADER_LENGTH, scratch, 0, VQ_PAIRS_SET_LENGTH);
        final int pairs = (scratch[0] & U8) | (scratch[1] & U8) << 8;
        if (pairs < 1 || pairs > maxPairs)
        {
            counters.increment(NetCounter.CTRL_BAD_VQ_PAIRS);
            return VIRTIO_NET_ERR;
        }
        activePairs.set(pairs);
        return VIRTIO_NET_OK;
    }
}
