package io.jvirtio.virtio.transport.mmio;

import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.transport.LoopbackDevice;
import io.jvirtio.virtio.transport.TransportCounter;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import static io.jvirtio.virtio.DeviceStatus.ACKNOWLEDGE;
import static io.jvirtio.virtio.DeviceStatus.DRIVER;
import static io.jvirtio.virtio.DeviceStatus.DRIVER_OK;
import static io.jvirtio.virtio.DeviceStatus.FAILED;
import static io.jvirtio.virtio.DeviceStatus.FEATURES_OK;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.DRIVER_FEATURES;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.DRIVER_FEATURES_SEL;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.INTERRUPT_ACK;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.INTERRUPT_STATUS;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_DESC_HIGH;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_DESC_LOW;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_DEVICE_HIGH;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_DEVICE_LOW;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_DRIVER_HIGH;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_DRIVER_LOW;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_NOTIFY;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_READY;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_SEL;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_SIZE;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.STATUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The "transport and registers" part of the bad-input list (checklist section 6), written by the hostile driver
 * through real exits, in both notify modes. After each attack the device must still work for a conforming driver.
 */
class MmioBadInputTest
{
    private static final long ALL_ONES_32 = 0xFFFF_FFFFL;
    private static final byte[] PAYLOAD = {1, 3, 5, 7, 11, 13};

    /** Starts features-ok with queue 0 selected, ready for queue register writes. */
    private static void toQueueWindow(final MmioFixture f)
    {
        f.driver.initialize(0);
        f.rawWrite(QUEUE_SEL, 0);
    }

    private static void writeAddresses(final MmioFixture f, final long desc, final long avail, final long used)
    {
        f.rawWrite(QUEUE_DESC_LOW, desc);
        f.rawWrite(QUEUE_DESC_HIGH, desc >>> 32);
        f.rawWrite(QUEUE_DRIVER_LOW, avail);
        f.rawWrite(QUEUE_DRIVER_HIGH, avail >>> 32);
        f.rawWrite(QUEUE_DEVICE_LOW, used);
        f.rawWrite(QUEUE_DEVICE_HIGH, used >>> 32);
    }

    /** The device still serves a conforming driver after a reset. */
    private static void assertStillWorks(final MmioFixture f) throws Exception
    {
        f.roundTrip(f.start(0, 16), PAYLOAD);
        assertFalse(f.transport.core().queue(0).isBroken());
    }

    @ParameterizedTest
    @EnumSource(MmioNotifyMode.class)
    void oddSizedAndUnalignedAccessesToEveryControlRegisterAreIgnored(final MmioNotifyMode mode) throws Exception
    {
        try (MmioFixture f = new MmioFixture(mode))
        {
            final int[] sizes = {1, 2, 8};
            long expected = 0;
            // bound: every register offset below config, three sizes and one misalignment each
            for (int offset = 0; offset < VirtioMmioRegisters.CONFIG; offset += 4)
            {
                if (offset == QUEUE_NOTIFY)
                {
                    continue;
                }
                for (final int size : sizes)
                {
                    if (size == 8 && offset + 8 > VirtioMmioRegisters.CONFIG)
                    {
                        continue;
                    }
                    f.raw.write(offset, size, -1L);
                    assertEquals(0, f.raw.read(offset, size));
                    expected += 2;
                }
                f.raw.write(offset + 1, 2, -1L);
                expected++;
            }
            assertEquals(expected, f.count(TransportCounter.REGISTER_ACCESS_MISALIGNED));
            assertEquals(0, f.rawRead(STATUS));
            assertStillWorks(f);
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {2, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000L, ALL_ONES_32})
    void queueSelectOutOfRangeTouchesNothing(final long sel) throws Exception
    {
        try (MmioFixture f = new MmioFixture(MmioNotifyMode.DATAMATCH))
        {
            toQueueWindow(f);
            f.rawWrite(QUEUE_SEL, sel);
            f.rawWrite(QUEUE_SIZE, 16);
            writeAddresses(f, 0x10000, 0x11000, 0x12000);
            f.rawWrite(QUEUE_READY, 1);
            assertEquals(0, f.rawRead(QUEUE_READY));
            assertEquals(8, f.count(TransportCounter.QUEUE_SELECT_OUT_OF_RANGE));
            f.driver.reset();
            assertStillWorks(f);
        }
    }

    @ParameterizedTest
    @EnumSource(MmioNotifyMode.class)
    void notifyWithQueueIndexOutOfRangeOrNegativeIsHarmless(final MmioNotifyMode mode) throws Exception
    {
        try (MmioFixture f = new MmioFixture(mode))
        {
            final SplitQueueDriver queue = f.start(0, 16);
            final long[] values = {1, 2, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000L, ALL_ONES_32};
            for (final long value : values)
            {
                f.rawWrite(QUEUE_NOTIFY, value);
            }
            f.roundTrip(queue, PAYLOAD);
            assertFalse(f.transport.core().queue(0).isBroken());
            if (mode == MmioNotifyMode.DATAMATCH)
            {
                assertEquals(values.length, f.count(TransportCounter.NOTIFY_INVALID_QUEUE));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 3, 100, 512, 65535, 0x10000, -1})
    void invalidQueueSizeIsRefusedAtEnable(final int size) throws Exception
    {
        try (MmioFixture f = new MmioFixture(MmioNotifyMode.DATAMATCH))
        {
            toQueueWindow(f);
            f.rawWrite(QUEUE_SIZE, size & ALL_ONES_32);
            final SplitQueueConfig layout = SplitQueueConfig.contiguous(f.allocate(0x4000), 16, false, false);
            writeAddresses(f, layout.descTable(), layout.availRing(), layout.usedRing());
            f.rawWrite(QUEUE_READY, 1);
            assertEquals(0, f.rawRead(QUEUE_READY));
            assertEquals(1, f.count(TransportCounter.QUEUE_ENABLE_INVALID));
            f.driver.reset();
            assertStillWorks(f);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void addressHalvesMayComeInEitherOrder(final boolean highFirst) throws Exception
    {
        try (MmioFixture f = new MmioFixture(MmioNotifyMode.WILDCARD))
        {
            f.driver.initialize(0);
            final long base = f.allocate(0x4000);
            final SplitQueueConfig layout = SplitQueueConfig.contiguous(base, 16, false, false);
            final SplitQueueDriver queue = new SplitQueueDriver(f.memory, layout);
            f.rawWrite(QUEUE_SEL, 0);
            f.rawWrite(QUEUE_SIZE, 16);
            // a stale high half first, corrected afterwards: only the final value counts
            f.rawWrite(QUEUE_DESC_HIGH, 0x55);
            final int[][] order = highFirst
                ? new int[][] {{QUEUE_DESC_HIGH, QUEUE_DESC_LOW}, {QUEUE_DRIVER_HIGH, QUEUE_DRIVER_LOW},
                    {QUEUE_DEVICE_HIGH, QUEUE_DEVICE_LOW}}
                : new int[][] {{QUEUE_DESC_LOW, QUEUE_DESC_HIGH}, {QUEUE_DRIVER_LOW, QUEUE_DRIVER_HIGH},
                    {QUEUE_DEVICE_LOW, QUEUE_DEVICE_HIGH}};
            final long[] addresses = {layout.descTable(), layout.availRing(), layout.usedRing()};
            for (int area = 0; area < 3; area++)
            {
                for (final int register : order[area])
                {
                    final boolean high = register == QUEUE_DESC_HIGH || register == QUEUE_DRIVER_HIGH
                        || register == QUEUE_DEVICE_HIGH;
                    f.rawWrite(register, high ? addresses[area] >>> 32 : addresses[area] & ALL_ONES_32);
                }
            }
            f.rawWrite(QUEUE_READY, 1);
            assertEquals(1, f.rawRead(QUEUE_READY));
            f.driver.driverOk();
            f.roundTrip(queue, PAYLOAD);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"unaligned-desc", "unaligned-avail", "unaligned-used", "all-zero", "beyond-ram",
        "straddling-ram-end", "on-mmio", "used-over-avail"})
    void badRingAddressesAreRefusedAtEnable(final String attack) throws Exception
    {
        try (MmioFixture f = new MmioFixture(MmioNotifyMode.DATAMATCH))
        {
            toQueueWindow(f);
            final long ramEnd = f.vm.config().memoryBytes();
            final long base = f.allocate(0x4000);
            final SplitQueueConfig ok = SplitQueueConfig.contiguous(base, 16, false, false);
            f.rawWrite(QUEUE_SIZE, 16);
            switch (attack)
            {
                case "unaligned-desc" -> writeAddresses(f, ok.descTable() + 8, ok.availRing(), ok.usedRing());
                case "unaligned-avail" -> writeAddresses(f, ok.descTable(), ok.availRing() + 1, ok.usedRing());
                case "unaligned-used" -> writeAddresses(f, ok.descTable(), ok.availRing(), ok.usedRing() + 2);
                case "all-zero" -> writeAddresses(f, 0, 0, 0);
                case "beyond-ram" -> writeAddresses(f, ramEnd + 0x1000, ok.availRing(), ok.usedRing());
                case "straddling-ram-end" -> writeAddresses(f, ok.descTable(), ok.availRing(), ramEnd - 16);
                case "on-mmio" -> writeAddresses(f, ok.descTable(), ok.availRing(), MmioFixture.BASE);
                default -> writeAddresses(f, ok.descTable(), ok.availRing(), ok.availRing());
            }
            f.rawWrite(QUEUE_READY, 1);
            assertEquals(0, f.rawRead(QUEUE_READY), attack);
            assertEquals(1, f.count(TransportCounter.QUEUE_ENABLE_INVALID));
            f.driver.reset();
            assertStillWorks(f);
        }
    }

    @ParameterizedTest
    @EnumSource(MmioNotifyMode.class)
    void queueRegistersWrittenAfterReadyOrDriverOkDoNotReachTheRing(final MmioNotifyMode mode) throws Exception
    {
        try (MmioFixture f = new MmioFixture(mode))
        {
            f.driver.initialize(0);
            final SplitQueueDriver queue = f.driver.setupQueue(0, 16);
            f.rawWrite(QUEUE_SEL, 0);
            f.rawWrite(QUEUE_SIZE, 8);
            writeAddresses(f, 0x8, 0x1, 0x2);
            f.driver.driverOk();
            f.rawWrite(QUEUE_SIZE, 0);
            writeAddresses(f, ALL_ONES_32, ALL_ONES_32, ALL_ONES_32);
            f.rawWrite(QUEUE_READY, 0);
            assertEquals(7, f.count(TransportCounter.QUEUE_WRITE_WHILE_READY));
            assertEquals(8, f.count(TransportCounter.QUEUE_WRITE_OUTSIDE_WINDOW));
            assertEquals(1, f.rawRead(QUEUE_READY));
            f.roundTrip(queue, PAYLOAD);
            assertEquals(16, f.transport.core().queue(0).size(), "the frozen configuration is in use");
        }
    }

    @ParameterizedTest
    @EnumSource(MmioNotifyMode.class)
    void flappingQueueReadyInsideTheWindowEndsInAUsableQueue(final MmioNotifyMode mode) throws Exception
    {
        try (MmioFixture f = new MmioFixture(mode))
        {
            f.driver.initialize(0);
            final SplitQueueDriver queue = f.driver.setupQueue(0, 16);
            f.rawWrite(QUEUE_SEL, 0);
            // bound: a fixed number of flaps
            for (int i = 0; i < 20; i++)
            {
                f.rawWrite(QUEUE_READY, 1);
                f.rawWrite(QUEUE_READY, 1);
                f.rawWrite(QUEUE_READY, 0);
            }
            assertEquals(0, f.rawRead(QUEUE_READY));
            f.rawWrite(QUEUE_READY, 1);
            f.driver.driverOk();
            f.roundTrip(queue, PAYLOAD);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {DRIVER_OK, FEATURES_OK, ACKNOWLEDGE | FEATURES_OK, DRIVER | ACKNOWLEDGE | DRIVER_OK,
        FAILED | DRIVER_OK, DeviceStatus.DEVICE_NEEDS_RESET, 0x10, 0x20, 0x100})
    void statusJumpsAreRefused(final int value) throws Exception
    {
        try (MmioFixture f = new MmioFixture(MmioNotifyMode.DATAMATCH))
        {
            f.rawWrite(STATUS, ACKNOWLEDGE);
            f.rawWrite(STATUS, ACKNOWLEDGE | value);
            final long status = f.rawRead(STATUS);
            assertEquals(0, status & ~(ACKNOWLEDGE | FAILED), "status=0x" + Long.toHexString(status));
            assertEquals(0, f.device.activations());
            assertStillWorks(f);
        }
    }

    @ParameterizedTest
    @EnumSource(MmioNotifyMode.class)
    void clearingBitsWithoutResetIsIgnoredWhileRunning(final MmioNotifyMode mode) throws Exception
    {
        try (MmioFixture f = new MmioFixture(mode))
        {
            final SplitQueueDriver queue = f.start(0, 16);
            f.rawWrite(STATUS, ACKNOWLEDGE | DRIVER);
            f.rawWrite(STATUS, DRIVER_OK);
            assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK, f.rawRead(STATUS));
            assertEquals(2, f.count(TransportCounter.STATUS_BITS_CLEARED));
            f.roundTrip(queue, PAYLOAD);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 0xFFFF, -1})
    void featureSelectPagesAboveOneAreRefused(final int select) throws Exception
    {
        try (MmioFixture f = new MmioFixture(MmioNotifyMode.DATAMATCH))
        {
            f.rawWrite(STATUS, ACKNOWLEDGE);
            f.rawWrite(STATUS, ACKNOWLEDGE | DRIVER);
            f.rawWrite(DRIVER_FEATURES_SEL, select & ALL_ONES_32);
            f.rawWrite(DRIVER_FEATURES, ALL_ONES_32);
            assertEquals(1, f.count(TransportCounter.FEATURES_SELECT_OUT_OF_RANGE));
            assertEquals(0, f.transport.core().driverFeatures(0) | f.transport.core().driverFeatures(1));
            assertStillWorks(f);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void featureWritesAfterFeaturesOkAreRefused(final boolean afterDriverOk) throws Exception
    {
        try (MmioFixture f = new MmioFixture(MmioNotifyMode.WILDCARD))
        {
            f.driver.initialize(VirtioFeatures.bit(LoopbackDevice.F_BASE));
            final SplitQueueDriver queue = f.driver.setupQueue(0, 16);
            if (afterDriverOk)
            {
                f.driver.driverOk();
            }
            f.rawWrite(DRIVER_FEATURES_SEL, 0);
            f.rawWrite(DRIVER_FEATURES, ALL_ONES_32);
            assertEquals(1, f.count(TransportCounter.FEATURES_WRITE_REFUSED));
            assertEquals(VirtioFeatures.bit(LoopbackDevice.F_BASE)
                | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1), f.transport.core().negotiatedFeatures());
            if (!afterDriverOk)
            {
                f.driver.driverOk();
            }
            f.roundTrip(queue, PAYLOAD);
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {4, 0x80, 0xFFFF_FFFCL, ALL_ONES_32})
    void interruptAckWithUndefinedBitsIsCountedAndClearsOnlyDefinedOnes(final long bits) throws Exception
    {
        try (MmioFixture f = new MmioFixture(MmioNotifyMode.DATAMATCH))
        {
            f.start(0, 16);
            f.device.changeConfig();
            f.rawWrite(INTERRUPT_ACK, bits);
            assertEquals(1, f.count(TransportCounter.INTERRUPT_ACK_UNDEFINED_BITS));
            final long expected = (bits & 2) != 0 ? 0 : 2;
            assertEquals(expected, f.rawRead(INTERRUPT_STATUS));
        }
    }

    @ParameterizedTest
    @EnumSource(MmioNotifyMode.class)
    void kickStormWithNothingPostedBreaksNothing(final MmioNotifyMode mode) throws Exception
    {
        try (MmioFixture f = new MmioFixture(mode))
        {
            final SplitQueueDriver queue = f.start(0, 16);
            // bound: a fixed storm
            for (int i = 0; i < 5_000; i++)
            {
                f.driverTransport.notifyQueue(0);
            }
            f.roundTrip(queue, PAYLOAD);
            assertFalse(f.transport.core().queue(0).isBroken());
            assertEquals(0, f.device.worker().handlerErrors());
        }
    }
}
