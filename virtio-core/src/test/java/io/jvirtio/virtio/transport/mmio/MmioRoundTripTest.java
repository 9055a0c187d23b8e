package io.jvirtio.virtio.transport.mmio;

import io.jvirtio.bus.stats.ExitPath;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.transport.TransportCounter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loopback traffic through virtio-mmio and the real exit path, in both notify modes. */
class MmioRoundTripTest
{
    private static final int ROUNDS = 50;

    private static byte[] payload(final int round)
    {
        final byte[] bytes = new byte[32 + round];
        for (int i = 0; i < bytes.length; i++)
        {
            bytes[i] = (byte)(round * 31 + i);
        }
        return bytes;
    }

    @Test
    void shouldRoundTripThroughTheFastMmioPathWhenNotifyIsWildcard() throws Exception
    {
        try (MmioFixture f = new MmioFixture(MmioNotifyMode.WILDCARD))
        {
            final SplitQueueDriver queue = f.start(0, 64);
            assertEquals(1, f.transport.assignedKicks(), "one wildcard ioeventfd for the whole device");
            final long fastBefore = f.vm.exitStats().count(ExitPath.FAST_MMIO);
            final long kernelBefore = f.vm.exitStats().count(ExitPath.MMIO_KERNEL);
            for (int round = 0; round < ROUNDS; round++)
            {
                f.roundTrip(queue, payload(round));
            }
            assertEquals(ROUNDS, f.device.chains());
            assertTrue(f.driver.kicks() > 0);
            assertEquals(f.driver.kicks(), f.vm.exitStats().count(ExitPath.FAST_MMIO) - fastBefore,
                "every kick took the fast path");
            assertEquals(kernelBefore, f.vm.exitStats().count(ExitPath.MMIO_KERNEL));
            assertEquals(0, f.count(TransportCounter.NOTIFY_INVALID_QUEUE));
        }
    }

    @Test
    void shouldRoundTripThroughTheEmulatedPathWhenNotifyIsDatamatch() throws Exception
    {
        try (MmioFixture f = new MmioFixture(MmioNotifyMode.DATAMATCH))
        {
            final SplitQueueDriver queue = f.start(0, 64);
            assertEquals(1, f.transport.assignedKicks(), "one datamatch ioeventfd per ready queue");
            final long fastBefore = f.vm.exitStats().count(ExitPath.FAST_MMIO);
            final long kernelBefore = f.vm.exitStats().count(ExitPath.MMIO_KERNEL);
            for (int round = 0; round < ROUNDS; round++)
            {
                f.roundTrip(queue, payload(round));
            }
            assertEquals(ROUNDS, f.device.chains());
            assertTrue(f.driver.kicks() > 0);
            assertEquals(f.driver.kicks(), f.vm.exitStats().count(ExitPath.MMIO_KERNEL) - kernelBefore,
                "every kick was decoded and taken by the datamatch ioeventfd");
            assertEquals(fastBefore, f.vm.exitStats().count(ExitPath.FAST_MMIO));
        }
    }

    @Test
    void shouldRoundTripWithEventIdxNegotiated() throws Exception
    {
        try (MmioFixture f = new MmioFixture(MmioNotifyMode.WILDCARD))
        {
            final long features = VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_EVENT_IDX);
            final SplitQueueDriver queue = f.start(features, 16);
            assertTrue(VirtioFeatures.has(f.device.activatedFeatures(), VirtioFeatures.VIRTIO_F_EVENT_IDX));
            // more rounds than the ring has entries, so the indices wrap the ring
            for (int round = 0; round < ROUNDS; round++)
            {
                f.roundTrip(queue, payload(round));
            }
            assertEquals(ROUNDS, f.device.chains());
        }
    }

    @ParameterizedTest
    @EnumSource(MmioNotifyMode.class)
    void shouldAssignOneKickPerReadyQueueOrOneForTheDevice(final MmioNotifyMode mode) throws Exception
    {
        try (MmioFixture f = new MmioFixture(mode))
        {
            f.driver.initialize(0);
            final SplitQueueDriver queue = f.driver.setupQueue(0, 16);
            f.driver.setupQueue(1, 16);
            assertEquals(0, f.transport.assignedKicks(), "nothing is assigned before DRIVER_OK");
            f.driver.driverOk();
            assertEquals(mode == MmioNotifyMode.WILDCARD ? 1 : 2, f.transport.assignedKicks());
            f.roundTrip(queue, payload(7));
            f.driverTransport.notifyQueue(1);
            f.roundTrip(queue, payload(8));
        }
    }

    @Test
    void shouldWorkAgainAfterResetAndReinitialization() throws Exception
    {
        try (MmioFixture f = new MmioFixture(MmioNotifyMode.DATAMATCH))
        {
            SplitQueueDriver queue = f.start(0, 64);
            f.roundTrip(queue, payload(1));
            f.driver.reset();
            assertEquals(0, f.transport.assignedKicks(), "ioeventfds are deassigned at reset");
            assertEquals(0, f.vm.ioeventfds().size(), "no ioeventfd is left on any bus");
            queue = f.start(0, 32);
            f.roundTrip(queue, payload(2));
            assertEquals(2, f.device.activations());
        }
    }
}
