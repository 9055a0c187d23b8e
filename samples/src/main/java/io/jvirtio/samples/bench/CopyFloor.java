package io.jvirtio.samples.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Single-thread memory copy bandwidth with {@link MemorySegment#copy}: the floor a data path that copies each byte
 * once is held to (performance anchors, ratio R10 and the one-run set's first floor). Copies between two native
 * segments, so the figure is the copy loop's and not the garbage collector's.
 * <p>
 * Thread safety: stateless; any thread, one measurement at a time per thread.
 */
public final class CopyFloor
{
    private CopyFloor()
    {
    }

    /**
     * Copies {@code bytes} from one native segment to another {@code copies} times.
     *
     * @param bytes  bytes per copy, e.g. 65536.
     * @param copies how many copies to time.
     * @return bytes copied per second.
     */
    public static double bytesPerSecond(final int bytes, final int copies)
    {
        if (bytes < 1 || copies < 1)
        {
            throw new IllegalArgumentException("bytes and copies must be positive: bytes=" + bytes
                + ", copies=" + copies);
        }
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment from = arena.allocate(bytes, 64);
            final MemorySegment to = arena.allocate(bytes, 64);
            from.fill((byte)0x5A);
            final long start = System.nanoTime();
            for (int i = 0; i < copies; i++)
            {
                // one byte differs per copy, so no copy can be proven redundant
                from.set(ValueLayout.JAVA_BYTE, i % bytes, (byte)i);
                MemorySegment.copy(from, 0, to, 0, bytes);
            }
            final long elapsed = System.nanoTime() - start;
            final int last = (copies - 1) % bytes;
            if (to.get(ValueLayout.JAVA_BYTE, last) != (byte)(copies - 1))
            {
                throw new IllegalStateException("copy floor lost a copy: copies=" + copies);
            }
            return (double)bytes * copies * 1e9 / elapsed;
        }
    }
}
