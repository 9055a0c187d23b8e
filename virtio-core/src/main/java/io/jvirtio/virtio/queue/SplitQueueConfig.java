package io.jvirtio.virtio.queue;

import io.jvirtio.bus.memory.GuestMemory;

/**
 * The configuration of one split virtqueue as the driver wrote it through the transport: Queue Size, the
 * guest-physical addresses of the three areas, and the two negotiated ring features. The record only carries values;
 * {@link #check(GuestMemory, int)} validates them, and {@link SplitQueue#activate(SplitQueueConfig)} freezes a valid
 * copy until reset (CVE-2026-5747: queue registers written after enable must not reach the rings).
 * <p>
 * Thread safety: immutable; any thread.
 *
 * @param size         Queue Size, N, as written by the driver (any value; validated by {@link #check}).
 * @param descTable    guest-physical address of the descriptor table (the Descriptor Area).
 * @param availRing    guest-physical address of the available ring (the Driver Area).
 * @param usedRing     guest-physical address of the used ring (the Device Area).
 * @param eventIdx     VIRTIO_F_EVENT_IDX (bit 29) was negotiated.
 * @param indirectDesc VIRTIO_F_INDIRECT_DESC (bit 28) was negotiated.
 */
public record SplitQueueConfig(
    int size,
    long descTable,
    long availRing,
    long usedRing,
    boolean eventIdx,
    boolean indirectDesc)
{
    /** The largest Queue Size of a split virtqueue (virtio-v1.2 §2.7: "The maximum Queue Size value is 32768"). */
    public static final int MAX_QUEUE_SIZE = 32768;

    /**
     * Lays the three areas out back to back from {@code base}, as a driver allocating one block would: the
     * descriptor table at {@code base}, the available ring right after it, the used ring at the next 4-byte
     * boundary.
     *
     * @param base         guest-physical start, 16-byte aligned.
     * @param size         Queue Size, a power of 2 up to 32768.
     * @param eventIdx     VIRTIO_F_EVENT_IDX negotiated.
     * @param indirectDesc VIRTIO_F_INDIRECT_DESC negotiated.
     * @return the configuration.
     * @throws IllegalArgumentException if {@code base} is misaligned or {@code size} is not a valid Queue Size.
     */
    public static SplitQueueConfig contiguous(
        final long base, final int size, final boolean eventIdx, final boolean indirectDesc)
    {
        if ((base & (DescriptorLayout.ALIGNMENT - 1)) != 0)
        {
            throw new IllegalArgumentException("ring base must be 16-byte aligned: base=0x" + Long.toHexString(base));
        }
        checkSize(size);
        final long availRing = base + DescriptorLayout.tableLength(size);
        final long usedRing = alignUp(availRing + AvailRingLayout.length(size), UsedRingLayout.ALIGNMENT);
        return new SplitQueueConfig(size, base, availRing, usedRing, eventIdx, indirectDesc);
    }

    /**
     * @param size Queue Size, a power of 2 up to 32768.
     * @return bytes that {@link #contiguous(long, int, boolean, boolean)} occupies from its base.
     */
    public static long contiguousLength(final int size)
    {
        checkSize(size);
        final long availEnd = DescriptorLayout.tableLength(size) + AvailRingLayout.length(size);
        return alignUp(availEnd, UsedRingLayout.ALIGNMENT) + UsedRingLayout.length(size);
    }

    /**
     * Validates the configuration as a device must at queue enable (conformance checklist item 4): size not 0, a
     * power of 2 and at most {@code maxSize}; alignment 16/2/4; each area entirely inside one RAM region; the used
     * ring clear of the two driver areas. Never throws for any field value.
     *
     * @param memory  guest memory.
     * @param maxSize the device's maximum Queue Size for this queue (QueueSizeMax), 1..32768.
     * @return {@link QueueConfigStatus#VALID} or the first problem found.
     */
    public QueueConfigStatus check(final GuestMemory memory, final int maxSize)
    {
        if (size == 0)
        {
            return QueueConfigStatus.SIZE_ZERO;
        }
        if (size < 0 || (size & (size - 1)) != 0)
        {
            return QueueConfigStatus.SIZE_NOT_POWER_OF_TWO;
        }
        if (size > maxSize || size > MAX_QUEUE_SIZE)
        {
            return QueueConfigStatus.SIZE_ABOVE_MAX;
        }
        if ((descTable & (DescriptorLayout.ALIGNMENT - 1)) != 0)
        {
            return QueueConfigStatus.DESC_TABLE_MISALIGNED;
        }
        if ((availRing & (AvailRingLayout.ALIGNMENT - 1)) != 0)
        {
            return QueueConfigStatus.AVAIL_RING_MISALIGNED;
        }
        if ((usedRing & (UsedRingLayout.ALIGNMENT - 1)) != 0)
        {
            return QueueConfigStatus.USED_RING_MISALIGNED;
        }
        final long descLength = DescriptorLayout.tableLength(size);
        final long availLength = AvailRingLayout.length(size);
        final long usedLength = UsedRingLayout.length(size);
        if (!memory.isRam(descTable, descLength))
        {
            return QueueConfigStatus.DESC_TABLE_NOT_IN_RAM;
        }
        if (!memory.isRam(availRing, availLength))
        {
            return QueueConfigStatus.AVAIL_RING_NOT_IN_RAM;
        }
        if (!memory.isRam(usedRing, usedLength))
        {
            return QueueConfigStatus.USED_RING_NOT_IN_RAM;
        }
        if (overlaps(usedRing, usedLength, descTable, descLength)
            || overlaps(usedRing, usedLength, availRing, availLength))
        {
            return QueueConfigStatus.USED_RING_OVERLAPS;
        }
        return QueueConfigStatus.VALID;
    }

    /**
     * Two non-empty ranges that are each known not to wrap 2^64 overlap if each starts before the other ends.
     */
    static boolean overlaps(final long a, final long aLength, final long b, final long bLength)
    {
        return Long.compareUnsigned(a, b + bLength - 1) <= 0 && Long.compareUnsigned(b, a + aLength - 1) <= 0;
    }

    private static void checkSize(final int size)
    {
        if (size <= 0 || size > MAX_QUEUE_SIZE || (size & (size - 1)) != 0)
        {
            throw new IllegalArgumentException("queue size must be a power of 2 from 1 to 32768: size=" + size);
        }
    }

    private static long alignUp(final long value, final long alignment)
    {
        return (value + alignment - 1) & -alignment;
    }
}
