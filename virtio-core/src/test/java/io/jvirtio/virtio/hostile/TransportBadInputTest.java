package io.jvirtio.virtio.hostile;

import io.jvirtio.bus.vm.Vcpu;
import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.driver.PciConfigPorts;
import io.jvirtio.virtio.driver.PciDriverTransport;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.queue.QueueCounter;
import io.jvirtio.virtio.transport.LoopbackDevice;
import io.jvirtio.virtio.transport.QueueArea;
import io.jvirtio.virtio.transport.TransportCounter;
import io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters;
import io.jvirtio.virtio.transport.pci.CommonCfgLayout;
import io.jvirtio.virtio.transport.pci.VirtioPciCapLayout;
import io.jvirtio.virtio.transport.pci.VirtioPciCounter;
import io.jvirtio.virtio.transport.pci.VirtioPciTransport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.jvirtio.virtio.DeviceStatus.ACKNOWLEDGE;
import static io.jvirtio.virtio.DeviceStatus.DRIVER;
import static io.jvirtio.virtio.DeviceStatus.DRIVER_OK;
import static io.jvirtio.virtio.DeviceStatus.FAILED;
import static io.jvirtio.virtio.DeviceStatus.FEATURES_OK;
import static io.jvirtio.virtio.hostile.HostileRig.N;
import static io.jvirtio.virtio.hostile.HostileRig.RAM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The "Transport and registers" group of the bad-input list (virtio-checklist §6), one test per item, each written
 * by a hostile driver as loads and stores through vCPU 0 into the virtio-pci and virtio-mmio register files: the
 * access is refused or ignored and counted in a named counter, the state the checklist protects is unchanged, and
 * the host is healthy ({@link io.jvirtio.virtio.testkit.HostHealth}), with the device serving again (after a reset
 * where the attack ended the negotiation).
 */
class TransportBadInputTest
{
    private static final long ALL_ONES_32 = 0xFFFF_FFFFL;
    private static final long VERSION_1 = VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1);

    private static long pciCount(final HostileRig r, final VirtioPciCounter counter)
    {
        return r.pci().count(counter);
    }

    /** Brings the device to FEATURES_OK with queue 0 selected: the window in which queue registers are writable. */
    private static void toQueueWindow(final HostileRig r)
    {
        r.driver().initialize(0);
        r.queueSelect(0);
    }

    /**
     * "Unaligned or odd-size access (1, 2, 3, 8 bytes) to control registers": every one ignored and counted, the
     * status untouched. (No x86 store is 3 bytes wide, so the vCPU cannot make a 3-byte access.)
     */
    @BothTransports
    void unalignedOrOddSizeAccessToControlRegisters(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            r.watch();
            if (kind == TransportKind.PCI)
            {
                final int status = VirtioPciTransport.COMMON_CFG_OFFSET + CommonCfgLayout.DEVICE_STATUS;
                r.raw.write(status, 2, ACKNOWLEDGE);
                r.raw.write(status, 4, ACKNOWLEDGE);
                r.raw.write(CommonCfgLayout.QUEUE_SELECT, 1, 1);
                r.raw.write(CommonCfgLayout.QUEUE_SELECT + 1, 1, 1);
                r.raw.write(CommonCfgLayout.QUEUE_DESC, 8, -1L);
                assertEquals(-1L, r.raw.read(CommonCfgLayout.QUEUE_DESC, 8));
                assertEquals(6, pciCount(r, VirtioPciCounter.COMMON_CFG_ACCESS_INVALID));
            }
            else
            {
                final int[] sizes = {1, 2, 8};
                // bound: three sizes
                for (final int size : sizes)
                {
                    r.raw.write(VirtioMmioRegisters.STATUS, size, ACKNOWLEDGE);
                    assertEquals(0, r.raw.read(VirtioMmioRegisters.STATUS, size));
                }
                r.raw.write(VirtioMmioRegisters.STATUS + 1, 2, ACKNOWLEDGE);
                r.raw.write(VirtioMmioRegisters.QUEUE_SEL + 2, 4, 1);
                assertEquals(8, r.count(TransportCounter.REGISTER_ACCESS_MISALIGNED));
            }
            assertEquals(0, r.status(), "no odd access reached the status");
            r.health.checkHealthy();
            r.health.loopbackRoundTripAfterReset(r.dut, N);
        }
    }

    /** "Offsets beyond the window": loads read all ones or 0, stores change nothing, each counted. */
    @BothTransports
    void offsetsBeyondTheWindow(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.watch();
            final long before = kind == TransportKind.PCI
                ? pciCount(r, VirtioPciCounter.BAR_ACCESS_UNASSIGNED) + pciCount(r,
                VirtioPciCounter.NOTIFY_ACCESS_INVALID)
                : r.count(TransportCounter.REGISTER_ACCESS_INVALID) + r.count(TransportCounter.CONFIG_READ_OUT_OF_RANGE)
                + r.count(TransportCounter.CONFIG_WRITE_OUT_OF_RANGE);
            final long[] offsets = kind == TransportKind.PCI
                ? new long[] {0x0800, 0x0FFC, VirtioPciTransport.NOTIFY_OFFSET + 0x800, VirtioPciTransport
                .STRUCTURE_BAR_SIZE - 4}
                : new long[] {0x0D0, 0x0F0, VirtioMmioRegisters.CONFIG + 0x80, VirtioMmioRegisters.CONFIG + 0xFC};
            // past the window's end, in the rest of its page: no device decodes it
            final long pastEnd = kind == TransportKind.PCI ? 0 : 0x800;
            if (pastEnd != 0)
            {
                assertNull(r.health.guest(() -> r.raw.write(pastEnd, 4, ALL_ONES_32)));
                assertNull(r.health.guest(() -> r.raw.read(pastEnd, 4)));
            }
            // bound: four offsets
            for (final long offset : offsets)
            {
                assertNull(r.health.guest(() -> r.raw.write(offset, 4, ALL_ONES_32)));
                assertNull(r.health.guest(() -> r.raw.read(offset, 4)));
            }
            final long after = kind == TransportKind.PCI
                ? pciCount(r, VirtioPciCounter.BAR_ACCESS_UNASSIGNED) + pciCount(r,
                VirtioPciCounter.NOTIFY_ACCESS_INVALID)
                : r.count(TransportCounter.REGISTER_ACCESS_INVALID) + r.count(TransportCounter.CONFIG_READ_OUT_OF_RANGE)
                + r.count(TransportCounter.CONFIG_WRITE_OUT_OF_RANGE);
            assertEquals(2L * offsets.length, after - before, "every access counted");
            assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK, r.status());
            r.expectHealthyAndOtherQueueWorks();
            r.health.loopbackRoundTrip(r.dut, 0);
        }
    }

    /** "Config reads and writes past config size": reads all ones, writes ignored, both counted. */
    @BothTransports
    void configReadsAndWritesPastConfigSize(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.watch();
            final long config = r.configBase();
            r.raw.write(config + 4, 4, 0x1111_2222L);
            assertEquals(0xFFFF_FFFFL, r.raw.read(config + 8, 4));
            assertEquals(0xFFFF_FFFFL, r.raw.read(config + 6, 4), "straddling the end of config");
            r.raw.write(config + 8, 4, 0x3333_4444L);
            r.raw.write(config + 6, 4, 0x5555_6666L);
            assertEquals(0x1111_2222L, r.raw.read(config + 4, 4), "the writable field kept its value");
            assertEquals(LoopbackDevice.CONFIG_MAGIC, r.raw.read(config, 4));
            assertEquals(2, r.count(TransportCounter.CONFIG_READ_OUT_OF_RANGE));
            assertEquals(2, r.count(TransportCounter.CONFIG_WRITE_OUT_OF_RANGE));
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /**
     * "queue_select or QueueSel = num_queues, 0xFFFF, 0x7FFFFFFF" (Cloud Hypervisor GH #7917): every queue register
     * reads 0 and no write reaches a queue.
     */
    @BothTransports
    void queueSelectEqualToNumQueuesOr0xFFFFOr0x7FFFFFFF(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            r.watch();
            toQueueWindow(r);
            final long[] selects = {2, 0xFFFF, 0x7FFF_FFFF};
            // bound: three selects
            for (final long select : selects)
            {
                r.queueSelect(select);
                r.queueSize(N);
                r.queueAddresses(r.buffer(0), r.buffer(8), r.buffer(16));
                r.queueReady(1);
                assertEquals(0, r.queueReady());
                assertEquals(0, r.queueSize());
            }
            if (kind == TransportKind.PCI)
            {
                assertEquals(3L * 10, pciCount(r, VirtioPciCounter.QUEUE_SELECT_OUT_OF_RANGE),
                    "every queue register access of each select");
            }
            else
            {
                // reads of a missing queue's QueueReady answer 0 uncounted: it is how a virtio-mmio driver probes
                assertEquals(3L * 8, r.count(TransportCounter.QUEUE_SELECT_OUT_OF_RANGE),
                    "every queue register write of each select");
                assertEquals(3, r.count(TransportCounter.REGISTER_ACCESS_INVALID), "QueueSize is write-only");
            }
            assertFalse(r.dut.core().queueReady(0) || r.dut.core().queueReady(1));
            r.health.checkHealthy();
            r.health.loopbackRoundTripAfterReset(r.dut, N);
        }
    }

    /**
     * "QueueNotify / notify data with vq ≥ num_queues or negative as s32" (CVE-2011-2512): harmless on every notify
     * path; a datamatch or register notify counts it, a wildcard one wakes the worker, which finds nothing.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(TransportKind.class)
    void notifyWithQueueIndexAtOrAboveNumQueuesOrNegative(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.watch();
            final long[] values = {2, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000L, ALL_ONES_32};
            // bound: five values
            for (final long value : values)
            {
                r.notifyRaw(0, value);
            }
            if (kind == TransportKind.PCI)
            {
                final long before = pciCount(r, VirtioPciCounter.NOTIFY_ACCESS_INVALID);
                r.notifyRaw(2, 0);
                r.notifyRaw(0x3FF, 0);
                assertEquals(before + 2, pciCount(r, VirtioPciCounter.NOTIFY_ACCESS_INVALID),
                    "notify addresses past the last queue");
            }
            if (kind == TransportKind.MMIO_DATAMATCH)
            {
                assertEquals(values.length, r.count(TransportCounter.NOTIFY_INVALID_QUEUE));
            }
            assertFalse(r.deviceQueue(0).isBroken());
            r.expectHealthyAndOtherQueueWorks();
            r.health.loopbackRoundTrip(r.dut, 0);
        }
    }

    /**
     * "QueueSize of 0, not a power of 2, > max, or 65535": the enable is refused and counted; no division or mask
     * is ever taken from such a size (CVE-2017-17381's lesson).
     */
    @BothTransports
    void queueSizeZeroNotPowerOfTwoAboveMaxOr65535(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            r.watch();
            final long[] sizes = {0, 3, 2L * LoopbackDevice.MAX_QUEUE_SIZE, 65535};
            // bound: four sizes
            for (final long size : sizes)
            {
                toQueueWindow(r);
                r.queueSize(size);
                r.queueAddresses(r.buffer(0), r.buffer(16), r.buffer(32));
                r.queueReady(1);
                assertEquals(0, r.queueReady(), "size=" + size);
            }
            assertEquals(sizes.length, r.count(TransportCounter.QUEUE_ENABLE_INVALID));
            r.health.checkHealthy();
            r.health.loopbackRoundTripAfterReset(r.dut, N);
        }
    }

    /** "Address halves written in either order": only the final 64-bit value counts, and the queue is enabled. */
    @BothTransports
    void addressHalvesWrittenInEitherOrder(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            r.watch();
            final long desc = r.buffer(0);
            final long driverArea = r.buffer(16);
            final long deviceArea = r.buffer(32);
            toQueueWindow(r);
            r.queueSize(N);
            // a stale high half first, then high before low on every area
            r.queueAddressHalf(QueueArea.DESC, true, 0x55);
            r.queueAddressHalf(QueueArea.DESC, true, desc >>> 32);
            r.queueAddressHalf(QueueArea.DESC, false, desc);
            r.queueAddressHalf(QueueArea.DRIVER, true, driverArea >>> 32);
            r.queueAddressHalf(QueueArea.DRIVER, false, driverArea);
            r.queueAddressHalf(QueueArea.DEVICE, false, deviceArea);
            r.queueAddressHalf(QueueArea.DEVICE, true, deviceArea >>> 32);
            assertEquals(desc, r.dut.core().queueAddress(0, QueueArea.DESC));
            assertEquals(driverArea, r.dut.core().queueAddress(0, QueueArea.DRIVER));
            assertEquals(deviceArea, r.dut.core().queueAddress(0, QueueArea.DEVICE));
            r.queueReady(1);
            assertEquals(1, r.queueReady());
            r.health.checkHealthy();
            r.health.loopbackRoundTripAfterReset(r.dut, N);
        }
    }

    /**
     * "Addresses unaligned, 0, beyond guest RAM, straddling a RAM hole, or overlapping MMIO": each enable refused and
     * counted (address 0 is RAM on this machine, so the zero case is a used ring over the descriptor table).
     */
    @BothTransports
    void queueAddressesUnalignedZeroBeyondRamStraddlingOrOverMmio(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            r.watch();
            final long desc = r.buffer(0);
            final long avail = r.buffer(16);
            final long used = r.buffer(32);
            final long[][] attacks = {
                {desc + 8, avail, used},
                {desc, avail + 1, used},
                {desc, avail, used + 2},
                {0, 0, 0},
                {RAM + 0x1000, avail, used},
                {desc, avail, RAM - 16},
                {desc, avail, r.notifyGpa() & ~0xFFFL},
            };
            // bound: seven attacks
            for (final long[] attack : attacks)
            {
                toQueueWindow(r);
                r.queueSize(N);
                r.queueAddresses(attack[0], attack[1], attack[2]);
                r.queueReady(1);
                assertEquals(0, r.queueReady());
            }
            assertEquals(attacks.length, r.count(TransportCounter.QUEUE_ENABLE_INVALID));
            r.health.checkHealthy();
            r.health.loopbackRoundTripAfterReset(r.dut, N);
        }
    }

    /**
     * "Any queue register written after QueueReady=1 or after DRIVER_OK (CVE-2026-5747 pattern)": refused and
     * counted; the frozen configuration stays in use and the queue keeps serving.
     */
    @BothTransports
    void queueRegistersWrittenAfterReadyOrDriverOk(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            r.watch();
            r.driver().initialize(0);
            r.driver().setupQueue(0, N).disableInterrupts();
            r.queueSelect(0);
            r.queueSize(0);
            r.queueAddresses(ALL_ONES_32, ALL_ONES_32, ALL_ONES_32);
            final long whileReady = r.count(TransportCounter.QUEUE_WRITE_WHILE_READY);
            assertEquals(7, whileReady);
            r.driver().setupQueue(1, N).disableInterrupts();
            r.driver().driverOk();
            r.queueSelect(0);
            r.queueSize(8);
            r.queueAddresses(0x8, 0x1, 0x2);
            assertEquals(7, r.count(TransportCounter.QUEUE_WRITE_OUTSIDE_WINDOW));
            assertEquals(N, r.deviceQueue(0).size(), "the frozen configuration is in use");
            assertEquals(1, r.queueReady());
            r.health.loopbackRoundTrip(r.dut, 0);
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /** "Repeated or flapping ready writes": inside the window they end in a usable queue; nothing breaks. */
    @BothTransports
    void repeatedOrFlappingReadyWrites(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            r.watch();
            r.driver().initialize(0);
            r.driver().setupQueue(0, N).disableInterrupts();
            r.driver().setupQueue(1, N).disableInterrupts();
            r.queueSelect(0);
            // bound: twenty flaps
            for (int i = 0; i < 20; i++)
            {
                r.queueReady(1);
                r.queueReady(1);
                r.queueReady(0);
            }
            r.queueReady(1);
            assertEquals(1, r.queueReady());
            r.driver().driverOk();
            r.health.loopbackRoundTrip(r.dut, 0);
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /** "queue_enable=0 written on PCI": ignored and counted; the queue keeps serving. */
    @Test
    void queueEnableZeroWrittenOnPci() throws Exception
    {
        try (HostileRig r = new HostileRig(TransportKind.PCI).start(0))
        {
            r.watch();
            r.queueSelect(0);
            r.queueReady(0);
            assertEquals(1, r.queueReady());
            assertEquals(1, pciCount(r, VirtioPciCounter.QUEUE_ENABLE_ZERO_WRITE));
            r.health.loopbackRoundTrip(r.dut, 0);
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /**
     * "Status jumps (0→DRIVER_OK, FEATURES_OK without DRIVER, bits cleared without reset, FAILED|DRIVER_OK,
     * NEEDS_RESET written by the driver)": each refused and counted; the device never activates.
     */
    @BothTransports
    void statusJumps(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            r.watch();
            r.status(DRIVER_OK);
            r.status(ACKNOWLEDGE);
            r.status(ACKNOWLEDGE | FEATURES_OK);
            r.status(ACKNOWLEDGE | DRIVER);
            r.status(ACKNOWLEDGE);
            r.status(ACKNOWLEDGE | DRIVER | DeviceStatus.DEVICE_NEEDS_RESET);
            r.status(ACKNOWLEDGE | DRIVER | FAILED | DRIVER_OK);
            assertEquals(0, r.status() & (FEATURES_OK | DRIVER_OK | DeviceStatus.DEVICE_NEEDS_RESET));
            assertTrue(r.count(TransportCounter.STATUS_TRANSITION_REFUSED) >= 2, r.dut.core().counters().toString());
            assertEquals(1, r.count(TransportCounter.STATUS_BITS_CLEARED));
            assertEquals(1, r.count(TransportCounter.STATUS_NEEDS_RESET_WRITTEN));
            assertEquals(0, r.device.activations());
            r.health.checkHealthy();
            r.health.loopbackRoundTripAfterReset(r.dut, N);
        }
    }

    /** "Feature writes after FEATURES_OK": refused and counted; the negotiated set is unchanged. */
    @BothTransports
    void featureWritesAfterFeaturesOk(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(VirtioFeatures.bit(LoopbackDevice.F_BASE)))
        {
            r.watch();
            r.driverFeatures(0, ALL_ONES_32);
            r.driverFeatures(1, ALL_ONES_32);
            assertEquals(2, r.count(TransportCounter.FEATURES_WRITE_REFUSED));
            assertEquals(VirtioFeatures.bit(LoopbackDevice.F_BASE) | VERSION_1, r.dut.core().negotiatedFeatures());
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /** "Features never offered": FEATURES_OK does not stick. */
    @BothTransports
    void featuresNeverOffered(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            r.watch();
            negotiate(r, VERSION_1 | VirtioFeatures.bit(5));
            assertEquals(1, r.count(TransportCounter.FEATURES_NOT_OFFERED));
            r.health.checkHealthy();
            r.health.loopbackRoundTripAfterReset(r.dut, N);
        }
    }

    /** "Select pages ≥ 2": refused and counted, no feature bit set. */
    @BothTransports
    void featureSelectPagesTwoAndAbove(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            r.watch();
            r.status(ACKNOWLEDGE);
            r.status(ACKNOWLEDGE | DRIVER);
            final long[] selects = {2, 3, 0xFFFF, ALL_ONES_32};
            // bound: four selects
            for (final long select : selects)
            {
                r.driverFeatures(select, ALL_ONES_32);
            }
            assertEquals(selects.length, r.count(TransportCounter.FEATURES_SELECT_OUT_OF_RANGE));
            assertEquals(0, r.dut.core().driverFeatures(0) | r.dut.core().driverFeatures(1));
            r.health.checkHealthy();
            r.health.loopbackRoundTripAfterReset(r.dut, N);
        }
    }

    /** "Missing VERSION_1": FEATURES_OK does not stick. */
    @BothTransports
    void missingVersion1(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            r.watch();
            negotiate(r, VirtioFeatures.bit(LoopbackDevice.F_BASE));
            assertEquals(1, r.count(TransportCounter.FEATURES_WITHOUT_VERSION_1));
            r.health.checkHealthy();
            r.health.loopbackRoundTripAfterReset(r.dut, N);
        }
    }

    /** "Dependency violations": a feature accepted without the one it needs; FEATURES_OK does not stick. */
    @BothTransports
    void featureDependencyViolations(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            r.watch();
            negotiate(r, VERSION_1 | VirtioFeatures.bit(LoopbackDevice.F_NEEDS_BASE));
            assertEquals(1, r.count(TransportCounter.FEATURES_REFUSED_BY_DEVICE));
            r.health.checkHealthy();
            r.health.loopbackRoundTripAfterReset(r.dut, N);
        }
    }

    /** Writes {@code features} and FEATURES_OK; asserts FEATURES_OK did not stick. */
    private static void negotiate(final HostileRig r, final long features)
    {
        r.status(ACKNOWLEDGE);
        r.status(ACKNOWLEDGE | DRIVER);
        r.driverFeatures(0, features & ALL_ONES_32);
        r.driverFeatures(1, features >>> 32);
        r.status(ACKNOWLEDGE | DRIVER | FEATURES_OK);
        assertEquals(0, r.status() & FEATURES_OK, "FEATURES_OK must not stick: features=0x"
            + Long.toHexString(features));
    }

    /**
     * "MSI-X vector out of range or 0xFFFF toggled during operation": an out-of-range vector reads back NO_VECTOR
     * and is counted; toggling NO_VECTOR and back never stops the queue.
     */
    @Test
    void msixVectorOutOfRangeOrNoVectorToggledDuringOperation() throws Exception
    {
        try (HostileRig r = new HostileRig(TransportKind.PCI).start(0))
        {
            r.watch();
            final long vectorReg = VirtioPciTransport.COMMON_CFG_OFFSET + CommonCfgLayout.QUEUE_MSIX_VECTOR;
            final long configVector = VirtioPciTransport.COMMON_CFG_OFFSET + CommonCfgLayout.CONFIG_MSIX_VECTOR;
            r.queueSelect(0);
            // bound: ten toggles
            for (int i = 0; i < 10; i++)
            {
                r.raw.write(vectorReg, 2, CommonCfgLayout.VIRTIO_MSI_NO_VECTOR);
                r.raw.write(vectorReg, 2, 0x7FF);
                r.raw.write(configVector, 2, 0x7FF);
                r.raw.write(vectorReg, 2, 1);
                r.raw.write(configVector, 2, 0);
                r.health.loopbackRoundTrip(r.dut, 0);
            }
            r.raw.write(vectorReg, 2, 0x7FF);
            assertEquals(CommonCfgLayout.VIRTIO_MSI_NO_VECTOR, r.raw.read(vectorReg, 2));
            assertEquals(21, pciCount(r, VirtioPciCounter.MSIX_VECTOR_OUT_OF_RANGE));
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /**
     * "MSI-X table/PBA accesses of odd size or OOB" (CVE-2020-13754): ignored; the table entry keeps its value and
     * no access throws into the vCPU.
     */
    @Test
    void msixTableAndPbaAccessesOfOddSizeOrOutOfBounds() throws Exception
    {
        try (HostileRig r = new HostileRig(TransportKind.PCI).start(0))
        {
            r.watch();
            final PciDriverTransport pci = (PciDriverTransport)r.driver().transport();
            final long bar = pci.barAddress(VirtioPciTransport.MSIX_BAR);
            final long linear = r.machine.vm().guestAddressSpace().ioremap(bar, 0x1000);
            final Vcpu vcpu = r.machine.vcpu();
            final long entry0Data = vcpu.mmioRead(linear + 8, 4);
            // {offset, size}: odd sizes into entry 0's data, unaligned dwords and qwords, and past the table and PBA
            final long[][] accesses = {{8, 1}, {9, 1}, {10, 2}, {11, 1}, {10, 4}, {12, 8}, {0x800, 4}, {0xFF8, 8},
                {0xFFF, 1}};
            // bound: nine accesses
            for (final long[] access : accesses)
            {
                final int size = (int)access[1];
                assertNull(r.health.guest(() -> vcpu.mmioWrite(linear + access[0], size, -1L)));
                assertNull(r.health.guest(() -> vcpu.mmioRead(linear + access[0], size)));
            }
            assertEquals(entry0Data, vcpu.mmioRead(linear + 8, 4), "entry 0's data kept its value");
            r.expectHealthyAndOtherQueueWorks();
            r.health.loopbackRoundTrip(r.dut, 0);
        }
    }

    /** "PCI_CFG window with bar > 5, length ∉ {1, 2, 4}, unaligned or out-of-range offset": no-op, all ones. */
    @Test
    void pciCfgWindowWithBadBarLengthOrOffset() throws Exception
    {
        try (HostileRig r = new HostileRig(TransportKind.PCI))
        {
            r.watch();
            final PciConfigPorts cfg = new PciConfigPorts(r.machine.vcpu());
            final int slot = r.machine.pciSlot(r.dut);
            final int cap = r.pci().pciCfgCapOffset();
            final long[][] windows = {
                {6, 4, 0},
                {0xFF, 4, 0},
                {0, 3, 0},
                {0, 8, 0},
                {0, 4, 2},
                {0, 4, VirtioPciTransport.STRUCTURE_BAR_SIZE},
                {0, 4, 0xFFFF_FFFCL},
            };
            // bound: seven windows
            for (final long[] w : windows)
            {
                cfg.write(slot, 0, cap + VirtioPciCapLayout.BAR, 1, w[0]);
                cfg.write(slot, 0, cap + VirtioPciCapLayout.LENGTH, 4, w[1]);
                cfg.write(slot, 0, cap + VirtioPciCapLayout.OFFSET, 4, w[2]);
                assertEquals(ALL_ONES_32, cfg.read(slot, 0, cap + VirtioPciCapLayout.PCI_CFG_DATA, 4));
                cfg.write(slot, 0, cap + VirtioPciCapLayout.PCI_CFG_DATA, 4, ACKNOWLEDGE);
            }
            assertEquals(2L * windows.length, pciCount(r, VirtioPciCounter.PCI_CFG_ACCESS_INVALID));
            assertEquals(0, r.status(), "no bad window wrote the status");
            r.health.checkHealthy();
            r.health.loopbackRoundTripAfterReset(r.dut, N);
        }
    }

    /**
     * "InterruptACK of undefined bits": counted on virtio-mmio and clears only defined bits; on virtio-pci the ISR
     * is read-only, so a store to it is counted and changes nothing.
     */
    @BothTransports
    void interruptAckOfUndefinedBits(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.watch();
            r.device.changeConfig();
            if (kind == TransportKind.PCI)
            {
                r.raw.write(VirtioPciTransport.ISR_OFFSET, 1, 0xFC);
                assertEquals(1, pciCount(r, VirtioPciCounter.ISR_ACCESS_INVALID));
                assertEquals(VirtioPciTransport.ISR_CONFIG, r.pci().isrPeek(), "the config cause is still pending");
            }
            else
            {
                r.raw.write(VirtioMmioRegisters.INTERRUPT_ACK, 4, 0xFFFF_FFFCL);
                assertEquals(1, r.count(TransportCounter.INTERRUPT_ACK_UNDEFINED_BITS));
                assertEquals(VirtioMmioRegisters.INTERRUPT_CONFIG_CHANGE,
                    r.raw.read(VirtioMmioRegisters.INTERRUPT_STATUS, 4));
            }
            r.awaitConfigInterrupt();
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /**
     * "Kicks before DRIVER_OK": not processed (counted where the store reaches the transport); the device serves the
     * chain once DRIVER_OK rescans the queues.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(TransportKind.class)
    void kicksBeforeDriverOk(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind))
        {
            r.driver().initialize(0);
            r.q0 = r.driver().setupQueue(0, N);
            r.q1 = r.driver().setupQueue(1, N);
            r.q0.disableInterrupts();
            r.q1.disableInterrupts();
            r.ring = r.q0.raw();
            r.pair(0, 0, 8).watch();
            r.offer(0);
            // bound: three kicks
            for (int i = 0; i < 3; i++)
            {
                r.notifyRaw(0, 0);
            }
            assertEquals(3, r.count(TransportCounter.NOTIFY_BEFORE_DRIVER_OK));
            assertEquals(0, r.ring.usedIdx(), "nothing processed before DRIVER_OK");
            r.driver().driverOk();
            r.awaitUsedIdx(1);
            r.expectHealthyAndOtherQueueWorks();
        }
    }

    /** "Kick storms": thousands of kicks with nothing posted break nothing and pop nothing. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(TransportKind.class)
    void kickStorms(final TransportKind kind) throws Exception
    {
        try (HostileRig r = new HostileRig(kind).start(0))
        {
            r.watch();
            // bound: a fixed storm
            for (int i = 0; i < 5_000; i++)
            {
                r.kick(0);
            }
            assertEquals(0, r.deviceQueue(0).counters().get(QueueCounter.CHAINS_POPPED));
            assertFalse(r.deviceQueue(0).isBroken());
            r.health.loopbackRoundTrip(r.dut, 0);
            r.expectHealthyAndOtherQueueWorks();
        }
    }
}
