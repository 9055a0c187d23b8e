package io.jvirtio.virtio.transport;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;
import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.VirtioInterrupt;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static io.jvirtio.virtio.DeviceStatus.ACKNOWLEDGE;
import static io.jvirtio.virtio.DeviceStatus.DRIVER;
import static io.jvirtio.virtio.DeviceStatus.DRIVER_OK;
import static io.jvirtio.virtio.DeviceStatus.FAILED;
import static io.jvirtio.virtio.DeviceStatus.FEATURES_OK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The transport core without any register layout: status machine, features, queue windows, reset. */
class TransportCoreTest
{
    private static final long VERSION_1 = VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1);
    private static final long RING_BASE = 0x10000;

    private final GuestMemory memory = GuestMemory.of(GuestRegion.anonymous(0, 4L << 20));
    private final LoopbackDevice device = new LoopbackDevice();
    private final AtomicInteger configInterrupts = new AtomicInteger();
    private final AtomicInteger assigned = new AtomicInteger();
    private final AtomicInteger transportResets = new AtomicInteger();
    private final AtomicBoolean failAssign = new AtomicBoolean();
    private final EventFd kick = EventFds.jvm();
    private final TransportCore core = new TransportCore(device, memory, new VirtioInterrupt()
    {
        @Override
        public void signalQueue(final int queueIndex)
        {
        }

        @Override
        public void signalConfig()
        {
            configInterrupts.incrementAndGet();
        }
    }, new TransportBinding()
    {
        @Override
        public EventFd assignKick(final int queueIndex)
        {
            assigned.incrementAndGet();
            if (failAssign.get())
            {
                throw new IllegalStateException("ioeventfd refused: queue=" + queueIndex);
            }
            return kick;
        }

        @Override
        public void resetTransport()
        {
            transportResets.incrementAndGet();
        }
    });

    @AfterEach
    void tearDown()
    {
        core.reset();
        kick.close();
        memory.close();
    }

    private long count(final TransportCounter counter)
    {
        return core.counters().get(counter);
    }

    private void negotiate(final long features)
    {
        core.writeStatus(ACKNOWLEDGE);
        core.writeStatus(ACKNOWLEDGE | DRIVER);
        core.writeDriverFeatures(0, (int)features);
        core.writeDriverFeatures(1, (int)(features >>> 32));
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
    }

    private void setUpQueue0()
    {
        final SplitQueueConfig config = SplitQueueConfig.contiguous(RING_BASE, 16, false, false);
        core.writeQueueSize(0, 16);
        core.writeQueueAddress(0, QueueArea.DESC, false, (int)config.descTable());
        core.writeQueueAddress(0, QueueArea.DRIVER, false, (int)config.availRing());
        core.writeQueueAddress(0, QueueArea.DEVICE, false, (int)config.usedRing());
        core.writeQueueReady(0, true);
    }

    @Test
    void shouldFollowTheInitializationSequenceOneStepAtATime()
    {
        negotiate(VERSION_1);
        setUpQueue0();
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK, core.status());
        assertTrue(core.isActivated());
        assertEquals(1, device.activations());
        assertEquals(1, assigned.get(), "only the ready queue gets a kick");
        assertEquals(VERSION_1, device.activatedFeatures());
        assertEquals(0, core.counters().total(), core.counters().toString());
    }

    @Test
    void shouldRefuseSkippedStepsWhenStatusJumps()
    {
        core.writeStatus(DRIVER_OK);
        assertEquals(0, core.status());
        core.writeStatus(ACKNOWLEDGE | DRIVER);
        assertEquals(0, core.status());
        core.writeStatus(ACKNOWLEDGE);
        core.writeStatus(ACKNOWLEDGE | FEATURES_OK);
        assertEquals(ACKNOWLEDGE, core.status());
        assertEquals(3, count(TransportCounter.STATUS_TRANSITION_REFUSED));
        assertEquals(0, device.activations());
    }

    @Test
    void shouldIgnoreWritesThatClearBits()
    {
        core.writeStatus(ACKNOWLEDGE);
        core.writeStatus(ACKNOWLEDGE | DRIVER);
        core.writeStatus(DRIVER);
        assertEquals(ACKNOWLEDGE | DRIVER, core.status());
        assertEquals(1, count(TransportCounter.STATUS_BITS_CLEARED));
    }

    @Test
    void shouldOrInFailedAtAnyTimeAndThenRefuseToAdvance()
    {
        core.writeStatus(ACKNOWLEDGE);
        core.writeStatus(ACKNOWLEDGE | FAILED);
        assertEquals(ACKNOWLEDGE | FAILED, core.status());
        core.writeStatus(ACKNOWLEDGE | FAILED | DRIVER);
        assertEquals(ACKNOWLEDGE | FAILED, core.status());
        assertEquals(1, count(TransportCounter.STATUS_TRANSITION_REFUSED));
        core.writeStatus(0);
        assertEquals(0, core.status());
    }

    @Test
    void shouldNotLetTheDriverSetNeedsReset()
    {
        core.writeStatus(ACKNOWLEDGE | DeviceStatus.DEVICE_NEEDS_RESET);
        assertEquals(ACKNOWLEDGE, core.status());
        assertEquals(1, count(TransportCounter.STATUS_NEEDS_RESET_WRITTEN));
    }

    @Test
    void shouldRefuseFeaturesOkWithoutVersion1()
    {
        negotiate(VirtioFeatures.bit(LoopbackDevice.F_BASE));
        assertEquals(ACKNOWLEDGE | DRIVER, core.status());
        assertEquals(1, count(TransportCounter.FEATURES_WITHOUT_VERSION_1));
    }

    @Test
    void shouldRefuseFeaturesOkWhenAFeatureWasNotOffered()
    {
        negotiate(VERSION_1 | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_RING_PACKED));
        assertEquals(ACKNOWLEDGE | DRIVER, core.status());
        assertEquals(1, count(TransportCounter.FEATURES_NOT_OFFERED));
    }

    @Test
    void shouldRefuseFeaturesOkWhenTheDeviceRefusesADependency()
    {
        negotiate(VERSION_1 | VirtioFeatures.bit(LoopbackDevice.F_NEEDS_BASE));
        assertEquals(ACKNOWLEDGE | DRIVER, core.status());
        assertEquals(1, count(TransportCounter.FEATURES_REFUSED_BY_DEVICE));
    }

    @Test
    void shouldFreezeFeaturesAfterFeaturesOk()
    {
        negotiate(VERSION_1 | VirtioFeatures.bit(LoopbackDevice.F_BASE));
        core.writeDriverFeatures(0, 0);
        assertEquals(VERSION_1 | VirtioFeatures.bit(LoopbackDevice.F_BASE), core.negotiatedFeatures());
        assertEquals(1, core.driverFeatures(0));
        assertEquals(1, count(TransportCounter.FEATURES_WRITE_REFUSED));
    }

    @Test
    void shouldRefuseFeatureWritesBeforeDriver()
    {
        core.writeStatus(ACKNOWLEDGE);
        core.writeDriverFeatures(1, 1);
        assertEquals(0, core.driverFeatures(1));
        assertEquals(1, count(TransportCounter.FEATURES_WRITE_REFUSED));
    }

    @Test
    void shouldRefuseQueueWritesOutsideTheWindow()
    {
        core.writeQueueSize(0, 16);
        assertEquals(LoopbackDevice.MAX_QUEUE_SIZE, core.queueSize(0));
        negotiate(VERSION_1);
        setUpQueue0();
        core.writeQueueSize(0, 8);
        assertEquals(16, core.queueSize(0));
        assertEquals(1, count(TransportCounter.QUEUE_WRITE_WHILE_READY));
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        core.writeQueueSize(1, 8);
        assertEquals(2, count(TransportCounter.QUEUE_WRITE_OUTSIDE_WINDOW));
    }

    @Test
    void shouldLeaveAQueueNotReadyWhenItsConfigurationIsInvalid()
    {
        negotiate(VERSION_1);
        core.writeQueueSize(0, 3);
        core.writeQueueReady(0, true);
        assertFalse(core.queueReady(0));
        assertEquals(1, count(TransportCounter.QUEUE_ENABLE_INVALID));
    }

    @Test
    void shouldCheckTheQueueIndexAsUnsigned()
    {
        negotiate(VERSION_1);
        core.writeQueueSize(-1, 16);
        core.writeQueueReady(0xFFFF, true);
        assertEquals(0, core.queueMaxSize(-1));
        assertEquals(0, core.queueMaxSize(2));
        assertEquals(2, count(TransportCounter.QUEUE_SELECT_OUT_OF_RANGE));
    }

    @Test
    void shouldSetNeedsResetAndSignalConfigWhenTheDeviceFailsAfterDriverOk()
    {
        device.fail("before");
        assertEquals(0, core.status(), "nothing to report while reset");
        negotiate(VERSION_1);
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        device.fail("broken");
        assertEquals(DeviceStatus.DEVICE_NEEDS_RESET, core.status() & DeviceStatus.DEVICE_NEEDS_RESET);
        assertEquals(1, configInterrupts.get());
        device.fail("again");
        assertEquals(1, configInterrupts.get(), "one notification per error state");
    }

    @Test
    void shouldSetNeedsResetWhenActivationFails()
    {
        failAssign.set(true);
        negotiate(VERSION_1);
        setUpQueue0();
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertEquals(DeviceStatus.DEVICE_NEEDS_RESET, core.status() & DeviceStatus.DEVICE_NEEDS_RESET);
        assertFalse(core.isActivated());
        assertEquals(0, device.activations());
        assertEquals(1, count(TransportCounter.ACTIVATION_FAILED));
        assertEquals(1, configInterrupts.get());
        core.writeStatus(0);
        assertEquals(0, core.status());
    }

    @Test
    void shouldRefuseToAdvanceWhileNeedsResetIsSet()
    {
        core.writeStatus(ACKNOWLEDGE);
        device.fail("broken");
        core.writeStatus(ACKNOWLEDGE | DRIVER | DeviceStatus.DEVICE_NEEDS_RESET);
        assertEquals(ACKNOWLEDGE | DeviceStatus.DEVICE_NEEDS_RESET, core.status());
        assertEquals(1, count(TransportCounter.STATUS_WRITE_WHILE_NEEDS_RESET));
        assertEquals(0, count(TransportCounter.STATUS_NEEDS_RESET_WRITTEN), "writing back the read value is fine");
    }

    @Test
    void shouldClearEverythingAtReset()
    {
        negotiate(VERSION_1 | VirtioFeatures.bit(LoopbackDevice.F_BASE));
        setUpQueue0();
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        device.changeConfig();
        core.writeStatus(0);
        assertEquals(0, core.status());
        assertEquals(0, core.negotiatedFeatures());
        assertEquals(0, core.driverFeatures(0));
        assertFalse(core.queueReady(0));
        assertEquals(0, core.queueAddress(0, QueueArea.DESC));
        assertEquals(LoopbackDevice.MAX_QUEUE_SIZE, core.queueSize(0));
        assertFalse(core.queue(0).isActive());
        assertFalse(core.isActivated());
        assertEquals(1, device.resets());
        assertEquals(1, transportResets.get());
        assertEquals(1, core.configGeneration(), "the generation stays monotonic across reset");
    }
}
