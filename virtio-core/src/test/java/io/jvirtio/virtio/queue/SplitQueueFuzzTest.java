package io.jvirtio.virtio.queue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;
import io.jvirtio.bus.testing.FuzzInput;
import io.jvirtio.bus.testing.FuzzSeeds;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
 * Seeds live in {@code SplitQueueFuzzTestInputs/popAndComplete}, written by {@link #seeds()}: a valid chain, an
 * indirect table, a wrap with EVENT_IDX, a loop, an index jump, a head out of range, a buffer outside RAM, a
 * duplicate head.
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

    @Test
    void shouldMatchCheckedInSeeds()
    {
        FuzzSeeds.check(SplitQueueFuzzTest.class, "popAndComplete", seeds());
    }

    /** @return the seed inputs by file name. */
    static Map<String, byte[]> seeds()
    {
        final int next = DescriptorLayout.VIRTQ_DESC_F_NEXT;
        final int write = DescriptorLayout.VIRTQ_DESC_F_WRITE;
        final int indirect = DescriptorLayout.VIRTQ_DESC_F_INDIRECT;
        return Map.of(
            "valid-chain", new Seed(3, false, false, 0).descriptor(0, 0x4000, 64, next, 1)
                .descriptor(1, 0x5000, 128, write, 0).entry(0, 0).idxPlus(1).pop().complete(0, 100).op(Op.PUBLISH)
                .bytes(),
            "indirect-table", new Seed(3, false, true, 0).descriptor(0, INDIRECT_AREA, 32, indirect, 0)
                .indirect(0, 0x4000, 16, next, 1).indirect(1, 0x5000, 64, write, 0).entry(0, 0).idxPlus(1).pop()
                .complete(0, 64).op(Op.PUBLISH).bytes(),
            "wrap-with-event-idx", new Seed(2, true, false, 0xFFFF).op(Op.USED_EVENT).value(0xFFFF, 0xFFFF)
                .descriptor(0, 0x5000, 32, write, 0).entry(3, 0).idxPlus(1).pop().complete(0, 32)
                .descriptor(1, 0x6000, 32, write, 0).entry(0, 1).idxPlus(1).pop().complete(0, 8).op(Op.PUBLISH)
                .bytes(),
            "loop", new Seed(3, false, false, 0).descriptor(0, 0x4000, 16, next, 1).descriptor(1, 0x4100, 16, next, 0)
                .entry(0, 0).idxPlus(1).pop().bytes(),
            "avail-index-jump", new Seed(3, false, false, 0).descriptor(0, 0x4000, 16, 0, 0).op(Op.AVAIL_IDX)
                .bool(false).value(0x100, 0xFFFF).pop().bytes(),
            "head-out-of-range", new Seed(3, false, false, 0).op(Op.AVAIL_ENTRY).value(0, 7).bool(false)
                .value(9, 0xFFFF).idxPlus(1).pop().bytes(),
            "buffer-outside-ram", new Seed(3, false, false, 0).op(Op.DESCRIPTOR).value(0, 7).bool(false)
                .anyLong(0xFFFF_FFFF_F000L).bool(true).value(0x1000, 0x1000).bool(true).value(write, 7).bool(true)
                .value(0, 8).entry(0, 0).idxPlus(1).pop().bytes(),
            "duplicate-head", new Seed(3, false, false, 0).descriptor(0, 0x5000, 64, write, 0).entry(0, 0)
                .entry(1, 0).idxPlus(2).pop().pop().bytes());
    }

    /** A seed stated as the driver writes and device operations {@link Run} reads, in its order of consumption. */
    private static final class Seed
    {
        private final FuzzInput in = new FuzzInput();
        private final int size;

        Seed(final int sizeLog2, final boolean eventIdx, final boolean indirect, final int start)
        {
            size = 1 << sizeLog2;
            in.integer(sizeLog2, 0, MAX_SIZE_LOG2).bool(eventIdx).bool(indirect).integer(start, 0, 0xFFFF);
        }

        Seed op(final Op op)
        {
            in.pick(op);
            return this;
        }

        Seed value(final int value, final int max)
        {
            in.integer(value, 0, max);
            return this;
        }

        Seed bool(final boolean value)
        {
            in.bool(value);
            return this;
        }

        Seed anyLong(final long value)
        {
            in.anyLong(value);
            return this;
        }

        Seed descriptor(final int index, final long addr, final long len, final int flags, final int nextIndex)
        {
            return op(Op.DESCRIPTOR).value(index, size - 1).fields(addr, len, flags, nextIndex);
        }

        Seed indirect(final int index, final long addr, final long len, final int flags, final int nextIndex)
        {
            return op(Op.INDIRECT_DESCRIPTOR).value(index, 255).fields(addr, len, flags, nextIndex);
        }

        private Seed fields(final long addr, final long len, final int flags, final int nextIndex)
        {
            in.bool(true).longValue(addr, 0, RAM + 0x100).bool(true).longValue(len, 0, 0x1000)
                .bool(true).integer(flags, 0, 7).bool(true).integer(nextIndex, 0, size);
            return this;
        }

        Seed entry(final int slot, final int head)
        {
            return op(Op.AVAIL_ENTRY).value(slot, size - 1).bool(true).value(head, size);
        }

        Seed idxPlus(final int count)
        {
            return op(Op.AVAIL_IDX).bool(true).value(count, size);
        }

        Seed pop()
        {
            return op(Op.POP);
        }

        Seed complete(final int inFlightIndex, final int bytes)
        {
            return op(Op.COMPLETE).value(inFlightIndex, 0).value(bytes, MAX_WRITE);
        }

        byte[] bytes()
        {
            return in.toBytes();
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
