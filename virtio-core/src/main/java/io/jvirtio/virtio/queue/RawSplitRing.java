package io.jvirtio.virtio.queue;

import io.jvirtio.bus.memory.GuestMemory;

/**
 * Unchecked access to every field of one split ring in guest memory, for the hostile-driver tests: it writes whatever
 * value it is given into descriptors, available-ring entries, {@code avail.idx}, {@code avail.flags} and
 * {@code used_event}, and reads back what the device wrote. Only guest memory's own bounds checks apply (an address
 * outside RAM throws {@link io.jvirtio.bus.memory.GuestMemoryException}).
 * <p>
 * Field layouts are {@link DescriptorLayout}, {@link AvailRingLayout} and {@link UsedRingLayout}; setters are fluent
 * and take the field's full unsigned range (le16 from an {@code int}, le32 from a {@code long}; higher bits are
 * dropped). Stores to {@code avail.idx} use release order so that a test's descriptor writes are visible first.
 * <p>
 * Thread safety: a stateless view; the guest thread that plays the driver calls it.
 */
public final class RawSplitRing
{
    private final GuestMemory memory;
    private final int size;
    private final long descTable;
    private final long availRing;
    private final long usedRing;

    /**
     * @param memory guest memory.
     * @param config the ring's addresses and Queue Size.
     */
    public RawSplitRing(final GuestMemory memory, final SplitQueueConfig config)
    {
        this.memory = memory;
        this.size = config.size();
        this.descTable = config.descTable();
        this.availRing = config.availRing();
        this.usedRing = config.usedRing();
    }

    /** @return Queue Size, N. */
    public int size()
    {
        return size;
    }

    /**
     * Writes descriptor {@code index} of the descriptor table.
     *
     * @param index table index (0 to N - 1 inside the table; any index that stays in RAM is written).
     * @param addr  {@code addr}.
     * @param len   {@code len}, low 32 bits.
     * @param flags {@code flags}, low 16 bits.
     * @param next  {@code next}, low 16 bits.
     * @return this.
     */
    public RawSplitRing descriptor(final int index, final long addr, final long len, final int flags, final int next)
    {
        return descriptorAt(descTable + DescriptorLayout.offset(index), addr, len, flags, next);
    }

    /**
     * Writes a descriptor anywhere in guest memory, for example into an indirect table.
     *
     * @param gpa   guest-physical address of the 16-byte descriptor.
     * @param addr  {@code addr}.
     * @param len   {@code len}, low 32 bits.
     * @param flags {@code flags}, low 16 bits.
     * @param next  {@code next}, low 16 bits.
     * @return this.
     */
    public RawSplitRing descriptorAt(final long gpa, final long addr, final long len, final int flags, final int next)
    {
        memory.putLongLE(gpa + DescriptorLayout.ADDR_OFFSET, addr);
        memory.putIntLE(gpa + DescriptorLayout.LEN_OFFSET, (int)len);
        memory.putShortLE(gpa + DescriptorLayout.FLAGS_OFFSET, (short)flags);
        memory.putShortLE(gpa + DescriptorLayout.NEXT_OFFSET, (short)next);
        return this;
    }

    /**
     * @param flags {@code avail.flags}, low 16 bits.
     * @return this.
     */
    public RawSplitRing availFlags(final int flags)
    {
        memory.putShortLE(availRing + AvailRingLayout.FLAGS_OFFSET, (short)flags);
        return this;
    }

    /**
     * @param idx {@code avail.idx}, low 16 bits; stored with release order.
     * @return this.
     */
    public RawSplitRing availIdx(final int idx)
    {
        memory.putShortReleaseLE(availRing + AvailRingLayout.IDX_OFFSET, (short)idx);
        return this;
    }

    /**
     * @param slot ring slot, 0 to N - 1.
     * @param head the value of {@code ring[slot]}, low 16 bits.
     * @return this.
     */
    public RawSplitRing availEntry(final int slot, final int head)
    {
        memory.putShortLE(availRing + AvailRingLayout.ringEntryOffset(slot), (short)head);
        return this;
    }

    /**
     * @param usedEvent {@code used_event}, low 16 bits.
     * @return this.
     */
    public RawSplitRing usedEvent(final int usedEvent)
    {
        memory.putShortLE(availRing + AvailRingLayout.usedEventOffset(size), (short)usedEvent);
        return this;
    }

    /** @return {@code avail.idx}. */
    public int availIdx()
    {
        return memory.getShortLE(availRing + AvailRingLayout.IDX_OFFSET) & 0xFFFF;
    }

    /** @return {@code avail.flags}. */
    public int availFlags()
    {
        return memory.getShortLE(availRing + AvailRingLayout.FLAGS_OFFSET) & 0xFFFF;
    }

    /** @return {@code used_event}. */
    public int usedEvent()
    {
        return memory.getShortLE(availRing + AvailRingLayout.usedEventOffset(size)) & 0xFFFF;
    }

    /** @return {@code used.flags}. */
    public int usedFlags()
    {
        return memory.getShortLE(usedRing + UsedRingLayout.FLAGS_OFFSET) & 0xFFFF;
    }

    /** @return {@code used.idx}, loaded with acquire order. */
    public int usedIdx()
    {
        return memory.getShortAcquireLE(usedRing + UsedRingLayout.IDX_OFFSET) & 0xFFFF;
    }

    /**
     * @param slot ring slot, 0 to N - 1.
     * @return {@code used.ring[slot].id}, unsigned.
     */
    public long usedId(final int slot)
    {
        return memory.getIntLE(usedRing + UsedRingLayout.elementOffset(slot) + UsedRingLayout.ELEMENT_ID_OFFSET)
            & 0xFFFF_FFFFL;
    }

    /**
     * @param slot ring slot, 0 to N - 1.
     * @return {@code used.ring[slot].len}, unsigned.
     */
    public long usedLen(final int slot)
    {
        return memory.getIntLE(usedRing + UsedRingLayout.elementOffset(slot) + UsedRingLayout.ELEMENT_LEN_OFFSET)
            & 0xFFFF_FFFFL;
    }

    /** @return {@code avail_event}. */
    public int availEvent()
    {
        return memory.getShortLE(usedRing + UsedRingLayout.availEventOffset(size)) & 0xFFFF;
    }
}
