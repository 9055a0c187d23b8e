package io.jvirtio.virtio.hostile;

import io.jvirtio.bus.memory.GuestMemoryException;
import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.queue.DescriptorChain;
import io.jvirtio.virtio.queue.PopStatus;
import io.jvirtio.virtio.queue.QueueBrokenListener;
import io.jvirtio.virtio.queue.QueueConfigStatus;
import io.jvirtio.virtio.queue.QueueCounter;
import io.jvirtio.virtio.queue.QueueCounters;
import io.jvirtio.virtio.queue.QueueError;
import io.jvirtio.virtio.queue.RawSplitRing;
import io.jvirtio.virtio.queue.SplitQueue;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.transport.LoopbackDevice;
import io.jvirtio.virtio.transport.TransportCounter;
import io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters;
import io.jvirtio.virtio.transport.pci.CommonCfgLayout;
import io.jvirtio.virtio.transport.pci.VirtioPciCounter;
import io.jvirtio.virtio.transport.pci.VirtioPciTransport;
import io.jvirtio.virtio.worker.DeviceWorker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static io.jvirtio.virtio.hostile.HostileRig.N;
import static io.jvirtio.virtio.hostile.HostileRig.RAM;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_INDIRECT;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_NEXT;
import static io.jvirtio.virtio.queue.DescriptorLayout.VIRTQ_DESC_F_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One regression test per row of the CVE table (virtio-checklist §7) that applies to a split-ring backend's core:
 * the transports, the ring and the worker. Each reproduces the attack through the exit path (a hostile driver's
 * stores through vCPU 0, kicks through the ioeventfds, the device's worker running) and asserts the lesson in the
 * table, with a healthy host afterwards. Rows that concern net, blk or vhost-user only are tested in those modules.
 */
class CveRegressionTest
{
    private static final long ALL_ONES_32 = 0xFFFF_FFFFL;
    private static final long INDIRECT = VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_INDIRECT_DESC);

    /**
     * CVE-2011-2512, qemu-kvm virtio_queue_notify: a queue number compared as signed let a negative one through.
     * Lesson: the notify index, notification data and queue_select are validated as unsigned.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(TransportKind.class)
    void cve_2011_2512_negativeNotifyIndex(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.watch();
            final long[] negative = {0x8000_0000L, 0xFFFF_FFFFL, 0xFFFF_FFFEL, 0x8000};
            // bound: four values
            for (final long value : negative)
            {
                r.notifyRaw(0, value);
                r.queueSelect(value);
                r.queueReady(1);
            }
            if (kind == TransportKind.MMIO_DATAMATCH)
            {
                assertEquals(negative.length, r.count(TransportCounter.NOTIFY_INVALID_QUEUE));
            }
            final long selectRefused = kind == TransportKind.PCI
                ? r.pci().count(VirtioPciCounter.QUEUE_SELECT_OUT_OF_RANGE)
                : r.count(TransportCounter.QUEUE_SELECT_OUT_OF_RANGE);
            // queue_select is 16 bits wide on virtio-pci: 0x80000000 selects queue 0 there, which exists
            assertEquals(kind == TransportKind.PCI ? negative.length - 1 : negative.length, selectRefused);
            assertFalse(r.deviceQueue(0).isBroken());
            r.health.loopbackRoundTrip(r.dut, 0);
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /**
     * CVE-2013-4151, QEMU virtio load: queue state from a migration stream was trusted. Lesson: restored state is
     * validated like guest input. A queue restored with next_avail 5 under a ring whose avail entry 5 names head
     * 0xFFFF breaks at the first pop; a restored size above the maximum is refused.
     */
    @BothTransports
    void cve_2013_4151_restoredQueueStateValidatedLikeGuestInput(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            final long base = r.machine.vm().guestAddressSpace().allocate(SplitQueueConfig.contiguousLength(N), 4096);
            final SplitQueueConfig config = SplitQueueConfig.contiguous(base, N, false, false);
            final RawSplitRing ring = new RawSplitRing(r.memory, config).availEntry(5, 0xFFFF).availIdx(6);
            r.watch();
            final SplitQueue queue = new SplitQueue(r.memory, LoopbackDevice.MAX_QUEUE_SIZE, QueueBrokenListener.NONE);
            final SplitQueueConfig tooBig = new SplitQueueConfig(4 * LoopbackDevice.MAX_QUEUE_SIZE,
                config.descTable(), config.availRing(), config.usedRing(), false, false);
            assertEquals(QueueConfigStatus.SIZE_ABOVE_MAX, queue.activate(tooBig, 5, 5));
            assertEquals(QueueConfigStatus.VALID, queue.activate(config, 5, 5));
            assertEquals(PopStatus.BROKEN, queue.pop(new DescriptorChain(LoopbackDevice.MAX_QUEUE_SIZE)));
            assertEquals(QueueError.HEAD_OUT_OF_RANGE, queue.brokenReason());
            assertEquals(0, ring.usedIdx());
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /**
     * CVE-2016-5403, QEMU virtqueue_pop: requests submitted without waiting for completion grew element allocation
     * without bound. Lesson: in-flight elements are capped at the queue size. A guest that publishes 4N requests at
     * once breaks the queue; nothing is popped, nothing allocated.
     */
    @BothTransports
    void cve_2016_5403_inFlightCappedAtQueueSize(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind, LoopbackDevice.batching()).start(0))
        {
            // bound: N descriptors
            for (int i = 0; i < N; i++)
            {
                r.ring.descriptor(i, r.buffer(i), 8, 0, 0);
                r.ring.availEntry(i, i);
            }
            r.watch();
            r.availIdx(4 * N);
            r.kick(0);
            r.expectNeedsReset(QueueError.AVAIL_INDEX_JUMP);
            assertEquals(0, r.deviceQueue(0).counters().get(QueueCounter.CHAINS_POPPED));
            assertEquals(0, r.deviceQueue(0).inFlight());
            r.expectHealthyAfterReset();
        }
    }

    /**
     * CVE-2016-6490, QEMU virtqueue_map_desc: a zero-length descriptor made the mapping loop spin forever. Lesson:
     * zero lengths are skipped and every loop strictly progresses: a chain of N zero-length descriptors is served,
     * and a zero-length self-loop breaks the queue instead of spinning.
     */
    @BothTransports
    void cve_2016_6490_zeroLengthDescriptor(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            // bound: N zero-length descriptors in one chain
            for (int i = 0; i < N; i++)
            {
                r.ring.descriptor(i, r.buffer(i), 0, i < N - 1 ? VIRTQ_DESC_F_NEXT : VIRTQ_DESC_F_WRITE, i + 1);
            }
            r.watch();
            r.offer(0);
            r.kick(0);
            r.awaitUsedIdx(1);
            assertEquals(0, r.ring.usedLen(0));
            assertEquals(N, r.deviceQueue(0).counters().get(QueueCounter.ZERO_LENGTH_DESCRIPTORS));
            r.ring.descriptor(0, r.buffer(0), 0, VIRTQ_DESC_F_NEXT, 0);
            r.offer(0);
            r.kick(0);
            r.expectNeedsReset(QueueError.LOOPED_DESCRIPTOR);
            r.expectHealthyAfterReset();
        }
    }

    /**
     * CVE-2016-7422, QEMU virtqueue_map_desc: a huge length made mapping fail and the failure was dereferenced.
     * Lesson: a failed mapping is an error, not a null. A 4 GiB - 1 buffer at the start of RAM is refused with a
     * named error and no exception escapes the worker.
     */
    @BothTransports
    void cve_2016_7422_hugeDescriptorLength(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.ring.descriptor(0, 0, ALL_ONES_32, 0, 0);
            r.watch();
            r.offer(0);
            r.kick(0);
            r.expectNeedsReset(QueueError.ADDRESS_OUT_OF_RANGE);
            r.expectHealthyAfterReset();
        }
    }

    /**
     * CVE-2017-17381, QEMU vring alignment: a guest-cleared alignment became a divisor. Lesson: never divide by a
     * guest value; no legacy QueueAlign/QueuePFN. A queue size of 0 is refused at enable, and the legacy registers
     * do not exist.
     */
    @BothTransports
    void cve_2017_17381_queueSizeZeroAndNoLegacyAlignment(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            r.watch();
            r.driver().initialize(0);
            r.queueSelect(0);
            r.queueSize(0);
            r.queueAddresses(r.buffer(0), r.buffer(16), r.buffer(32));
            r.queueReady(1);
            assertEquals(0, r.queueReady());
            assertEquals(1, r.count(TransportCounter.QUEUE_ENABLE_INVALID));
            if (kind != TransportKind.PCI)
            {
                // virtio-mmio v1's QueueAlign (0x03c) and QueuePFN (0x040)
                r.raw.write(0x03c, 4, 0);
                r.raw.write(0x040, 4, 1);
                assertEquals(0, r.raw.read(0x040, 4));
                assertEquals(3, r.count(TransportCounter.REGISTER_ACCESS_INVALID));
            }
            r.health.checkHealthy();
            r.health.loopbackRoundTripAfterReset(r.dut, N);
        }
    }

    /**
     * CVE-2019-3900, Linux vhost_net handle_rx: a peer faster than the worker kept it looping forever. Lesson: bound
     * the work per wake-up, then reschedule. A second guest thread keeps queue 0 full for as long as the test runs;
     * queue 1 of the same worker still completes every round trip, and each handler call pops at most the budget.
     */
    @BothTransports
    void cve_2019_3900_boundedWorkPerWakeup(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.pair(0, 0, 8);
            r.watch();
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicLong offered = new AtomicLong();
            final Thread flooder = Thread.ofPlatform().name("guest-vcpu1").start(() ->
            {
                // bound: runs until the test stops it; one outstanding chain at a time keeps the queue busy
                while (!stop.get())
                {
                    if (r.ring.usedIdx() == r.ring.availIdx())
                    {
                        r.offer(0);
                        offered.incrementAndGet();
                    }
                    Thread.onSpinWait();
                }
            });
            try
            {
                // bound: twenty round trips on the other queue while the flood runs
                for (int i = 0; i < 20; i++)
                {
                    r.kick(0);
                    r.health.loopbackRoundTrip(r.dut, 1);
                }
            }
            finally
            {
                stop.set(true);
                flooder.join();
            }
            r.health.popBound(Math.max(offered.get(), 20));
            final long popped = r.deviceQueue(0).counters().get(QueueCounter.CHAINS_POPPED);
            final long calls = r.device.worker().handlerCalls();
            assertTrue(popped <= calls * DeviceWorker.DEFAULT_BUDGET,
                "popped=" + popped + ", calls=" + calls);
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /**
     * CVE-2019-14835, Linux vhost dirty log: a per-descriptor side array was indexed by guest counts. Lesson: every
     * per-descriptor array is bounded by its capacity. A chain of exactly the maximum queue size fills the chain
     * cursor and is served; one descriptor more (an indirect table of size + 1) is refused, not written past the end.
     */
    @BothTransports
    void cve_2019_14835_sideArraysBoundedByCapacity(final TransportKind kind) throws Exception
    {
        final int size = LoopbackDevice.MAX_QUEUE_SIZE;
        try (HostileRig r = new HostileRig(kind).start(INDIRECT, size))
        {
            // bound: size descriptors, the first half readable
            for (int i = 0; i < size; i++)
            {
                final int flags = (i >= size / 2 ? VIRTQ_DESC_F_WRITE : 0) | (i < size - 1 ? VIRTQ_DESC_F_NEXT : 0);
                r.ring.descriptor(i, r.buffer(i % 64), 4, flags, i + 1);
            }
            final long table = r.buffer(128);
            // bound: size + 1 table entries
            for (int i = 0; i <= size; i++)
            {
                r.ring.descriptorAt(table + 16L * i, r.buffer(0), 4, i < size ? VIRTQ_DESC_F_NEXT : 0, i + 1);
            }
            r.watch();
            r.offer(0);
            r.kick(0);
            r.awaitUsedIdx(1);
            assertEquals(4L * size / 2, r.ring.usedLen(0));
            r.ring.descriptor(0, table, 16L * (size + 1), VIRTQ_DESC_F_INDIRECT, 0);
            r.offer(0);
            r.kick(0);
            r.expectNeedsReset(QueueError.BAD_INDIRECT);
            r.expectHealthyAfterReset();
        }
    }

    /**
     * CVE-2019-18960, Firecracker vsock: a logic error in bounds checks reached past a memory region. Lesson:
     * [addr, addr + len) lies inside one region, with overflow-safe arithmetic. A buffer whose end wraps past 2^64
     * back into RAM is refused.
     */
    @BothTransports
    void cve_2019_18960_bufferInsideOneRegionOverflowSafe(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.ring.descriptor(0, r.buffer(0), 8, VIRTQ_DESC_F_NEXT, 1);
            r.ring.descriptor(1, -0x100L, 0x1100, VIRTQ_DESC_F_WRITE, 0);
            r.watch();
            r.offer(0);
            r.kick(0);
            r.expectNeedsReset(QueueError.ADDRESS_OUT_OF_RANGE);
            r.expectHealthyAfterReset();
        }
    }

    /**
     * CVE-2020-13754, QEMU MSI-X: an access beyond the region or of a bad size went out of bounds. Lesson: every
     * register window checks offset + size and refuses odd sizes. Common-config accesses that run past the structure
     * and odd sizes are counted and change nothing.
     */
    @Test
    void cve_2020_13754_registerWindowChecksOffsetPlusSize() throws Exception
    {
        try (HostileRig r = new HostileRig(TransportKind.PCI))
        {
            r.watch();
            r.raw.write(CommonCfgLayout.LENGTH - 2, 4, ALL_ONES_32);
            r.raw.write(CommonCfgLayout.LENGTH - 1, 2, ALL_ONES_32);
            r.raw.write(CommonCfgLayout.DEVICE_STATUS, 8, ALL_ONES_32);
            assertEquals(ALL_ONES_32, r.raw.read(CommonCfgLayout.LENGTH - 2, 4));
            assertEquals(4, r.pci().count(VirtioPciCounter.COMMON_CFG_ACCESS_INVALID));
            assertEquals(0, r.status());
            r.health.checkHealthy();
            r.health.loopbackRoundTripAfterReset(r.dut, N);
        }
    }

    /**
     * CVE-2022-26354, QEMU vhost-vsock: an error path dropped an element without detaching it. Lesson: every popped
     * chain ends in exactly one of used, unpop or detach. A device holding a batch when the ring breaks completes
     * every chain it popped (discarded, as the queue is broken), and none stays in flight.
     */
    @BothTransports
    void cve_2022_26354_everyPoppedChainEndsExactlyOnce(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind, LoopbackDevice.batching()).start(0))
        {
            r.pair(0, 0, 8).pair(2, 2, 8).pair(4, 4, 8).watch();
            r.offer(0).offer(2).offer(4).offer(2);
            r.kick(0);
            r.expectNeedsReset(QueueError.DUPLICATE_HEAD);
            final QueueCounters counters = r.deviceQueue(0).counters();
            assertEquals(3, counters.get(QueueCounter.CHAINS_POPPED));
            // the worker ends its batch after the break: wait (bounded) until every popped chain has ended
            long ended = 0;
            // bound: polls with a failure timeout of about 30 s
            for (int i = 0; i < 300_000 && ended < 3; i++)
            {
                ended = counters.get(QueueCounter.CHAINS_COMPLETED) + counters.get(QueueCounter.CHAINS_UNPOPPED)
                    + counters.get(QueueCounter.COMPLETIONS_DISCARDED);
                LockSupport.parkNanos(100_000);
            }
            assertEquals(counters.get(QueueCounter.CHAINS_POPPED), ended);
            assertEquals(3, counters.get(QueueCounter.COMPLETIONS_DISCARDED));
            assertEquals(0, r.deviceQueue(0).inFlight());
            assertEquals(0, r.ring.usedIdx(), "nothing published by a broken queue");
            r.expectHealthyAfterReset();
        }
    }

    /**
     * CVE-2023-41051, rust-vmm vm-memory: the default accessors allowed out-of-bounds access. Lesson: the guest
     * memory abstraction itself bounds-checks. Every accessor refuses a range past RAM with a typed error, and a
     * device given such a buffer breaks its queue without touching memory.
     */
    @BothTransports
    void cve_2023_41051_guestMemoryAbstractionBoundsChecks(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.ring.descriptor(0, RAM - 4, 8, VIRTQ_DESC_F_WRITE, 0);
            r.watch();
            assertThrows(GuestMemoryException.class, () -> r.memory.getByte(RAM));
            assertThrows(GuestMemoryException.class, () -> r.memory.getLongLE(RAM - 4));
            assertThrows(GuestMemoryException.class, () -> r.memory.putIntLE(RAM - 2, 0));
            assertThrows(GuestMemoryException.class, () -> r.memory.slice(RAM - 8, 16));
            assertThrows(GuestMemoryException.class, () -> r.memory.copyIn(-8, new byte[16], 0, 16));
            r.offer(0);
            r.kick(0);
            r.expectNeedsReset(QueueError.ADDRESS_OUT_OF_RANGE);
            r.expectHealthyAfterReset();
        }
    }

    /**
     * CVE-2024-3446, QEMU virtio-gpu/serial/crypto: a device DMAed into its own MMIO and re-entered its handlers.
     * Lesson: a guest DMA target never reaches device MMIO. Buffers on the device's own common configuration (read)
     * and ISR (write) are refused; the status and ISR are untouched and no register handler runs on the worker.
     */
    @BothTransports
    void cve_2024_3446_dmaIntoOwnMmio(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            final long window = r.notifyGpa() - (kind == TransportKind.PCI
                ? VirtioPciTransport.NOTIFY_OFFSET : VirtioMmioRegisters.QUEUE_NOTIFY);
            final long isr = kind == TransportKind.PCI
                ? window + VirtioPciTransport.ISR_OFFSET : window + VirtioMmioRegisters.INTERRUPT_ACK;
            r.ring.descriptor(0, window, 64, VIRTQ_DESC_F_NEXT, 1);
            r.ring.descriptor(1, isr, 4, VIRTQ_DESC_F_WRITE, 0);
            r.watch();
            final long refusedBefore = r.dut.core().counters().total();
            r.offer(0);
            r.kick(0);
            r.expectNeedsReset(QueueError.ADDRESS_OUT_OF_RANGE);
            assertEquals(DeviceStatus.DEVICE_NEEDS_RESET | DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER
                | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK, r.status());
            assertEquals(refusedBefore + 1, r.dut.core().counters().total(),
                "only QUEUE_BROKEN moved: " + r.dut.core().counters());
            r.expectHealthyAfterReset();
        }
    }

    /**
     * CVE-2026-5747, Firecracker virtio-pci: queue_size and addresses rewritten after activation bypassed the checks
     * made at init. Lesson: freeze queue configuration after queue_enable and DRIVER_OK. The rewrites are refused
     * and counted, and traffic afterwards touches only the rings the device validated (the canary proves it).
     */
    @BothTransports
    void cve_2026_5747_queueConfigFrozenAfterEnableAndDriverOk(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.watch();
            r.queueSelect(0);
            r.queueSize(65535);
            r.queueAddresses(RAM - 0x100, RAM - 0x80, 0x10_0000L - 0x40);
            assertEquals(7, r.count(TransportCounter.QUEUE_WRITE_OUTSIDE_WINDOW));
            assertEquals(N, r.deviceQueue(0).size());
            // bound: 2N round trips, the used ring wraps twice
            for (int i = 0; i < 2 * N; i++)
            {
                r.health.loopbackRoundTrip(r.dut, 0);
            }
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /**
     * Cloud Hypervisor GH #7917 (fix 082fdc4d0): queue_select 0xFFFF indexed the per-queue MSI-X vector array. Lesson:
     * every selector is an untrusted index; read 0 / NO_VECTOR.
     */
    @Test
    void gh_7917_queueSelect0xFFFFNeverIndexesQueueVectors() throws Exception
    {
        try (HostileRig r = new HostileRig(TransportKind.PCI).start(0))
        {
            r.watch();
            final long vector = VirtioPciTransport.COMMON_CFG_OFFSET + CommonCfgLayout.QUEUE_MSIX_VECTOR;
            r.queueSelect(0xFFFF);
            r.raw.write(vector, 2, 1);
            assertEquals(CommonCfgLayout.VIRTIO_MSI_NO_VECTOR, r.raw.read(vector, 2));
            assertEquals(0, r.raw.read(CommonCfgLayout.QUEUE_NOTIFY_OFF, 2));
            assertEquals(3, r.pci().count(VirtioPciCounter.QUEUE_SELECT_OUT_OF_RANGE));
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /**
     * Cloud Hypervisor MSI-X (fixes 3b431afba, 7fbc5a135): an unchecked vector indexed the MSI-X table. Lesson:
     * validate vectors at write time (read back NO_VECTOR) and at use time. Out-of-range config and queue vectors
     * read back NO_VECTOR; used buffers and a configuration change afterwards raise no exception anywhere.
     */
    @Test
    void ch_3b431afba_msixVectorValidatedAtWriteAndUse() throws Exception
    {
        try (HostileRig r = new HostileRig(TransportKind.PCI).start(0))
        {
            r.watch();
            final long queueVector = VirtioPciTransport.COMMON_CFG_OFFSET + CommonCfgLayout.QUEUE_MSIX_VECTOR;
            final long configVector = VirtioPciTransport.COMMON_CFG_OFFSET + CommonCfgLayout.CONFIG_MSIX_VECTOR;
            r.queueSelect(0);
            r.raw.write(queueVector, 2, 0x7FE);
            r.raw.write(configVector, 2, 3);
            assertEquals(CommonCfgLayout.VIRTIO_MSI_NO_VECTOR, r.raw.read(queueVector, 2));
            assertEquals(CommonCfgLayout.VIRTIO_MSI_NO_VECTOR, r.raw.read(configVector, 2));
            assertEquals(2, r.pci().count(VirtioPciCounter.MSIX_VECTOR_OUT_OF_RANGE));
            r.q0.enableInterruptsAndCheck();
            r.health.loopbackRoundTrip(r.dut, 0);
            r.device.changeConfig();
            r.expectHealthyAndOtherQueueWorks();
        }
    }
}
