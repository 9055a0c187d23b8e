package io.jvirtio.virtio.queue;

import io.jvirtio.bus.memory.GuestMemory;

import java.util.Arrays;

import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_INDIRECT;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_NEXT;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_WRITE;

/**
 * The device side of a split virtqueue, virtio-v1.2 §2.7 "Split Virtqueues", written for a hostile driver.
 * <p>
 * <b>Lifecycle.</b> The transport builds one queue per virtqueue with the device's maximum size, and at enable
 * (DRIVER_OK or queue_enable) calls {@link #activate(SplitQueueConfig)}, which validates the driver's configuration
 * and freezes a copy of it. {@link #reset()} deactivates the queue.
 * <p>
 * <b>Validation.</b> {@link #pop(DescriptorChain)} reads each descriptor once into the cursor and checks, before the
 * chain reaches the device: the available-index jump ({@code (u16)(avail.idx - last_avail) <= N}), head and next
 * indexes, a hop budget (N, or the table length inside an indirect table), the indirect rules, readable before
 * writable, total length below 2^32, every buffer inside one RAM region, device-writable buffers clear of the rings,
 * and no head in flight twice. A violation breaks the queue: pop returns {@link PopStatus#BROKEN}, the error is
 * recorded and counted, the {@link QueueBrokenListener} is told once, and the queue refuses to pop or publish until
 * reset. Nothing on the data path throws for guest input.
 * A kick is only a hint: pop always reads {@code avail.idx} itself and never relies on notification data
 * (§2.9 "Driver Notifications").
 * <p>
 * <b>Zero-length descriptors</b> are accepted, counted ({@link QueueCounter#ZERO_LENGTH_DESCRIPTORS}) and carried as
 * empty segments: the spec does not forbid them, every walk here is bounded by hops rather than bytes (the loop of
 * CVE-2016-6490 cannot happen), and no byte is ever accessed through them, so their address is not checked.
 * <p>
 * <b>Publish order</b> (virtio-v1.2 §2.7.8.2, §2.7.7.2): the device writes the data, {@link #complete} writes the used
 * element, {@link #publish()} stores {@code used.idx} with release order, {@link #needsInterrupt()} issues a full
 * fence and only then reads {@code avail.flags} or {@code used_event}. The worker loop that uses these operations is
 * in {@link VirtQueue}'s class comment.
 * <p>
 * Thread safety: {@link #activate} and {@link #reset()} run on the control thread while no worker uses the queue
 * (the transport hands the queue to the worker after activation and takes it back after the worker has stopped);
 * every other method runs only on the worker thread that owns the queue; {@link #counters()} may be read from any
 * thread. Nothing takes a lock.
 */
public final class SplitQueue implements VirtQueue
{
    private static final int U16_MASK = 0xFFFF;
    private static final long U32_MASK = 0xFFFF_FFFFL;

    private final GuestMemory memory;
    private final int maxSize;
    private final QueueBrokenListener listener;
    private final QueueCounters counters = new QueueCounters();
    private final boolean[] inFlightHeads;

    private boolean active;
    private int size;
    private int mask;
    private boolean eventIdx;
    private boolean indirectDesc;
    private long descTable;
    private long descTableLength;
    private long availRing;
    private long availRingLength;
    private long usedRing;
    private long usedRingLength;
    private long availIdxAddr;
    private long availFlagsAddr;
    private long usedEventAddr;
    private long usedFlagsAddr;
    private long usedIdxAddr;
    private long availEventAddr;

    private int nextAvail;
    private int nextUsed;
    private int pendingUsed;
    private int publishedUsed;
    private int checkedUsed;
    private long publishedSinceCheck;
    private int inFlight;
    private boolean notificationsEnabled;
    private boolean broken;
    private QueueError brokenReason;

    /**
     * @param memory   guest memory.
     * @param maxSize  the device's maximum Queue Size for this queue (QueueSizeMax), 1..32768.
     * @param listener told when the queue breaks; {@link QueueBrokenListener#NONE} for nobody.
     */
    public SplitQueue(final GuestMemory memory, final int maxSize, final QueueBrokenListener listener)
    {
        if (maxSize < 1 || maxSize > SplitQueueConfig.MAX_QUEUE_SIZE)
        {
            throw new IllegalArgumentException("maximum queue size must be 1 to 32768: maxSize=" + maxSize);
        }
        this.memory = memory;
        this.maxSize = maxSize;
        this.listener = listener;
        this.inFlightHeads = new boolean[maxSize];
    }

    /**
     * {@link #activate(SplitQueueConfig, int, int)} from indices 0, as after a device reset.
     *
     * @param config the driver's configuration.
     * @return {@link QueueConfigStatus#VALID} if the queue is now active, else the problem (the queue stays inactive).
     */
    public QueueConfigStatus activate(final SplitQueueConfig config)
    {
        return activate(config, 0, 0);
    }

    /**
     * Validates the configuration ({@link SplitQueueConfig#check}) and, if valid, freezes it and activates the queue
     * with the given indices (0 and 0 after reset; other values restore a saved queue, and the first pop validates
     * them against the ring like any guest value). Driver notifications start enabled: the device writes
     * {@code used.flags = 0}, or {@code avail_event = nextAvail} with VIRTIO_F_EVENT_IDX.
     *
     * @param config    the driver's configuration.
     * @param nextAvail the free-running available index of the next chain to pop, 0..65535.
     * @param nextUsed  the free-running used index of the next element to write, 0..65535.
     * @return {@link QueueConfigStatus#VALID} if the queue is now active, else the problem (the queue stays inactive
     *     and {@link QueueCounter#CONFIGS_REJECTED} counts it).
     * @throws IllegalStateException    if the queue is already active.
     * @throws IllegalArgumentException if an index is not a u16.
     */
    public QueueConfigStatus activate(final SplitQueueConfig config, final int nextAvail, final int nextUsed)
    {
        if (active)
        {
            throw new IllegalStateException("queue is already active; reset it first: size=" + size);
        }
        if ((nextAvail & ~U16_MASK) != 0 || (nextUsed & ~U16_MASK) != 0)
        {
            throw new IllegalArgumentException(
                "ring indices must be 0 to 65535: nextAvail=" + nextAvail + ", nextUsed=" + nextUsed);
        }
        final QueueConfigStatus status = config.check(memory, maxSize);
        if (status != QueueConfigStatus.VALID)
        {
            counters.increment(QueueCounter.CONFIGS_REJECTED);
            return status;
        }
        size = config.size();
        mask = size - 1;
        eventIdx = config.eventIdx();
        indirectDesc = config.indirectDesc();
        descTable = config.descTable();
        descTableLength = DescriptorLayout.tableLength(size);
        availRing = config.availRing();
        availRingLength = AvailRingLayout.length(size);
        usedRing = config.usedRing();
        usedRingLength = UsedRingLayout.length(size);
        availFlagsAddr = availRing + AvailRingLayout.FLAGS_OFFSET;
        availIdxAddr = availRing + AvailRingLayout.IDX_OFFSET;
        usedEventAddr = availRing + AvailRingLayout.usedEventOffset(size);
        usedFlagsAddr = usedRing + UsedRingLayout.FLAGS_OFFSET;
        usedIdxAddr = usedRing + UsedRingLayout.IDX_OFFSET;
        availEventAddr = usedRing + UsedRingLayout.availEventOffset(size);

        this.nextAvail = nextAvail;
        this.nextUsed = nextUsed;
        pendingUsed = 0;
        publishedUsed = nextUsed;
        checkedUsed = nextUsed;
        publishedSinceCheck = 0;
        inFlight = 0;
        Arrays.fill(inFlightHeads, 0, size, false);
        broken = false;
        brokenReason = null;
        notificationsEnabled = true;
        writeNotificationState();
        active = true;
        return QueueConfigStatus.VALID;
    }

    /**
     * @return the configuration the queue was activated with, or null if it is not active. For the control plane
     *     and tests (it allocates): what a transport or a vhost-user front-end handed over at activation.
     */
    public SplitQueueConfig activeConfig()
    {
        if (!active)
        {
            return null;
        }
        return new SplitQueueConfig(size, descTable, availRing, usedRing, eventIdx, indirectDesc);
    }

    @Override
    public void reset()
    {
        active = false;
        size = 0;
        broken = false;
        brokenReason = null;
        pendingUsed = 0;
        inFlight = 0;
    }

    @Override
    public PopStatus pop(final DescriptorChain chain)
    {
        checkActive();
        if (chain.capacity() < size)
        {
            throw new IllegalArgumentException(
                "chain cursor is smaller than the queue: capacity=" + chain.capacity() + ", size=" + size);
        }
        if (chain.owner() == this && inFlightHeads[chain.head()])
        {
            // reusing the cursor would lose the chain: its head would stay in flight forever (CVE-2022-26354)
            throw new IllegalStateException("chain cursor still holds a chain in flight: head=" + chain.head());
        }
        chain.clear();
        if (broken)
        {
            counters.increment(QueueCounter.POPS_REFUSED);
            return PopStatus.BROKEN;
        }
        final GuestMemory memory = this.memory;
        // acquire: the ring entry and the descriptors, written by the driver before it stored idx (§2.7.13.3.1),
        // are read only after idx
        final int availIdx = memory.getShortAcquireLE(availIdxAddr) & U16_MASK;
        final int position = nextAvail;
        final int pending = (availIdx - position) & U16_MASK;
        if (pending == 0)
        {
            return PopStatus.EMPTY;
        }
        if (pending > size)
        {
            return fail(QueueError.AVAIL_INDEX_JUMP);
        }
        final int head = memory.getShortLE(availRing + AvailRingLayout.ringEntryOffset(position & mask)) & U16_MASK;
        if (head >= size)
        {
            return fail(QueueError.HEAD_OUT_OF_RANGE);
        }
        if (inFlightHeads[head])
        {
            return fail(QueueError.DUPLICATE_HEAD);
        }
        chain.start(memory, this, head, position);
        final QueueError error = walk(chain, head);
        if (error != null)
        {
            chain.clear();
            return fail(error);
        }
        inFlightHeads[head] = true;
        inFlight++;
        nextAvail = (position + 1) & U16_MASK;
        counters.increment(QueueCounter.CHAINS_POPPED);
        return PopStatus.CHAIN;
    }

    /**
     * Walks the chain from {@code head}, copying each buffer descriptor into the cursor.
     *
     * @return null if the chain is valid, else the rule it breaks.
     */
    private QueueError walk(final DescriptorChain chain, final int head)
    {
        final GuestMemory memory = this.memory;
        final int size = this.size;
        long table = descTable;
        int tableLength = size;
        // bound: a chain without a loop visits each of the N table entries at most once (§2.7.5: the table size "is
        // the maximum possible descriptor chain length"), so hop N + 1 proves a loop; inside an indirect table the
        // budget restarts once at the table length, which is the "+1 hop" for the descriptor pointing at the table
        int hopsLeft = size;
        boolean inIndirect = false;
        boolean seenWritable = false;
        long total = 0;
        int index = head;
        while (hopsLeft-- > 0)
        {
            final long desc = table + DescriptorLayout.offset(index);
            // each field is read exactly once, into locals and then the cursor: the guest changing the descriptor
            // later cannot change what was validated
            final long addr = memory.getLongLE(desc + DescriptorLayout.ADDR_OFFSET);
            final long len = memory.getIntLE(desc + DescriptorLayout.LEN_OFFSET) & U32_MASK;
            final int flags = memory.getShortLE(desc + DescriptorLayout.FLAGS_OFFSET) & U16_MASK;
            final int next = memory.getShortLE(desc + DescriptorLayout.NEXT_OFFSET) & U16_MASK;

            if ((flags & VIRTQ_DESC_F_INDIRECT) != 0)
            {
                final QueueError error = checkIndirect(inIndirect, flags, addr, len);
                if (error != null)
                {
                    return error;
                }
                if ((flags & VIRTQ_DESC_F_WRITE) != 0)
                {
                    // §2.7.5.3.2: the device MUST ignore the write-only flag on the descriptor that refers to a table
                    counters.increment(QueueCounter.INDIRECT_WRITE_FLAG_IGNORED);
                }
                table = addr;
                tableLength = (int)(len / DescriptorLayout.LENGTH);
                hopsLeft = tableLength;
                inIndirect = true;
                index = 0;
                continue;
            }

            final boolean writable = (flags & VIRTQ_DESC_F_WRITE) != 0;
            if (writable)
            {
                seenWritable = true;
            }
            else if (seenWritable)
            {
                return QueueError.ORDER_VIOLATION;
            }
            if (len == 0)
            {
                counters.increment(QueueCounter.ZERO_LENGTH_DESCRIPTORS);
            }
            else if (!memory.isRam(addr, len))
            {
                return QueueError.ADDRESS_OUT_OF_RANGE;
            }
            else if (writable && overlapsRings(addr, len))
            {
                return QueueError.BUFFER_OVERLAPS_RING;
            }
            total += len;
            if (total > U32_MASK)
            {
                return QueueError.LENGTH_OVERFLOW;
            }
            if (chain.segments() == size)
            {
                return QueueError.CHAIN_TOO_LONG;
            }
            chain.add(addr, len, writable);

            if ((flags & VIRTQ_DESC_F_NEXT) == 0)
            {
                return null;
            }
            if (next >= tableLength)
            {
                return QueueError.NEXT_OUT_OF_RANGE;
            }
            index = next;
        }
        return QueueError.LOOPED_DESCRIPTOR;
    }

    /** The rules for a descriptor that points to an indirect table (§2.7.5.3.1 and the device's checks of them). */
    private QueueError checkIndirect(final boolean inIndirect, final int flags, final long addr, final long len)
    {
        if (inIndirect)
        {
            return QueueError.NESTED_INDIRECT;
        }
        if (!indirectDesc)
        {
            return QueueError.INDIRECT_NOT_NEGOTIATED;
        }
        if ((flags & VIRTQ_DESC_F_NEXT) != 0)
        {
            return QueueError.INDIRECT_WITH_NEXT;
        }
        if (len == 0 || len % DescriptorLayout.LENGTH != 0 || len / DescriptorLayout.LENGTH > size
            || !memory.isRam(addr, len))
        {
            return QueueError.BAD_INDIRECT;
        }
        return null;
    }

    /** A device-writable buffer, already known to be in RAM, against the three areas of this queue. */
    private boolean overlapsRings(final long addr, final long len)
    {
        return SplitQueueConfig.overlaps(addr, len, descTable, descTableLength)
            || SplitQueueConfig.overlaps(addr, len, availRing, availRingLength)
            || SplitQueueConfig.overlaps(addr, len, usedRing, usedRingLength);
    }

    private PopStatus fail(final QueueError error)
    {
        broken = true;
        brokenReason = error;
        counters.increment(error);
        counters.increment(QueueCounter.QUEUE_BROKEN);
        listener.onBroken(this, error);
        return PopStatus.BROKEN;
    }

    @Override
    public void complete(final DescriptorChain chain, final long bytesWritten)
    {
        checkActive();
        final int head = checkInFlight(chain);
        if (bytesWritten < 0 || bytesWritten > chain.writableBytes())
        {
            throw new IllegalArgumentException("used length must be within the chain's writable bytes: bytesWritten="
                + bytesWritten + ", writableBytes=" + chain.writableBytes() + ", head=" + head);
        }
        inFlightHeads[head] = false;
        inFlight--;
        chain.clear();
        if (broken)
        {
            counters.increment(QueueCounter.COMPLETIONS_DISCARDED);
            return;
        }
        final long element = usedRing + UsedRingLayout.elementOffset(nextUsed & mask);
        // plain stores: publish() orders them before used.idx with a release store (§2.7.8.2: len before idx)
        memory.putIntLE(element + UsedRingLayout.ELEMENT_ID_OFFSET, head);
        memory.putIntLE(element + UsedRingLayout.ELEMENT_LEN_OFFSET, (int)bytesWritten);
        nextUsed = (nextUsed + 1) & U16_MASK;
        pendingUsed++;
        counters.increment(QueueCounter.CHAINS_COMPLETED);
    }

    @Override
    public void unpop(final DescriptorChain chain)
    {
        checkActive();
        final int head = checkInFlight(chain);
        if (chain.availPosition() != ((nextAvail - 1) & U16_MASK))
        {
            throw new IllegalStateException("only the latest popped chain can be unpopped: head=" + head
                + ", availPosition=" + chain.availPosition() + ", nextAvail=" + nextAvail);
        }
        inFlightHeads[head] = false;
        inFlight--;
        nextAvail = chain.availPosition();
        chain.clear();
        counters.increment(QueueCounter.CHAINS_UNPOPPED);
    }

    /** @return the chain's head, which this check proves is below N and in flight on this queue. */
    private int checkInFlight(final DescriptorChain chain)
    {
        final int head = chain.head();
        if (chain.owner() != this || head < 0 || head >= size || !inFlightHeads[head])
        {
            throw new IllegalStateException("chain is not in flight on this queue: head=" + head + ", size=" + size);
        }
        return head;
    }

    @Override
    public void publish()
    {
        checkActive();
        if (broken || pendingUsed == 0)
        {
            return;
        }
        // release: the buffer data and the used elements written before are visible before the new idx (§2.7.8.2)
        memory.putShortReleaseLE(usedIdxAddr, (short)nextUsed);
        counters.add(QueueCounter.USED_PUBLISHED, pendingUsed);
        publishedSinceCheck += pendingUsed;
        pendingUsed = 0;
        publishedUsed = nextUsed;
    }

    @Override
    public boolean needsInterrupt()
    {
        checkActive();
        if (broken || publishedSinceCheck == 0)
        {
            return false;
        }
        final int oldUsed = checkedUsed;
        final int newUsed = publishedUsed;
        final boolean wrapped = publishedSinceCheck > U16_MASK;
        checkedUsed = newUsed;
        publishedSinceCheck = 0;
        // full fence: the used.idx store must be visible before the driver's suppression field is read; otherwise the
        // driver may re-enable interrupts after our stale read and wait for an interrupt that never comes
        GuestMemory.fullFence();
        final boolean needed;
        if (eventIdx)
        {
            // §2.7.7.2: with EVENT_IDX the device ignores avail.flags and notifies when it passed used_event
            final int usedEvent = memory.getShortLE(usedEventAddr) & U16_MASK;
            needed = wrapped || EventIdx.needEvent(usedEvent, newUsed, oldUsed);
        }
        else
        {
            needed = (memory.getShortLE(availFlagsAddr) & AvailRingLayout.VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
        }
        counters.increment(needed ? QueueCounter.INTERRUPTS_NEEDED : QueueCounter.INTERRUPTS_SUPPRESSED);
        return needed;
    }

    @Override
    public void disableNotification()
    {
        checkActive();
        if (broken || !notificationsEnabled)
        {
            return;
        }
        notificationsEnabled = false;
        counters.increment(QueueCounter.NOTIFICATIONS_SUPPRESSED);
        if (!eventIdx)
        {
            memory.putShortLE(usedFlagsAddr, (short)UsedRingLayout.VIRTQ_USED_F_NO_NOTIFY);
        }
        // with EVENT_IDX used.flags stays 0 (§2.7.10.2) and avail_event is left where it is: it names an entry the
        // driver has already published (the one whose kick woke the worker, or that the re-check found), so the
        // driver's need-event test stays false until the next enable moves it
    }

    @Override
    public boolean enableNotificationAndRecheck()
    {
        checkActive();
        if (broken)
        {
            return false;
        }
        notificationsEnabled = true;
        writeNotificationState();
        // full fence: the store above must be visible before avail.idx is re-read; otherwise the driver may read the
        // old suppression state after we read its old idx, not kick, and the new chain would wait forever
        GuestMemory.fullFence();
        final int availIdx = memory.getShortAcquireLE(availIdxAddr) & U16_MASK;
        final boolean more = availIdx != nextAvail;
        if (more)
        {
            counters.increment(QueueCounter.RECHECK_FOUND_WORK);
        }
        return more;
    }

    /** Writes "notify me" into the device area: used.flags = 0, or avail_event = next chain to pop (§2.7.10.2). */
    private void writeNotificationState()
    {
        if (eventIdx)
        {
            memory.putShortLE(availEventAddr, (short)nextAvail);
        }
        else
        {
            memory.putShortLE(usedFlagsAddr, (short)0);
        }
    }

    private void checkActive()
    {
        if (!active)
        {
            throw new IllegalStateException("queue is not active: maxSize=" + maxSize);
        }
    }

    @Override
    public boolean isBroken()
    {
        return broken;
    }

    @Override
    public QueueError brokenReason()
    {
        return brokenReason;
    }

    @Override
    public int size()
    {
        return size;
    }

    @Override
    public int inFlight()
    {
        return inFlight;
    }

    @Override
    public QueueCounters counters()
    {
        return counters;
    }

    /** @return true between a valid {@link #activate} and {@link #reset()}. */
    public boolean isActive()
    {
        return active;
    }

    /** @return the free-running available index of the next chain to pop (for save/restore and tests). */
    public int nextAvail()
    {
        return nextAvail;
    }

    /** @return the free-running used index of the next element to write (for save/restore and tests). */
    public int nextUsed()
    {
        return nextUsed;
    }
}
