package io.jvirtio.virtio.queue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Coverage-guided fuzzing of the split queue's device side against a hostile driver: the input is a sequence of
 * driver writes through {@link RawSplitRing} (descriptors in the table or in an indirect area, available-ring
 * entries, {@code avail.idx}, {@code avail.flags}, {@code used_event}) interleaved with device operations (pop,
 * write into the chain and complete, unpop, publish), after vm-virtio's structure-aware queue fuzzer.
 * <p>
 * Invariants after every operation: nothing throws; pop returns a status; a popped chain has at most Queue Size
 * segments (§2.7.5.3.1, §2.7.13.3.1); in-flight chains never exceed the Queue Size; every byte the device changed in
 * guest RAM lies in the used ring or in a writable buffer of a chain it returned (a RAM snapshot is compared); once
 * broken, the queue stays broken with the same {@link QueueError}, the error and QUEUE_BROKEN counted once and the
 * listener told once.
 * <p>
 * Seeds live in {@code SplitQueueFuzzTestInputs/popAndComplete}, written by {@link SplitQueueFuzzSeeds}.
 * Thread safety: JUnit's thread only.
 */
class SplitQueueFuzzTest
{
    /** 64 KiB of RAM at 0 and nothing above it: an address past it is outside RAM. */
    static final long RAM = 0x1_0000;
    static final long RING_BASE = 0x1000;
    /** Where a seed or the fuzzer places indirect tables. */
    static final long INDIRECT_AREA = 0x8000;
    /** Queue Size is 2^0 to 2^5: small enough that chains, loops and wraps are reached quickly. */
    static final int MAX_SIZE_LOG2 = 5;
    /** Bound on the operations one input drives, so that one execution stays short. */
    static final int MAX_OPERATIONS = 96;
    /** Bound on the bytes the device writes into one chain. */
    private static final int MAX_WRITE = 512;

    enum Op
    {
        DESCRIPTOR, INDIRECT_DESCRIPTOR, AVAIL_ENTRY, AVAIL_IDX, AVAIL_FLAGS, USED_EVENT, POP, COMPLETE, UNPOP, PUBLISH
    }

    @FuzzTest(maxDuration = "0s", maxExecutions = 20_000)
    void popAndComplete(final FuzzedDataProvider data)
    {
        try (GuestMemory memory = GuestMemory.of(GuestRegion.anonymous(0, RAM)))
        {
            new Run(memory, data).drive();
        }
    }

    /** One input's guest, queue and driver. */
    private static final class Run
    {
        private final GuestMemory memory;
        private final FuzzedDataProvider data;
        private final int size;
        private final SplitQueueConfig config;
        private final SplitQueue queue;
        private final RawSplitRing raw;
        private final List<QueueError> brokenEvents = new ArrayList<>();
        private final ArrayDeque<DescriptorChain> free = new ArrayDeque<>();
        private final List<DescriptorChain> inFlight = new ArrayList<>();
        private final byte[] pattern = new byte[MAX_WRITE];
        private final MemorySegment before = MemorySegment.ofArray(new byte[(int)RAM]);
        private DescriptorChain lastPopped;

        Run(final GuestMemory memory, final FuzzedDataProvider data)
        {
            this.memory = memory;
            this.data = data;
            size = 1 << data.consumeInt(0, MAX_SIZE_LOG2);
            config = SplitQueueConfig.contiguous(RING_BASE, size, data.consumeBoolean(), data.consumeBoolean());
            queue = new SplitQueue(memory, size,
                (final VirtQueue q, final QueueError reason) -> brokenEvents.add(reason));
            final int start = data.consumeInt(0, 0xFFFF);
            raw = new RawSplitRing(memory, config);
            raw.availIdx(start);
            assertEquals(QueueConfigStatus.VALID, queue.activate(config, start, start));
            for (int i = 0; i < size; i++)
            {
                free.add(new DescriptorChain(size));
            }
            for (int i = 0; i < pattern.length; i++)
            {
                pattern[i] = (byte)(0xA5 ^ i);
            }
        }

        void drive()
        {
            for (int n = 0; n < MAX_OPERATIONS && data.remainingBytes() > 0; n++)
            {
                final Op op = data.pickValue(Op.values());
                switch (op)
                {
                    case DESCRIPTOR ->
                        raw.descriptor(data.consumeInt(0, size - 1), address(), length(), flags(), next());
                    case INDIRECT_DESCRIPTOR -> raw.descriptorAt(
                        INDIRECT_AREA + DescriptorLayout.offset(data.consumeInt(0, 255)), address(), length(), flags(),
                        next());
                    case AVAIL_ENTRY -> raw.availEntry(data.consumeInt(0, size - 1), next());
                    case AVAIL_IDX -> raw.availIdx(data.consumeBoolean()
                        ? raw.availIdx() + data.consumeInt(0, size) : data.consumeInt(0, 0xFFFF));
                    case AVAIL_FLAGS -> raw.availFlags(data.consumeInt(0, 3));
                    case USED_EVENT -> raw.usedEvent(data.consumeInt(0, 0xFFFF));
                    case POP -> device(this::pop);
                    case COMPLETE -> complete();
                    case UNPOP -> device(this::unpop);
                    case PUBLISH -> device(queue::publish);
                    default -> fail("unknown operation: " + op);
                }
                assertTrue(queue.inFlight() <= size, "in flight within the Queue Size: " + queue.inFlight());
                assertEquals(inFlight.size(), queue.inFlight(), "the queue counts the chains the device holds");
                assertBrokenStaysBroken();
            }
        }

        private long address()
        {
            // mostly inside RAM (so chains get built), sometimes anywhere in the 64-bit space
            return data.consumeBoolean() ? data.consumeLong(0, RAM + 0x100) : data.consumeLong();
        }

        private long length()
        {
            return data.consumeBoolean() ? data.consumeLong(0, 0x1000) : data.consumeInt() & 0xFFFF_FFFFL;
        }

        private int flags()
        {
            return data.consumeBoolean() ? data.consumeInt(0, 7) : data.consumeInt(0, 0xFFFF);
        }

        private int next()
        {
            return data.consumeBoolean() ? data.consumeInt(0, size) : data.consumeInt(0, 0xFFFF);
        }

        private void pop()
        {
            final DescriptorChain chain = free.poll();
            if (chain == null)
            {
                return;
            }
            final PopStatus status = queue.pop(chain);
            assertNotNull(status, "pop returns a status");
            if (status == PopStatus.CHAIN)
            {
                final int segments = chain.readableSegments() + chain.writableSegments();
                assertTrue(segments >= 1 && segments <= size, "a chain has 1 to Queue Size segments: " + segments);
                inFlight.add(chain);
                lastPopped = chain;
            }
            else
            {
                free.add(chain);
            }
        }

        private void complete()
        {
            if (inFlight.isEmpty())
            {
                return;
            }
            final DescriptorChain chain = inFlight.get(data.consumeInt(0, inFlight.size() - 1));
            final int length = (int)Math.min(chain.writableBytes(), data.consumeInt(0, MAX_WRITE));
            device(() -> assertEquals(length, chain.write(0, pattern, 0, length), "a whole write within the chain"));
            device(() ->
            {
                queue.complete(chain, chain.bytesWritten());
                inFlight.remove(chain);
            });
            free.add(chain);
            if (chain == lastPopped)
            {
                lastPopped = null;
            }
        }

        private void unpop()
        {
            if (lastPopped == null || lastPopped.availPosition() != ((queue.nextAvail() - 1) & 0xFFFF))
            {
                return;
            }
            inFlight.remove(lastPopped);
            queue.unpop(lastPopped);
            free.add(lastPopped);
            lastPopped = null;
        }

        /** Runs one device operation and checks what it changed in guest RAM. */
        private void device(final Runnable operation)
        {
            final MemorySegment ram = memory.regions().getFirst().segment();
            before.copyFrom(ram);
            operation.run();
            long from = 0;
            // bound: each pass moves past one changed byte, so at most RAM passes
            while (from < RAM)
            {
                final long mismatch = MemorySegment.mismatch(before, from, RAM, ram, from, RAM);
                if (mismatch < 0)
                {
                    return;
                }
                if (!allowed(from + mismatch))
                {
                    fail("the device wrote outside the used ring and its writable buffers: gpa=0x"
                        + Long.toHexString(from + mismatch));
                }
                from += mismatch + 1;
            }
        }

        private boolean allowed(final long gpa)
        {
            if (gpa >= config.usedRing() && gpa < config.usedRing() + UsedRingLayout.length(size))
            {
                return true;
            }
            for (final DescriptorChain chain : inFlight)
            {
                for (int s = 0; s < chain.writableSegments(); s++)
                {
                    if (gpa >= chain.writableAddr(s) && gpa - chain.writableAddr(s) < chain.writableLength(s))
                    {
                        return true;
                    }
                }
            }
            return false;
        }

        private void assertBrokenStaysBroken()
        {
            if (!queue.isBroken())
            {
                assertTrue(brokenEvents.isEmpty(), "no broken report for a healthy queue");
                return;
            }
            final QueueError reason = queue.brokenReason();
            assertNotNull(reason, "a broken queue says why");
            assertEquals(List.of(reason), brokenEvents, "the listener heard of it once, with the reason");
            assertEquals(1, queue.counters().get(QueueCounter.QUEUE_BROKEN), "QUEUE_BROKEN counted once");
            assertEquals(1, queue.counters().errors(reason), "the error counted once");
            final DescriptorChain probe = free.peek();
            if (probe != null)
            {
                assertEquals(PopStatus.BROKEN, queue.pop(probe), "a broken queue refuses to pop");
                assertEquals(reason, queue.brokenReason(), "the reason does not change");
            }
        }
    }
}
