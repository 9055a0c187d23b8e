package io.jvirtio.virtio.hostile;

import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.queue.DescriptorChain;
import io.jvirtio.virtio.queue.PopStatus;
import io.jvirtio.virtio.queue.QueueBrokenListener;
import io.jvirtio.virtio.queue.QueueConfigStatus;
import io.jvirtio.virtio.queue.QueueCounter;
import io.jvirtio.virtio.queue.QueueError;
import io.jvirtio.virtio.queue.RawSplitRing;
import io.jvirtio.virtio.queue.SplitQueue;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.transport.LoopbackDevice;
import io.jvirtio.virtio.VirtioFeatures;

import static io.jvirtio.virtio.hostile.HostileRig.N;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_INDIRECT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The "Resources and state" group of the bad-input list (virtio-checklist §6), one test per item, through the exit
 * path where the item has one: outstanding work is capped by the queue, never by what the guest claims, and every
 * host-side structure is sized from the device's own limits.
 */
class ResourceBadInputTest
{
    /**
     * "Many outstanding requests (CVE-2016-5403)": a device that holds chains in flight holds at most N, one per
     * head; a publish that would put more than N outstanding breaks the queue instead of growing anything.
     */
    @BothTransports
    void manyOutstandingRequests(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind, LoopbackDevice.batching()).start(0))
        {
            // bound: N single-descriptor requests, one per head
            for (int i = 0; i < N; i++)
            {
                r.ring.descriptor(i, r.buffer(i), 8, 0, 0);
            }
            r.watch().popBound(N);
            // bound: N offers
            for (int i = 0; i < N; i++)
            {
                r.offer(i);
            }
            r.kick(0);
            r.awaitUsedIdx(N);
            // bound: N used elements, completed in pop order after all N were in flight at once
            for (int i = 0; i < N; i++)
            {
                assertEquals(i, r.ring.usedId(i));
            }
            assertEquals(0, r.deviceQueue(0).inFlight());
            // N + 1 outstanding at once: more than the queue can hold
            // bound: N + 1 offers
            for (int i = 0; i <= N; i++)
            {
                r.offer(i % N);
            }
            r.kick(0);
            r.expectNeedsReset(QueueError.AVAIL_INDEX_JUMP);
            assertEquals(N, r.deviceQueue(0).counters().get(QueueCounter.CHAINS_POPPED));
            r.expectHealthyAfterReset();
        }
    }

    /**
     * "Huge descriptor counts per chain (allocation sized from guest values)": an indirect table that claims 65535
     * descriptors is refused before a single entry is walked; the chain cursor is sized by the queue, never by the
     * table.
     */
    @BothTransports
    void hugeDescriptorCountsPerChain(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_INDIRECT_DESC)))
        {
            r.ring.descriptor(0, 0x1_0000L, 16L * 65535, VIRTQ_DESC_F_INDIRECT, 0);
            r.watch();
            r.offer(0);
            r.kick(0);
            r.expectNeedsReset(QueueError.BAD_INDIRECT);
            assertEquals(0, r.deviceQueue(0).counters().get(QueueCounter.CHAINS_POPPED));
            r.expectHealthyAfterReset();
        }
    }

    /**
     * "A guest kicking without ever consuming used entries": the device keeps serving and writes each used element
     * into its slot of the used ring, wrapping over unconsumed ones; work stays one pop per chain offered.
     */
    @BothTransports
    void guestKickingWithoutConsumingUsedEntries(final TransportKind kind) throws Exception
    {
        final int rounds = 5 * N;
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.pair(0, 0, 8).watch().popBound(rounds);
            // bound: rounds kicks, each waited for
            for (int i = 0; i < rounds; i++)
            {
                r.offer(0);
                r.kick(0);
                r.awaitUsedIdx(i + 1);
            }
            assertEquals(rounds, r.deviceQueue(0).counters().get(QueueCounter.CHAINS_COMPLETED));
            assertEquals(0, r.deviceQueue(0).inFlight());
            assertFalse(r.deviceQueue(0).isBroken());
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /**
     * "Restored (saved) device state with inconsistent indices or sizes (CVE-2013-4151 class)": the transports have
     * no save/restore path, so the queue's restore entry point is driven directly over a ring in the machine's guest
     * RAM. Sizes are checked like a driver's, indices outside u16 are refused, and indices that disagree with the
     * ring break the queue at the first pop, like any guest value; nothing is written.
     */
    @BothTransports
    void restoredStateWithInconsistentIndicesOrSizes(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            final long base = r.machine.vm().guestAddressSpace().allocate(SplitQueueConfig.contiguousLength(N), 4096);
            final SplitQueueConfig config = SplitQueueConfig.contiguous(base, N, false, false);
            final RawSplitRing ring = new RawSplitRing(r.memory, config);
            ring.descriptor(0, r.buffer(0), 8, 0, 0).availEntry(0, 0).availIdx(1);
            r.watch();
            final SplitQueue queue = new SplitQueue(r.memory, LoopbackDevice.MAX_QUEUE_SIZE, QueueBrokenListener.NONE);
            final SplitQueueConfig notPowerOfTwo = new SplitQueueConfig(N - 1, config.descTable(), config.availRing(),
                config.usedRing(), false, false);
            assertEquals(QueueConfigStatus.SIZE_NOT_POWER_OF_TWO, queue.activate(notPowerOfTwo, 0, 0));
            final SplitQueueConfig tooBig = new SplitQueueConfig(2 * LoopbackDevice.MAX_QUEUE_SIZE,
                config.descTable(), config.availRing(), config.usedRing(), false, false);
            assertEquals(QueueConfigStatus.SIZE_ABOVE_MAX, queue.activate(tooBig, 0, 0));
            assertThrows(IllegalArgumentException.class, () -> queue.activate(config, 0x1_0000, 0));
            assertEquals(2, queue.counters().get(QueueCounter.CONFIGS_REJECTED));
            // a saved next_avail 100 ahead of the ring's avail.idx: 65437 "pending" chains
            assertEquals(QueueConfigStatus.VALID, queue.activate(config, 100, 100));
            final DescriptorChain chain = new DescriptorChain(LoopbackDevice.MAX_QUEUE_SIZE);
            assertEquals(PopStatus.BROKEN, queue.pop(chain));
            assertEquals(QueueError.AVAIL_INDEX_JUMP, queue.brokenReason());
            assertEquals(0, ring.usedIdx(), "nothing written by a broken restore");
            r.expectHealthyAndOtherQueueWorks();
        }
    }
}
