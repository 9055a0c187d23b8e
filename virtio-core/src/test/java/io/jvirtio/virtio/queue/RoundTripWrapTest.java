package io.jvirtio.virtio.queue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static io.jvirtio.virtio.queue.RingFixture.REGION_B;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Device and driver exchange chains over several wraps of the 16-bit ring indices, starting just below 65535 so the
 * first wrap comes at once. Every request carries a sequence number that the device echoes into the writable buffer
 * with a length derived from it, and the driver checks id, length and data of every element it reaps.
 */
class RoundTripWrapTest
{
    private static final int WRAPS = 3;

    /** @return a 32-byte data buffer in region B; 4 per ring slot, for up to 256 slots. */
    private static long data(final int i)
    {
        return REGION_B + 32L * i;
    }

    @ParameterizedTest(name = "size={0}, eventIdx={1}, indirect={2}, start={3}")
    @CsvSource({
        "2, false, false, 65535",
        "2, true, false, 65534",
        "4, true, true, 65535",
        "64, false, false, 65500",
        "64, true, false, 65530",
        "16, true, true, 65535",
        "256, false, true, 65280",
    })
    void shouldRoundTripChainsAcrossIndexWraps(
        final int size, final boolean eventIdx, final boolean indirect, final int start)
    {
        try (RingFixture f = new RingFixture(size, eventIdx, indirect, start))
        {
            final long total = WRAPS * 65536L + 1000;
            final long[] addrs = new long[2];
            final long[] lens = {8, 16};
            final long[] sequenceOfHead = new long[size];
            final byte[] request = new byte[8];
            final byte[] echo = new byte[16];
            long posted = 0;
            long reaped = 0;
            // bound: every pass must post, complete and reap at least one chain, or the test fails
            while (reaped < total)
            {
                final long reapedBefore = reaped;
                while (posted < total)
                {
                    // 2N slots: at most N chains are outstanding, so this slot's previous chain was reaped
                    final int slot = (int)(posted % (2 * size));
                    addrs[0] = data(2 * slot);
                    addrs[1] = data(2 * slot + 1);
                    f.memory.putLongLE(addrs[0], posted);
                    final int head = indirect
                        ? f.driver.postIndirect(addrs, lens, 1, 1)
                        : f.driver.post(addrs, lens, 1, 1);
                    if (head == SplitQueueDriver.NO_SPACE)
                    {
                        break;
                    }
                    sequenceOfHead[head] = posted++;
                }
                f.driver.publish();
                f.driver.needsKick();

                while (f.queue.pop(f.chain) == PopStatus.CHAIN)
                {
                    f.chain.read(0, request, 0, 8);
                    final long sequence = f.memory.getLongLE(f.chain.readableAddr(0));
                    final int len = 8 + (int)(sequence % 9);
                    System.arraycopy(request, 0, echo, 0, 8);
                    f.chain.write(0, echo, 0, len);
                    f.queue.complete(f.chain);
                }
                f.queue.publish();
                f.queue.needsInterrupt();
                if (f.queue.isBroken())
                {
                    fail("queue broke: reason=" + f.queue.brokenReason());
                }

                for (int head = f.driver.reap(); head != SplitQueueDriver.NOTHING_USED; head = f.driver.reap())
                {
                    final long expected = sequenceOfHead[head];
                    assertEquals(reaped, expected, "elements come back in order");
                    assertEquals(8 + expected % 9, f.driver.reapedLength());
                    reaped++;
                }
                if (reaped == reapedBefore)
                {
                    fail("no progress: posted=" + posted + ", reaped=" + reaped);
                }
            }
            assertEquals(total, f.queue.counters().get(QueueCounter.CHAINS_POPPED));
            assertEquals(total, f.queue.counters().get(QueueCounter.USED_PUBLISHED));
            assertEquals((int)((start + total) & 0xFFFF), f.raw.usedIdx());
            assertEquals((int)((start + total) & 0xFFFF), f.queue.nextAvail());
            assertEquals(0, f.queue.inFlight());
        }
    }
}
