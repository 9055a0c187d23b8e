package io.jvirtio.virtio.queue;

import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;

import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A guest with one split ring, its device side and its driver side, for the queue tests.
 * <p>
 * Guest-physical map: RAM region A at [0, 1 MiB) holds the rings at {@link #RING_BASE}, the indirect tables at
 * {@link #INDIRECT_BASE} and data buffers from {@link #BUFFERS}; RAM region B at [1 MiB, 2 MiB) sits right after A
 * (a buffer crossing from A into B crosses regions); [2 MiB, 3 MiB) is a hole, as MMIO would be; RAM region C is at
 * [3 MiB, 4 MiB).
 */
final class RingFixture implements AutoCloseable
{
    static final long MIB = 1L << 20;
    static final long RING_BASE = 0x1000;
    static final long INDIRECT_BASE = 0x4_0000;
    static final long BUFFERS = 0x8_0000;
    static final long REGION_B = MIB;
    static final long HOLE = 2 * MIB;
    static final long REGION_C = 3 * MIB;
    static final int INDIRECT_TABLE_SIZE = 16;

    final GuestMemory memory;
    final SplitQueueConfig config;
    final SplitQueue queue;
    final SplitQueueDriver driver;
    final RawSplitRing raw;
    final DescriptorChain chain;
    final List<QueueError> brokenEvents = new ArrayList<>();

    RingFixture(final int size, final boolean eventIdx, final boolean indirectDesc)
    {
        this(size, eventIdx, indirectDesc, 0);
    }

    RingFixture(final int size, final boolean eventIdx, final boolean indirectDesc, final int startIndex)
    {
        memory = GuestMemory.of(
            GuestRegion.anonymous(0, MIB), GuestRegion.anonymous(REGION_B, MIB), GuestRegion.anonymous(REGION_C, MIB));
        config = SplitQueueConfig.contiguous(RING_BASE, size, eventIdx, indirectDesc);
        // the driver's own indirect tables (16 per head) fit below BUFFERS only for queues up to 256
        final int tableSize = indirectDesc && size <= 256 ? Math.min(size, INDIRECT_TABLE_SIZE) : 0;
        driver = new SplitQueueDriver(memory, config, startIndex, INDIRECT_BASE, tableSize);
        raw = driver.raw();
        queue = new SplitQueue(memory, size, (final VirtQueue q, final QueueError reason) -> brokenEvents.add(reason));
        assertEquals(QueueConfigStatus.VALID, queue.activate(config, startIndex, startIndex));
        chain = new DescriptorChain(size);
    }

    /** @return the guest-physical address of data buffer {@code i} (4 KiB apart). */
    static long buffer(final int i)
    {
        return BUFFERS + i * 0x1000L;
    }

    /** @return the guest-physical address of entry {@code index} of the indirect table at {@code table}. */
    static long tableEntry(final long table, final int index)
    {
        return table + DescriptorLayout.offset(index);
    }

    /** Puts {@code head} in the next available-ring slot and publishes it, as a raw driver would. */
    void offer(final int head)
    {
        final int idx = raw.availIdx();
        raw.availEntry(idx & (config.size() - 1), head).availIdx(idx + 1);
    }

    /** Posts one chain of one readable buffer and one writable buffer through the driver and publishes it. */
    int postPair(final long readAddr, final long readLen, final long writeAddr, final long writeLen)
    {
        final int head = driver.post(new long[] {readAddr, writeAddr}, new long[] {readLen, writeLen}, 1, 1);
        driver.publish();
        return head;
    }

    /**
     * Pops, and asserts that the pop broke the queue with {@code error}, counted once and reported once, and that the
     * device wrote nothing at all into guest memory.
     */
    void assertPopBreaks(final QueueError error)
    {
        final byte[][] before = snapshot();
        final PopStatus status = queue.pop(chain);
        assertUnchanged(before);
        assertBroken(status, error);
    }

    /** Asserts that {@code status} is from a pop that broke the queue with {@code error}, counted and reported once. */
    void assertBroken(final PopStatus status, final QueueError error)
    {
        assertEquals(PopStatus.BROKEN, status, "pop status");
        assertTrue(queue.isBroken(), "queue broken");
        assertEquals(error, queue.brokenReason(), "broken reason");
        assertEquals(1, queue.counters().errors(error), "error counter");
        assertEquals(1, queue.counters().get(QueueCounter.QUEUE_BROKEN), "broken counter");
        assertEquals(List.of(error), brokenEvents, "listener calls");
        assertEquals(DescriptorChain.NO_HEAD, chain.head(), "cursor emptied");
        assertEquals(PopStatus.BROKEN, queue.pop(chain), "a broken queue refuses to pop");
    }

    /** @return a copy of all guest RAM, region by region. */
    byte[][] snapshot()
    {
        final List<GuestRegion> regions = memory.regions();
        final byte[][] copy = new byte[regions.size()][];
        for (int i = 0; i < copy.length; i++)
        {
            copy[i] = regions.get(i).segment().toArray(ValueLayout.JAVA_BYTE);
        }
        return copy;
    }

    /** Asserts that guest RAM equals {@code before}. */
    void assertUnchanged(final byte[][] before)
    {
        assertChangedOnlyIn(before);
    }

    /**
     * Asserts that every byte of guest RAM that differs from {@code before} lies in one of the allowed ranges.
     *
     * @param allowed pairs of (guest-physical start, length).
     */
    void assertChangedOnlyIn(final byte[][] before, final long... allowed)
    {
        final List<GuestRegion> regions = memory.regions();
        for (int r = 0; r < before.length; r++)
        {
            final byte[] now = regions.get(r).segment().toArray(ValueLayout.JAVA_BYTE);
            final long base = regions.get(r).guestBase();
            for (int i = 0; i < now.length; i++)
            {
                if (now[i] != before[r][i] && !inAny(base + i, allowed))
                {
                    fail("guest memory changed outside the allowed ranges: gpa=0x" + Long.toHexString(base + i));
                }
            }
        }
    }

    private static boolean inAny(final long gpa, final long[] ranges)
    {
        for (int i = 0; i + 1 < ranges.length; i += 2)
        {
            if (gpa >= ranges[i] && gpa - ranges[i] < ranges[i + 1])
            {
                return true;
            }
        }
        return false;
    }

    /** @return guest-physical address of used element {@code slot}. */
    long usedElement(final int slot)
    {
        return config.usedRing() + UsedRingLayout.elementOffset(slot);
    }

    /** @return guest-physical address of {@code used.idx}. */
    long usedIdxAddr()
    {
        return config.usedRing() + UsedRingLayout.IDX_OFFSET;
    }

    @Override
    public void close()
    {
        memory.close();
    }
}
