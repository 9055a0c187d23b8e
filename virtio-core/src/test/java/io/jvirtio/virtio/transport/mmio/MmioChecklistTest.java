package io.jvirtio.virtio.transport.mmio;

import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.driver.DriverTransport;
import io.jvirtio.virtio.queue.QueueError;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.transport.LoopbackDevice;
import io.jvirtio.virtio.transport.TransportCounter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static io.jvirtio.virtio.DeviceStatus.ACKNOWLEDGE;
import static io.jvirtio.virtio.DeviceStatus.DRIVER;
import static io.jvirtio.virtio.DeviceStatus.DRIVER_OK;
import static io.jvirtio.virtio.DeviceStatus.FEATURES_OK;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.CONFIG;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.CONFIG_GENERATION;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.DEVICE_FEATURES;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.DEVICE_FEATURES_SEL;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.DEVICE_ID;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.INTERRUPT_ACK;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.INTERRUPT_STATUS;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.MAGIC_VALUE;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_NOTIFY;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_READY;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_RESET;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_SEL;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_SIZE;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_SIZE_MAX;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.SHM_BASE_HIGH;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.SHM_BASE_LOW;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.SHM_LEN_HIGH;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.SHM_LEN_LOW;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.SHM_SEL;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.STATUS;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.VENDOR_ID;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.VERSION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One test per item of the virtio-core (status, features, reset) and virtio-mmio sections of the conformance
 * checklist, each through the real exit path.
 */
class MmioChecklistTest
{
    private static final long ALL_ONES_32 = 0xFFFF_FFFFL;

    private final MmioFixture f = new MmioFixture(MmioNotifyMode.DATAMATCH);

    @AfterEach
    void tearDown()
    {
        f.close();
    }

    private void toFeaturesOk()
    {
        f.driver.initialize(0);
    }

    // ------------------------------------------------------------------------------------------------ virtio-core

    @Test
    void statusStartsAtZeroAndWritingZeroResets() throws Exception
    {
        assertEquals(0, f.rawRead(STATUS));
        final SplitQueueDriver queue = f.start(0, 16);
        f.roundTrip(queue, new byte[] {1, 2, 3});
        final long resets = f.device.resets();
        f.rawWrite(STATUS, 0);
        assertEquals(0, f.rawRead(STATUS));
        assertEquals(resets + 1, f.device.resets());
        assertNull(f.device.worker(), "the worker stopped before the reset completed");
        f.rawWrite(QUEUE_SEL, 0);
        assertEquals(0, f.rawRead(QUEUE_READY), "reset clears QueueReady");
    }

    @Test
    void statusTransitionsOnlyInOrderAndClearingWritesAreIgnored()
    {
        f.rawWrite(STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertEquals(0, f.rawRead(STATUS));
        f.rawWrite(STATUS, ACKNOWLEDGE);
        f.rawWrite(STATUS, ACKNOWLEDGE | DRIVER);
        f.rawWrite(STATUS, ACKNOWLEDGE);
        assertEquals(ACKNOWLEDGE | DRIVER, f.rawRead(STATUS));
        assertEquals(1, f.count(TransportCounter.STATUS_TRANSITION_REFUSED));
        assertEquals(1, f.count(TransportCounter.STATUS_BITS_CLEARED));
        f.rawWrite(STATUS, ACKNOWLEDGE | DRIVER | DeviceStatus.FAILED);
        assertEquals(ACKNOWLEDGE | DRIVER | DeviceStatus.FAILED, f.rawRead(STATUS), "FAILED is ORed in");
    }

    @Test
    void featuresOkSticksOnlyForAnOfferedSubsetWithVersion1()
    {
        f.driverTransport.writeStatus(ACKNOWLEDGE);
        f.driverTransport.writeStatus(ACKNOWLEDGE | DRIVER);
        f.driverTransport.writeDriverFeatures(VirtioFeatures.bit(LoopbackDevice.F_BASE));
        f.driverTransport.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
        assertEquals(ACKNOWLEDGE | DRIVER, f.rawRead(STATUS), "no VERSION_1");
        f.driverTransport.writeDriverFeatures(VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1)
            | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_ACCESS_PLATFORM));
        f.driverTransport.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
        assertEquals(ACKNOWLEDGE | DRIVER, f.rawRead(STATUS), "not offered");
        f.driverTransport.writeDriverFeatures(VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1)
            | VirtioFeatures.bit(LoopbackDevice.F_NEEDS_BASE));
        f.driverTransport.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
        assertEquals(ACKNOWLEDGE | DRIVER, f.rawRead(STATUS), "dependency missing");
        assertEquals(1, f.count(TransportCounter.FEATURES_WITHOUT_VERSION_1));
        assertEquals(1, f.count(TransportCounter.FEATURES_NOT_OFFERED));
        assertEquals(1, f.count(TransportCounter.FEATURES_REFUSED_BY_DEVICE));
        assertEquals(VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1), f.driver.initialize(VirtioFeatures.bit(3)),
            "a conforming driver accepts only what was offered");
    }

    @Test
    void featuresAreFrozenAfterFeaturesOkUntilReset()
    {
        f.driver.initialize(VirtioFeatures.bit(LoopbackDevice.F_BASE));
        f.driverTransport.writeDriverFeatures(0);
        assertEquals(2, f.count(TransportCounter.FEATURES_WRITE_REFUSED), "both pages refused");
        f.driver.setupQueue(0, 16);
        f.driver.driverOk();
        assertEquals(VirtioFeatures.bit(LoopbackDevice.F_BASE)
            | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1), f.device.activatedFeatures());
        f.driver.reset();
        assertEquals(0, f.transport.core().negotiatedFeatures());
    }

    @Test
    void deviceFeaturesAreReadBySelectPage()
    {
        f.rawWrite(DEVICE_FEATURES_SEL, 1);
        assertEquals(1, f.rawRead(DEVICE_FEATURES), "VERSION_1 is bit 32");
        f.rawWrite(DEVICE_FEATURES_SEL, 0);
        assertEquals(f.device.deviceFeatures() & ALL_ONES_32, f.rawRead(DEVICE_FEATURES));
        f.rawWrite(DEVICE_FEATURES_SEL, 2);
        assertEquals(0, f.rawRead(DEVICE_FEATURES));
    }

    @Test
    void queueRegistersAreWritableOnlyBetweenFeaturesOkAndDriverOk()
    {
        f.rawWrite(QUEUE_SEL, 0);
        f.rawWrite(QUEUE_SIZE, 16);
        assertEquals(1, f.count(TransportCounter.QUEUE_WRITE_OUTSIDE_WINDOW), "before FEATURES_OK");
        f.start(0, 16);
        f.rawWrite(QUEUE_SEL, 1);
        f.rawWrite(QUEUE_SIZE, 16);
        f.rawWrite(QUEUE_READY, 1);
        assertEquals(3, f.count(TransportCounter.QUEUE_WRITE_OUTSIDE_WINDOW), "after DRIVER_OK");
        assertEquals(0, f.rawRead(QUEUE_READY));
    }

    @Test
    void queueRegistersAreNotWritableWhileTheQueueIsReady() throws Exception
    {
        toFeaturesOk();
        final SplitQueueDriver queue = f.driver.setupQueue(0, 16);
        f.rawWrite(QUEUE_SEL, 0);
        f.rawWrite(QUEUE_SIZE, 8);
        f.rawWrite(VirtioMmioRegisters.QUEUE_DESC_LOW, 0x40);
        assertEquals(2, f.count(TransportCounter.QUEUE_WRITE_WHILE_READY));
        f.driver.driverOk();
        f.roundTrip(queue, new byte[] {9, 8, 7});
    }

    @Test
    void queueEnableValidatesSizeAlignmentAndRam()
    {
        toFeaturesOk();
        f.driverTransport.setupQueue(0, 3, 0x10000, 0x11000, 0x12000);
        f.rawWrite(QUEUE_READY, 1);
        assertEquals(0, f.rawRead(QUEUE_READY), "size not a power of 2");
        f.driverTransport.setupQueue(0, 16, 0x10008, 0x11000, 0x12000);
        f.rawWrite(QUEUE_READY, 1);
        assertEquals(0, f.rawRead(QUEUE_READY), "descriptor table misaligned");
        f.driverTransport.setupQueue(0, 16, MmioFixture.BASE, 0x11000, 0x12000);
        f.rawWrite(QUEUE_READY, 1);
        assertEquals(0, f.rawRead(QUEUE_READY), "descriptor table on the device window, not RAM");
        assertEquals(3, f.count(TransportCounter.QUEUE_ENABLE_INVALID));
    }

    @Test
    void noQueueProcessingBeforeDriverOkAndQueuesAreRescannedAtActivation() throws Exception
    {
        toFeaturesOk();
        final SplitQueueDriver queue = f.driver.setupQueue(0, 16);
        final long in = f.allocate(8);
        final long out = f.allocate(8);
        final int head = f.post(queue, in, out, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        queue.publish();
        f.driverTransport.notifyQueue(0);
        assertEquals(1, f.count(TransportCounter.NOTIFY_BEFORE_DRIVER_OK));
        assertEquals(0, f.device.chains());
        assertEquals(0, queue.raw().usedIdx(), "nothing used before DRIVER_OK");
        f.driver.driverOk();
        assertEquals(head, f.reap(queue), "the start-up scan found the early chain");
    }

    @Test
    void brokenRingSetsNeedsResetAndSendsAConfigInterrupt() throws Exception
    {
        final SplitQueueDriver queue = f.start(0, 16);
        // avail.idx jumps by more than the queue size: checklist item 14
        queue.raw().availIdx(17);
        f.driverTransport.notifyQueue(0);
        assertEquals(MmioFixture.causeConfig(), f.awaitCauses() & DriverTransport.INTERRUPT_CONFIG_CHANGE);
        assertEquals(DeviceStatus.DEVICE_NEEDS_RESET, f.rawRead(STATUS) & DeviceStatus.DEVICE_NEEDS_RESET);
        assertEquals(1, f.count(TransportCounter.QUEUE_BROKEN));
        assertEquals(QueueError.AVAIL_INDEX_JUMP, f.transport.core().queue(0).brokenReason());
        f.rawWrite(STATUS, f.rawRead(STATUS) | DRIVER_OK);
        assertEquals(0, f.count(TransportCounter.STATUS_NEEDS_RESET_WRITTEN), "writing back what was read is fine");
        f.driver.reset();
        f.roundTrip(f.start(0, 16), new byte[] {4, 2});
    }

    @Test
    void configIsReadableBeforeFeaturesOkAndLittleEndian()
    {
        assertEquals(LoopbackDevice.CONFIG_MAGIC, f.rawRead(CONFIG));
        assertEquals(0x56, f.raw.read(CONFIG + 1, 1), "byte-granular");
        assertEquals(0x1234, f.raw.read(CONFIG + 2, 2));
        assertEquals(0, f.count(TransportCounter.CONFIG_READ_OUT_OF_RANGE));
    }

    @Test
    void configAccessesPastTheConfigSizeReadAllOnesAndWritesAreIgnored()
    {
        assertEquals(ALL_ONES_32, f.rawRead(CONFIG + 8));
        assertEquals(ALL_ONES_32, f.rawRead(CONFIG + 6), "straddling the end");
        assertEquals(0xFF, f.raw.read(CONFIG + 0xFF, 1));
        f.raw.write(CONFIG + 6, 4, 0);
        f.raw.write(CONFIG + 4, 4, 0xCAFE);
        assertEquals(0xCAFE, f.rawRead(CONFIG + 4));
        assertEquals(3, f.count(TransportCounter.CONFIG_READ_OUT_OF_RANGE));
        assertEquals(1, f.count(TransportCounter.CONFIG_WRITE_OUT_OF_RANGE));
    }

    @Test
    void configGenerationChangesWhenTheDeviceChangesConfig() throws Exception
    {
        final long before = f.rawRead(CONFIG_GENERATION);
        f.device.changeConfig();
        assertEquals(before + 1, f.rawRead(CONFIG_GENERATION));
        assertEquals(0, f.rawRead(INTERRUPT_STATUS), "no notification before DRIVER_OK");
        f.start(0, 16);
        f.device.changeConfig();
        assertEquals(before + 2, f.rawRead(CONFIG_GENERATION));
        assertEquals(MmioFixture.causeConfig(), f.awaitCauses());
    }

    // ------------------------------------------------------------------------------------------------ virtio-mmio

    @Test
    void magicVersionAndIdsAreAsSpecified()
    {
        assertEquals(0x74726976L, f.rawRead(MAGIC_VALUE));
        assertEquals(2, f.rawRead(VERSION));
        assertEquals(LoopbackDevice.DEVICE_ID, f.rawRead(DEVICE_ID));
        assertEquals(VirtioMmioTransport.DEFAULT_VENDOR_ID & ALL_ONES_32, f.rawRead(VENDOR_ID));
        assertEquals(LoopbackDevice.DEVICE_ID, f.driverTransport.deviceId());
    }

    @Test
    void unalignedAndNon32BitRegisterAccessesAreIgnored()
    {
        f.raw.write(STATUS, 1, ACKNOWLEDGE);
        f.raw.write(STATUS, 2, ACKNOWLEDGE);
        f.raw.write(STATUS, 8, ACKNOWLEDGE);
        f.raw.write(STATUS + 2, 4, ACKNOWLEDGE);
        assertEquals(0, f.rawRead(STATUS));
        assertEquals(0, f.raw.read(MAGIC_VALUE, 1));
        assertEquals(0, f.raw.read(MAGIC_VALUE, 2));
        assertEquals(0, f.raw.read(MAGIC_VALUE, 8));
        assertEquals(0, f.raw.read(MAGIC_VALUE + 1, 4));
        assertEquals(8, f.count(TransportCounter.REGISTER_ACCESS_MISALIGNED));
    }

    @Test
    void legacyRegistersDoNotExist()
    {
        final int[] legacy = {0x028, 0x03c, 0x040};
        for (final int offset : legacy)
        {
            f.rawWrite(offset, 0);
            assertEquals(0, f.rawRead(offset));
        }
        assertEquals(6, f.count(TransportCounter.REGISTER_ACCESS_INVALID));
    }

    @Test
    void interruptStatusStaysSetUntilAcked() throws Exception
    {
        f.start(0, 16);
        f.device.changeConfig();
        assertEquals(DriverTransport.INTERRUPT_CONFIG_CHANGE, f.rawRead(INTERRUPT_STATUS));
        assertEquals(DriverTransport.INTERRUPT_CONFIG_CHANGE, f.rawRead(INTERRUPT_STATUS), "reading does not clear");
        f.rawWrite(INTERRUPT_ACK, DriverTransport.INTERRUPT_USED_BUFFER);
        assertEquals(DriverTransport.INTERRUPT_CONFIG_CHANGE, f.rawRead(INTERRUPT_STATUS), "only ACKed bits clear");
        f.rawWrite(INTERRUPT_ACK, DriverTransport.INTERRUPT_CONFIG_CHANGE);
        assertEquals(0, f.rawRead(INTERRUPT_STATUS));
    }

    @Test
    void interruptIsRedeliveredWhenACauseArrivesBetweenAckAndEoi() throws Exception
    {
        f.start(0, 16);
        f.device.changeConfig();
        assertEquals(MmioFixture.VECTOR, f.vcpu.hlt(MmioFixture.TIMEOUT_SECONDS, TimeUnit.SECONDS));
        f.rawWrite(INTERRUPT_ACK, f.rawRead(INTERRUPT_STATUS));
        f.device.changeConfig();
        f.vcpu.eoi();
        assertEquals(MmioFixture.causeConfig(), f.driver.pollInterrupt(), "the level line was re-sampled high");
    }

    @Test
    void queueSizeMaxIsZeroForQueuesThatDoNotExist()
    {
        f.rawWrite(QUEUE_SEL, 0);
        assertEquals(LoopbackDevice.MAX_QUEUE_SIZE, f.rawRead(QUEUE_SIZE_MAX));
        final long[] absent = {2, 0xFFFF, 0x7FFF_FFFF, ALL_ONES_32};
        for (final long sel : absent)
        {
            f.rawWrite(QUEUE_SEL, sel);
            assertEquals(0, f.rawRead(QUEUE_SIZE_MAX));
            assertEquals(0, f.rawRead(QUEUE_READY));
        }
    }

    @Test
    void selectedQueueIsCheckedOnEveryAccess()
    {
        toFeaturesOk();
        f.rawWrite(QUEUE_SEL, 2);
        f.rawWrite(QUEUE_SIZE, 16);
        f.rawWrite(VirtioMmioRegisters.QUEUE_DESC_LOW, 0x10000);
        f.rawWrite(VirtioMmioRegisters.QUEUE_DRIVER_HIGH, 0);
        f.rawWrite(VirtioMmioRegisters.QUEUE_DEVICE_LOW, 0x12000);
        f.rawWrite(QUEUE_READY, 1);
        assertEquals(0, f.rawRead(QUEUE_READY));
        assertEquals(5, f.count(TransportCounter.QUEUE_SELECT_OUT_OF_RANGE));
    }

    @Test
    void sharedMemoryRegistersReadAllOnesForAbsentRegions()
    {
        f.rawWrite(SHM_SEL, 0);
        final int[] registers = {SHM_LEN_LOW, SHM_LEN_HIGH, SHM_BASE_LOW, SHM_BASE_HIGH};
        for (final int register : registers)
        {
            assertEquals(ALL_ONES_32, f.rawRead(register));
        }
    }

    @Test
    void queueResetNeedsRingReset()
    {
        assertTrue((f.transport.core().deviceFeatures()
            & VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_RING_RESET)) == 0, "RING_RESET is not offered");
        f.rawWrite(QUEUE_RESET, 1);
        assertEquals(0, f.rawRead(QUEUE_RESET));
        assertEquals(1, f.count(TransportCounter.REGISTER_FEATURE_NOT_NEGOTIATED));
    }

    @Test
    void notifyForAQueueWithoutIoEventFdIsCountedAndDropped()
    {
        f.start(0, 16);
        f.rawWrite(QUEUE_NOTIFY, 1);
        f.rawWrite(QUEUE_NOTIFY, 0xFFFF);
        f.rawWrite(QUEUE_NOTIFY, ALL_ONES_32);
        assertEquals(3, f.count(TransportCounter.NOTIFY_INVALID_QUEUE));
    }
}
