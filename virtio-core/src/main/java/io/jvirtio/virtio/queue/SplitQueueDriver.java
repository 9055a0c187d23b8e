package io.jvirtio.virtio.queue;

import io.jvirtio.bus.memory.GuestMemory;

import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_INDIRECT;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_NEXT;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_WRITE;

/**
 * The driver side of a split virtqueue, as a guest driver runs it (virtio-v1.2 §2.7.13 "Supplying Buffers to The
 * Device", §2.7.14 "Receiving Used Buffers From The Device"), for the guest driver library, tests and benchmarks.
 * <p>
 * It initializes the three areas in guest memory (zeroed, {@code used.flags = 0} as §2.7.10.1 requires), keeps the
 * free descriptors in its own list, and follows the driver requirements:
 * <ul>
 *     <li>{@link #post} writes a chain (readable buffers, then writable ones, §2.7.4.2) and its ring entry;
 *     {@link #postIndirect} does the same through an indirect table when VIRTIO_F_INDIRECT_DESC is negotiated;</li>
 *     <li>{@link #publish()} stores {@code avail.idx} with release order (§2.7.13.3.1);</li>
 *     <li>{@link #needsKick()} issues a full fence and then reads {@code used.flags} or {@code avail_event}
 *     (§2.7.13.4.1);</li>
 *     <li>{@link #reap()} loads {@code used.idx} with acquire order and then reads the element;</li>
 *     <li>{@link #disableInterrupts()} and {@link #enableInterruptsAndCheck()} manage NO_INTERRUPT or
 *     {@code used_event} (§2.7.7.1), re-checking after re-enabling as the §2.7.14 example does.</li>
 * </ul>
 * It checks what the device returns (a used id that is not in flight, or a length above the chain's writable bytes,
 * is an {@link IllegalStateException}). Post and reap allocate nothing. {@link #raw()} writes any value into any ring
 * field, for hostile-driver tests.
 * <p>
 * Thread safety: not thread-safe; owned by the guest thread that plays the driver. The device side runs on another
 * thread and meets it only through guest memory.
 */
public final class SplitQueueDriver
{
    /** {@link #post} result when there are not enough free descriptors. */
    public static final int NO_SPACE = -1;
    /** {@link #reap()} result when the device has used nothing new. */
    public static final int NOTHING_USED = -1;

    private static final int U16_MASK = 0xFFFF;
    private static final long U32_MASK = 0xFFFF_FFFFL;

    private final GuestMemory memory;
    private final RawSplitRing raw;
    private final int size;
    private final int mask;
    private final boolean eventIdx;
    private final long availRing;
    private final long availFlagsAddr;
    private final long availIdxAddr;
    private final long usedEventAddr;
    private final long usedRing;
    private final long usedFlagsAddr;
    private final long usedIdxAddr;
    private final long availEventAddr;
    private final long indirectTables;
    private final int indirectTableSize;

    private final int[] freeStack;
    private int freeTop;
    private final int[] nextOf;
    private final int[] chainDescriptors;
    private final long[] chainWritableBytes;
    private int outstanding;

    private int availIdx;
    private int publishedAvail;
    private int kickCheckedAvail;
    private long publishedSinceKickCheck;
    private int lastUsed;
    private long reapedLength;
    private boolean interruptsEnabled = true;

    /**
     * A driver without indirect tables, starting at index 0.
     *
     * @param memory guest memory.
     * @param config where the rings go and what was negotiated.
     */
    public SplitQueueDriver(final GuestMemory memory, final SplitQueueConfig config)
    {
        this(memory, config, 0, 0, 0);
    }

    /**
     * Initializes the rings in guest memory and the free list.
     *
     * @param memory            guest memory.
     * @param config            where the rings go and what was negotiated; must pass
     *                          {@link SplitQueueConfig#check(GuestMemory, int)}.
     * @param startIndex        the free-running index both rings start at, 0..65535 (0 after reset; others to test
     *                          the 16-bit wrap; the device must be activated with the same indices).
     * @param indirectTables    guest-physical address of N indirect tables, one per head, each
     *                          {@code indirectTableSize * 16} bytes; ignored when {@code indirectTableSize} is 0.
     * @param indirectTableSize descriptors per indirect table, 0 (no indirect posting) to N.
     * @throws IllegalArgumentException if the configuration or the indirect area is invalid.
     */
    public SplitQueueDriver(
        final GuestMemory memory,
        final SplitQueueConfig config,
        final int startIndex,
        final long indirectTables,
        final int indirectTableSize)
    {
        final QueueConfigStatus status = config.check(memory, SplitQueueConfig.MAX_QUEUE_SIZE);
        if (status != QueueConfigStatus.VALID)
        {
            throw new IllegalArgumentException("invalid ring configuration: status=" + status + ", config=" + config);
        }
        if ((startIndex & ~U16_MASK) != 0)
        {
            throw new IllegalArgumentException("start index must be 0 to 65535: startIndex=" + startIndex);
        }
        size = config.size();
        if (indirectTableSize < 0 || indirectTableSize > size || (indirectTableSize > 0 && !config.indirectDesc())
            || (indirectTableSize > 0 && !memory.isRam(indirectTables, (long)size * indirectTableSize * 16)))
        {
            throw new IllegalArgumentException("indirect tables need VIRTIO_F_INDIRECT_DESC, 0 to N entries and RAM: "
                + "indirectTableSize=" + indirectTableSize + ", indirectTables=0x" + Long.toHexString(indirectTables));
        }
        this.memory = memory;
        this.raw = new RawSplitRing(memory, config);
        this.mask = size - 1;
        this.eventIdx = config.eventIdx();
        this.availRing = config.availRing();
        this.availFlagsAddr = availRing + AvailRingLayout.FLAGS_OFFSET;
        this.availIdxAddr = availRing + AvailRingLayout.IDX_OFFSET;
        this.usedEventAddr = availRing + AvailRingLayout.usedEventOffset(size);
        this.usedRing = config.usedRing();
        this.usedFlagsAddr = usedRing + UsedRingLayout.FLAGS_OFFSET;
        this.usedIdxAddr = usedRing + UsedRingLayout.IDX_OFFSET;
        this.availEventAddr = usedRing + UsedRingLayout.availEventOffset(size);
        this.indirectTables = indirectTables;
        this.indirectTableSize = indirectTableSize;

        freeStack = new int[size];
        nextOf = new int[size];
        chainDescriptors = new int[size];
        chainWritableBytes = new long[size];
        for (int i = 0; i < size; i++)
        {
            freeStack[i] = size - 1 - i;
        }
        freeTop = size;

        memory.fill(config.descTable(), DescriptorLayout.tableLength(size), (byte)0);
        memory.fill(availRing, AvailRingLayout.length(size), (byte)0);
        memory.fill(usedRing, UsedRingLayout.length(size), (byte)0);
        memory.putShortLE(availIdxAddr, (short)startIndex);
        memory.putShortLE(usedIdxAddr, (short)startIndex);
        memory.putShortLE(usedEventAddr, (short)startIndex);
        availIdx = startIndex;
        publishedAvail = startIndex;
        kickCheckedAvail = startIndex;
        lastUsed = startIndex;
    }

    /**
     * Places a chain of direct descriptors, one per buffer, and its head in the next available-ring entry. The device
     * sees it after {@link #publish()}.
     *
     * @param addrs    buffer addresses: {@code readable} device-readable ones, then {@code writable} writable ones.
     * @param lens     buffer lengths, each 0..2^32 - 1, the total below 2^32.
     * @param readable number of device-readable buffers.
     * @param writable number of device-writable buffers.
     * @return the head index, or {@link #NO_SPACE} if fewer than {@code readable + writable} descriptors are free.
     * @throws IllegalArgumentException if the buffers break a driver rule.
     */
    public int post(final long[] addrs, final long[] lens, final int readable, final int writable)
    {
        final int count = checkBuffers(addrs, lens, readable, writable);
        if (count > freeTop)
        {
            return NO_SPACE;
        }
        final int head = freeStack[--freeTop];
        int d = head;
        long writableBytes = 0;
        // bound: count <= free descriptors <= N
        for (int i = 0; i < count; i++)
        {
            final boolean last = i == count - 1;
            final int next = last ? 0 : freeStack[--freeTop];
            final int flags = (i >= readable ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT);
            raw.descriptor(d, addrs[i], lens[i], flags, next);
            nextOf[d] = next;
            if (i >= readable)
            {
                writableBytes += lens[i];
            }
            d = next;
        }
        return offer(head, count, writableBytes);
    }

    /**
     * Places the buffers in this head's indirect table and one descriptor pointing to it in the ring (§2.7.5.3).
     *
     * @param addrs    buffer addresses: readable ones, then writable ones.
     * @param lens     buffer lengths, the total below 2^32.
     * @param readable number of device-readable buffers.
     * @param writable number of device-writable buffers; {@code readable + writable <= indirectTableSize}.
     * @return the head index, or {@link #NO_SPACE} if no descriptor is free.
     * @throws IllegalStateException    if the driver was built without indirect tables.
     * @throws IllegalArgumentException if the buffers break a driver rule or do not fit the table.
     */
    public int postIndirect(final long[] addrs, final long[] lens, final int readable, final int writable)
    {
        if (indirectTableSize == 0)
        {
            throw new IllegalStateException("this driver has no indirect tables: size=" + size);
        }
        final int count = checkBuffers(addrs, lens, readable, writable);
        if (count > indirectTableSize)
        {
            throw new IllegalArgumentException(
                "chain does not fit the indirect table: count=" + count + ", indirectTableSize=" + indirectTableSize);
        }
        if (freeTop == 0)
        {
            return NO_SPACE;
        }
        final int head = freeStack[--freeTop];
        final long table = indirectTables + (long)head * indirectTableSize * DescriptorLayout.LENGTH;
        long writableBytes = 0;
        // bound: count <= indirectTableSize <= N
        for (int i = 0; i < count; i++)
        {
            final boolean last = i == count - 1;
            final int flags = (i >= readable ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT);
            raw.descriptorAt(table + DescriptorLayout.offset(i), addrs[i], lens[i], flags, last ? 0 : i + 1);
            if (i >= readable)
            {
                writableBytes += lens[i];
            }
        }
        raw.descriptor(head, table, (long)count * DescriptorLayout.LENGTH, VIRTQ_DESC_F_INDIRECT, 0);
        return offer(head, 1, writableBytes);
    }

    private int offer(final int head, final int descriptors, final long writableBytes)
    {
        chainDescriptors[head] = descriptors;
        chainWritableBytes[head] = writableBytes;
        outstanding++;
        // plain store: publish() orders it (and the descriptors) before avail.idx with a release store
        raw.availEntry(availIdx & mask, head);
        availIdx = (availIdx + 1) & U16_MASK;
        return head;
    }

    private static int checkBuffers(final long[] addrs, final long[] lens, final int readable, final int writable)
    {
        final int count = readable + writable;
        if (readable < 0 || writable < 0 || count < 1 || count > addrs.length || count > lens.length)
        {
            throw new IllegalArgumentException("a chain needs 1 or more buffers within the arrays: readable="
                + readable + ", writable=" + writable + ", addrs=" + addrs.length + ", lens=" + lens.length);
        }
        long total = 0;
        for (int i = 0; i < count; i++)
        {
            if (lens[i] < 0 || lens[i] > U32_MASK)
            {
                throw new IllegalArgumentException("buffer length must be a u32: index=" + i + ", len=" + lens[i]);
            }
            total += lens[i];
        }
        if (total > U32_MASK)
        {
            // §2.7.5.2: drivers MUST NOT add a descriptor chain longer than 2^32 bytes in total
            throw new IllegalArgumentException("chain must total less than 2^32 bytes: total=" + total);
        }
        return count;
    }

    /** Makes every chain posted so far visible to the device: one {@code avail.idx} store with release order. */
    public void publish()
    {
        if (availIdx == publishedAvail)
        {
            return;
        }
        // release: the descriptors and ring entries written before are visible before the new idx (§2.7.13.3.1)
        memory.putShortReleaseLE(availIdxAddr, (short)availIdx);
        publishedSinceKickCheck += (availIdx - publishedAvail) & U16_MASK;
        publishedAvail = availIdx;
    }

    /**
     * Decides whether the device wants an available buffer notification for what was published since the last
     * decision (NO_NOTIFY, or {@code avail_event} with VIRTIO_F_EVENT_IDX, §2.7.10.1).
     *
     * @return true if the driver should kick; false if nothing new was published or the device suppressed it.
     */
    public boolean needsKick()
    {
        if (publishedSinceKickCheck == 0)
        {
            return false;
        }
        final int oldAvail = kickCheckedAvail;
        final int newAvail = publishedAvail;
        final boolean wrapped = publishedSinceKickCheck > U16_MASK;
        kickCheckedAvail = newAvail;
        publishedSinceKickCheck = 0;
        // full fence: avail.idx must be visible before flags or avail_event are read, to avoid missing a
        // notification (§2.7.13.4.1)
        GuestMemory.fullFence();
        if (eventIdx)
        {
            final int availEvent = memory.getShortLE(availEventAddr) & U16_MASK;
            return wrapped || EventIdx.needEvent(availEvent, newAvail, oldAvail);
        }
        return (memory.getShortLE(usedFlagsAddr) & UsedRingLayout.VIRTQ_USED_F_NO_NOTIFY) == 0;
    }

    /**
     * Takes the next used element, if any, and frees its descriptors. {@link #reapedLength()} then gives its length.
     *
     * @return the used chain's head, or {@link #NOTHING_USED}.
     * @throws IllegalStateException if the device returned an element that breaks the device rules.
     */
    public int reap()
    {
        // acquire: the used element is read only after the idx that published it (§2.7.8.2: len before idx)
        final int usedIdx = memory.getShortAcquireLE(usedIdxAddr) & U16_MASK;
        if (usedIdx == lastUsed)
        {
            return NOTHING_USED;
        }
        if (((usedIdx - lastUsed) & U16_MASK) > outstanding)
        {
            throw new IllegalStateException("device used more chains than are outstanding: usedIdx=" + usedIdx
                + ", lastUsed=" + lastUsed + ", outstanding=" + outstanding);
        }
        final long element = usedRing + UsedRingLayout.elementOffset(lastUsed & mask);
        final long id = memory.getIntLE(element + UsedRingLayout.ELEMENT_ID_OFFSET) & U32_MASK;
        final long len = memory.getIntLE(element + UsedRingLayout.ELEMENT_LEN_OFFSET) & U32_MASK;
        if (id >= size || chainDescriptors[(int)id] == 0)
        {
            throw new IllegalStateException("device returned a used id that is not in flight: id=" + id
                + ", lastUsed=" + lastUsed);
        }
        final int head = (int)id;
        if (len > chainWritableBytes[head])
        {
            throw new IllegalStateException("device claims more bytes than the chain can hold: id=" + id
                + ", len=" + len + ", writableBytes=" + chainWritableBytes[head]);
        }
        int d = head;
        // bound: the chain's own descriptor count, recorded when it was posted
        for (int n = chainDescriptors[head]; n > 0; n--)
        {
            freeStack[freeTop++] = d;
            d = nextOf[d];
        }
        chainDescriptors[head] = 0;
        outstanding--;
        lastUsed = (lastUsed + 1) & U16_MASK;
        reapedLength = len;
        if (eventIdx && interruptsEnabled)
        {
            // ask for an interrupt when the device writes the entry after this one (plain store: a waiter re-checks
            // with enableInterruptsAndCheck(), which fences)
            memory.putShortLE(usedEventAddr, (short)lastUsed);
        }
        return head;
    }

    /** @return the {@code len} of the element the last successful {@link #reap()} returned. */
    public long reapedLength()
    {
        return reapedLength;
    }

    /**
     * Asks the device not to send used buffer notifications: {@code avail.flags = NO_INTERRUPT}; with
     * VIRTIO_F_EVENT_IDX the flags stay 0 (§2.7.7.1) and {@code used_event} is left behind the used index, which the
     * device has then already passed.
     */
    public void disableInterrupts()
    {
        if (!interruptsEnabled)
        {
            return;
        }
        interruptsEnabled = false;
        if (!eventIdx)
        {
            memory.putShortLE(availFlagsAddr, (short)AvailRingLayout.VIRTQ_AVAIL_F_NO_INTERRUPT);
        }
    }

    /**
     * Asks for used buffer notifications again ({@code avail.flags = 0}, or {@code used_event} = the next element
     * to reap), then re-reads {@code used.idx}: an element used in between raised no interrupt (§2.7.14).
     *
     * @return true if elements are waiting to be reaped; false if the driver may wait for an interrupt.
     */
    public boolean enableInterruptsAndCheck()
    {
        interruptsEnabled = true;
        if (eventIdx)
        {
            memory.putShortLE(usedEventAddr, (short)lastUsed);
        }
        else
        {
            memory.putShortLE(availFlagsAddr, (short)0);
        }
        // full fence: the store above must be visible before used.idx is re-read, or an element used in between
        // would raise no interrupt and wait unseen
        GuestMemory.fullFence();
        return (memory.getShortAcquireLE(usedIdxAddr) & U16_MASK) != lastUsed;
    }

    /** @return descriptors free in the descriptor table. */
    public int freeDescriptors()
    {
        return freeTop;
    }

    /** @return chains posted and not yet reaped. */
    public int outstanding()
    {
        return outstanding;
    }

    /** @return the driver's available index: where the next posted chain goes. */
    public int availIdx()
    {
        return availIdx;
    }

    /** @return the used index of the next element to reap. */
    public int lastUsed()
    {
        return lastUsed;
    }

    /** @return Queue Size, N. */
    public int size()
    {
        return size;
    }

    /** @return unchecked access to every ring field, for hostile-driver tests. */
    public RawSplitRing raw()
    {
        return raw;
    }
}
