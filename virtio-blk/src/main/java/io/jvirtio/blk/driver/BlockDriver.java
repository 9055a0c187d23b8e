package io.jvirtio.blk.driver;

import io.jvirtio.blk.BlockRequestLayout;
import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.virtio.queue.SplitQueueDriver;

/**
 * The guest driver of one virtio-blk request queue (virtio-v1.2 §5.2.6 "Device Operation", driver side), independent
 * of the transport: it writes each request's 16-byte header and status byte into a slot of guest RAM it owns, posts
 * header, data and status as one chain (readable first, §2.7.4.2), and reads the status back when the device used the
 * chain. The caller kicks the queue through its transport when {@link #publish()} says so.
 * <p>
 * Request tags are the chains' head indices. Per request the driver allocates nothing.
 * {@snippet :
 * final int tag = driver.read(sector, buffer, 4096);
 * if (driver.publish())
 * {
 *     transport.kick(queueIndex);
 * }
 * // later, after the interrupt
 * while (driver.reap() != BlockDriver.NOTHING_COMPLETED)
 * {
 *     check(driver.status(), driver.usedLength());
 * }
 * }
 * Thread safety: not thread-safe; owned by the guest thread that drives the queue.
 */
public final class BlockDriver
{
    /** Result of a submit when the queue has no room. */
    public static final int NO_SPACE = SplitQueueDriver.NO_SPACE;
    /** Result of {@link #reap()} when nothing completed. */
    public static final int NOTHING_COMPLETED = SplitQueueDriver.NOTHING_USED;
    /** Bytes of guest RAM per slot: the header, then the status byte, padded. */
    public static final int SLOT_SIZE = 32;
    private static final int STATUS_OFFSET = BlockRequestLayout.HEADER_LENGTH;

    private final GuestMemory memory;
    private final SplitQueueDriver queue;
    private final long slots;
    private final int[] freeSlots;
    private int freeTop;
    private final int[] slotOfHead;
    private final long[] addrs = new long[3];
    private final long[] lens = new long[3];
    private int status = -1;
    private long usedLength;

    /**
     * @param memory guest memory.
     * @param queue  the queue's driver side, already set up.
     * @param slots  guest-physical address of {@link #slotAreaLength(int)} bytes of RAM that the driver owns.
     * @throws IllegalArgumentException if the slot area is not RAM.
     */
    public BlockDriver(final GuestMemory memory, final SplitQueueDriver queue, final long slots)
    {
        final int size = queue.size();
        if (!memory.isRam(slots, slotAreaLength(size)))
        {
            throw new IllegalArgumentException("slot area must be guest RAM: slots=0x" + Long.toHexString(slots)
                + ", length=" + slotAreaLength(size));
        }
        this.memory = memory;
        this.queue = queue;
        this.slots = slots;
        this.freeSlots = new int[size];
        this.slotOfHead = new int[size];
        for (int i = 0; i < size; i++)
        {
            freeSlots[i] = size - 1 - i;
        }
        freeTop = size;
    }

    /** @return bytes of slot area a queue of {@code queueSize} needs. */
    public static long slotAreaLength(final int queueSize)
    {
        return (long)queueSize * SLOT_SIZE;
    }

    /**
     * Writes one DISCARD / WRITE_ZEROES range ({@code struct virtio_blk_discard_write_zeroes}) into guest RAM.
     *
     * @param memory     guest memory.
     * @param gpa        where the 16-byte range goes.
     * @param sector     first sector.
     * @param numSectors sectors.
     * @param flags      {@link VirtioBlk#VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP} or 0.
     */
    public static void putRange(
        final GuestMemory memory, final long gpa, final long sector, final int numSectors, final int flags)
    {
        memory.putLongLE(gpa + BlockRequestLayout.SEGMENT_SECTOR_OFFSET, sector);
        memory.putIntLE(gpa + BlockRequestLayout.SEGMENT_NUM_SECTORS_OFFSET, numSectors);
        memory.putIntLE(gpa + BlockRequestLayout.SEGMENT_FLAGS_OFFSET, flags);
    }

    /** Reads {@code length} bytes (a multiple of 512) from {@code sector} into {@code buffer}. @return the tag. */
    public int read(final long sector, final long buffer, final long length)
    {
        return submit(VirtioBlk.VIRTIO_BLK_T_IN, sector, buffer, length);
    }

    /** Writes {@code length} bytes (a multiple of 512) from {@code buffer} at {@code sector}. @return the tag. */
    public int write(final long sector, final long buffer, final long length)
    {
        return submit(VirtioBlk.VIRTIO_BLK_T_OUT, sector, buffer, length);
    }

    /** Flushes the device's write cache. @return the tag. */
    public int flush()
    {
        return submit(VirtioBlk.VIRTIO_BLK_T_FLUSH, 0, 0, 0);
    }

    /** Reads the 20-byte device ID into {@code buffer}. @return the tag. */
    public int getId(final long buffer)
    {
        return submit(VirtioBlk.VIRTIO_BLK_T_GET_ID, 0, buffer, VirtioBlk.VIRTIO_BLK_ID_BYTES);
    }

    /** Discards the {@code count} ranges at {@code ranges} (see {@link #putRange}). @return the tag. */
    public int discard(final long ranges, final int count)
    {
        return submit(VirtioBlk.VIRTIO_BLK_T_DISCARD, 0, ranges, (long)count * BlockRequestLayout.SEGMENT_LENGTH);
    }

    /** Writes zeroes over the {@code count} ranges at {@code ranges}. @return the tag. */
    public int writeZeroes(final long ranges, final int count)
    {
        return submit(VirtioBlk.VIRTIO_BLK_T_WRITE_ZEROES, 0, ranges, (long)count * BlockRequestLayout.SEGMENT_LENGTH);
    }

    /**
     * Posts any request: header, then the data buffer (device-writable for IN and GET_ID, device-readable otherwise,
     * left out when {@code length} is 0), then the status byte.
     *
     * @param type   request type.
     * @param sector header sector.
     * @param data   guest-physical data buffer.
     * @param length data bytes, 0 for none.
     * @return the request's tag (its head index), or {@link #NO_SPACE}.
     */
    public int submit(final int type, final long sector, final long data, final long length)
    {
        if (freeTop == 0)
        {
            return NO_SPACE;
        }
        final int slot = freeSlots[freeTop - 1];
        final long header = slots + (long)slot * SLOT_SIZE;
        memory.putIntLE(header + BlockRequestLayout.TYPE_OFFSET, type);
        memory.putIntLE(header + BlockRequestLayout.RESERVED_OFFSET, 0);
        memory.putLongLE(header + BlockRequestLayout.SECTOR_OFFSET, sector);
        // a status the device never wrote reads back as this, not as OK
        memory.putByte(header + STATUS_OFFSET, (byte)0xFF);
        final boolean deviceWrites = type == VirtioBlk.VIRTIO_BLK_T_IN || type == VirtioBlk.VIRTIO_BLK_T_GET_ID;
        int n = 0;
        addrs[n] = header;
        lens[n++] = BlockRequestLayout.HEADER_LENGTH;
        if (length > 0)
        {
            addrs[n] = data;
            lens[n++] = length;
        }
        addrs[n] = header + STATUS_OFFSET;
        lens[n++] = 1;
        final int writable = length > 0 && deviceWrites ? 2 : 1;
        final int head = queue.post(addrs, lens, n - writable, writable);
        if (head == SplitQueueDriver.NO_SPACE)
        {
            return NO_SPACE;
        }
        freeTop--;
        slotOfHead[head] = slot;
        return head;
    }

    /**
     * Makes every submitted request visible to the device.
     *
     * @return true if the device wants a notification: the caller kicks the queue through its transport.
     */
    public boolean publish()
    {
        queue.publish();
        return queue.needsKick();
    }

    /**
     * Takes the next completed request; {@link #status()} and {@link #usedLength()} then describe it.
     *
     * @return its tag, or {@link #NOTHING_COMPLETED}.
     */
    public int reap()
    {
        final int head = queue.reap();
        if (head == SplitQueueDriver.NOTHING_USED)
        {
            return NOTHING_COMPLETED;
        }
        final int slot = slotOfHead[head];
        status = memory.getByte(slots + (long)slot * SLOT_SIZE + STATUS_OFFSET) & 0xFF;
        usedLength = queue.reapedLength();
        freeSlots[freeTop++] = slot;
        return head;
    }

    /** @return the status byte of the last reaped request: 0 OK, 1 IOERR, 2 UNSUPP, 0xFF if the device wrote none. */
    public int status()
    {
        return status;
    }

    /** @return the used length of the last reaped request. */
    public long usedLength()
    {
        return usedLength;
    }

    /** @return requests submitted and not yet reaped. */
    public int outstanding()
    {
        return queue.outstanding();
    }

    /** @return the queue's driver side (interrupt suppression, raw access for tests). */
    public SplitQueueDriver queue()
    {
        return queue;
    }
}
