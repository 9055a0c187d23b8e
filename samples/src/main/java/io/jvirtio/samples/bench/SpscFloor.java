package io.jvirtio.samples.bench;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The plain single-producer/single-consumer hand-off that a virtqueue is measured against: a power-of-two ring of
 * longs between two threads, indices published with release and read with acquire, each side caching the other's
 * index. The same element count, the same ring size and the same two threads as the ring benchmark, with none of the
 * virtio rules: its rate is the floor.
 * <p>
 * Thread safety: each call starts and joins its own consumer thread; call from one thread at a time.
 */
public final class SpscFloor
{
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);
    /** Producer index and consumer index, 128 bytes apart and away from the array header. */
    private static final int TAIL = 16;
    private static final int HEAD = 32;
    private static final int INDEX_SLOTS = 48;

    private SpscFloor()
    {
    }

    /**
     * Moves {@code count} elements through a ring of {@code size} slots.
     *
     * @return elements per second.
     */
    public static double elementsPerSecond(final int size, final long count)
    {
        if (Integer.bitCount(size) != 1)
        {
            throw new IllegalArgumentException("size must be a power of two: size=" + size);
        }
        final long[] ring = new long[size];
        final long[] index = new long[INDEX_SLOTS];
        final int mask = size - 1;
        final long[] checksum = new long[1];
        final Thread consumer = Thread.ofPlatform().name("spsc-floor-consumer").start(() ->
        {
            long head = 0;
            long tailCache = 0;
            long sum = 0;
            while (head < count)
            {
                if (head == tailCache)
                {
                    tailCache = (long)SLOT.getAcquire(index, TAIL);
                    if (head == tailCache)
                    {
                        Thread.onSpinWait();
                        continue;
                    }
                }
                sum += ring[(int)head & mask];
                head++;
                SLOT.setRelease(index, HEAD, head);
            }
            checksum[0] = sum;
        });
        final long start = System.nanoTime();
        long tail = 0;
        long headCache = 0;
        while (tail < count)
        {
            if (tail - headCache == size)
            {
                headCache = (long)SLOT.getAcquire(index, HEAD);
                if (tail - headCache == size)
                {
                    Thread.onSpinWait();
                    continue;
                }
            }
            ring[(int)tail & mask] = tail;
            tail++;
            SLOT.setRelease(index, TAIL, tail);
        }
        HandOffFloors.join(consumer);
        final long elapsed = System.nanoTime() - start;
        if (checksum[0] != count * (count - 1) / 2)
        {
            throw new IllegalStateException("spsc floor lost elements: count=" + count);
        }
        return count * 1e9 / elapsed;
    }
}
