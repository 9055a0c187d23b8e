package io.jvirtio.virtio.transport.pci;

import io.jvirtio.bus.pci.PciHeader;
import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.transport.LoopbackDevice;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.transport.QueueArea;
import io.jvirtio.virtio.transport.TransportCounter;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.CONFIG_MSIX_VECTOR;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.DEVICE_FEATURE;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.NUM_QUEUES;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.QUEUE_DESC;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.QUEUE_ENABLE;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.QUEUE_MSIX_VECTOR;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.QUEUE_NOTIFY_OFF;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.QUEUE_SELECT;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.QUEUE_SIZE;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.VIRTIO_MSI_NO_VECTOR;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * One test per virtio-pci item of the conformance checklist (item 20, section 3.8) and per register item of the
 * bad-input list (section 6), each through real exits: config space by port I/O, registers by MMIO.
 */
class VirtioPciChecklistTest
{
    private static final int SLOT = VirtioPciFixture.SLOT;

    private static long capField(final VirtioPciFixture f, final int cap, final int offset, final int size)
    {
        return f.cfg.read(SLOT, 0, cap + offset, size);
    }

    @Test
    void shouldPresentModernVirtioIdentity()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            assertEquals(0x1AF4, f.cfg.read(SLOT, 0, PciHeader.VENDOR_ID, 2));
            assertEquals(0x1040 + LoopbackDevice.DEVICE_ID, f.cfg.read(SLOT, 0, PciHeader.DEVICE_ID, 2));
            assertEquals(1, f.cfg.read(SLOT, 0, PciHeader.REVISION_ID, 1), "non-transitional: revision >= 1");
            assertEquals(0x40, f.cfg.read(SLOT, 0, PciHeader.SUBSYSTEM_ID, 2), "subsystem id >= 0x40");
            assertEquals(LoopbackDevice.DEVICE_ID, f.driver.deviceId());
        }
    }

    @Test
    void shouldListCapabilitiesWithExactStructureSizes()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            final int[] expectedType = {1, 2, 3, 4, 5};
            final int[] expectedLen = {16, 20, 16, 16, 20};
            final long[] expectedOffset = {0x0000, 0x3000, 0x1000, 0x2000};
            final long[] expectedLength = {56, 2 * 4, 1, 8};
            int cap = (int)f.cfg.read(SLOT, 0, PciHeader.CAPABILITIES_POINTER, 1);
            for (int i = 0; i < expectedType.length; i++)
            {
                assertEquals(PciHeader.CAP_ID_VENDOR, capField(f, cap, 0, 1), "cap_vndr 0x09");
                assertEquals(expectedLen[i], capField(f, cap, VirtioPciCapLayout.CAP_LEN, 1), "cap_len");
                assertEquals(expectedType[i], capField(f, cap, VirtioPciCapLayout.CFG_TYPE, 1), "cfg_type");
                assertEquals(0, capField(f, cap, VirtioPciCapLayout.BAR, 1));
                if (i < expectedOffset.length)
                {
                    final long offset = capField(f, cap, VirtioPciCapLayout.OFFSET, 4);
                    assertEquals(expectedOffset[i], offset);
                    assertEquals(0, offset & 3, "structure offsets 4-byte aligned");
                    assertEquals(expectedLength[i], capField(f, cap, VirtioPciCapLayout.LENGTH, 4));
                }
                if (expectedType[i] == VirtioPciCapLayout.VIRTIO_PCI_CAP_NOTIFY_CFG)
                {
                    assertEquals(4, capField(f, cap, VirtioPciCapLayout.NOTIFY_OFF_MULTIPLIER, 4));
                }
                cap = (int)capField(f, cap, 1, 1);
            }
            assertEquals(PciHeader.CAP_ID_MSIX, capField(f, cap, 0, 1), "msi-x last");
            assertEquals(0, capField(f, cap, 1, 1), "end of list");
            assertEquals(4, f.driver.notifyOffMultiplier());
            assertEquals(3, f.driver.msixVectors(), "two queues and config");
        }
    }

    @Test
    void shouldGiveEveryQueueItsOwnNotifyAddress()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            f.negotiate();
            for (int q = 0; q < 2; q++)
            {
                f.common(QUEUE_SELECT, 2, q);
                assertEquals(q, f.common(QUEUE_NOTIFY_OFF, 2), "queue_notify_off = queue index");
            }
            f.setUpQueue0();
            f.driver.setupQueue(1, 64, 0x20_0000L, 0x20_1000L, 0x20_2000L);
            assertEquals(f.driver.notifyAddress(0) + 4, f.driver.notifyAddress(1));
        }
    }

    @Test
    void shouldReadMaxQueueSizeAndDisabledQueueAfterReset()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            f.negotiate();
            f.setUpQueue0();
            f.common(QUEUE_SELECT, 2, 0);
            f.common(QUEUE_MSIX_VECTOR, 2, 1);
            f.driver.writeStatus(0);
            assertEquals(0, f.driver.readStatus());
            f.common(QUEUE_SELECT, 2, 0);
            assertEquals(LoopbackDevice.MAX_QUEUE_SIZE, f.common(QUEUE_SIZE, 2));
            assertEquals(0, f.common(QUEUE_ENABLE, 2), "queue_enable reads 0 after reset");
            assertEquals(0, f.common(QUEUE_DESC, 4));
            assertEquals(VIRTIO_MSI_NO_VECTOR, f.common(QUEUE_MSIX_VECTOR, 2), "vectors reset to NO_VECTOR");
            assertEquals(VIRTIO_MSI_NO_VECTOR, f.common(CONFIG_MSIX_VECTOR, 2));
        }
    }

    @Test
    void shouldReadZeroForQueueSelectOutOfRange()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            f.negotiate();
            final int[] selects = {2, 0xFFFF, 0x8000};
            for (final int select : selects)
            {
                f.common(QUEUE_SELECT, 2, select);
                assertEquals(0, f.common(QUEUE_SIZE, 2), "queue_size of a missing queue");
                assertEquals(0, f.common(QUEUE_ENABLE, 2));
                assertEquals(VIRTIO_MSI_NO_VECTOR, f.common(QUEUE_MSIX_VECTOR, 2));
                f.common(QUEUE_SIZE, 2, 16);
                f.common(QUEUE_MSIX_VECTOR, 2, 1);
                f.common(QUEUE_ENABLE, 2, 1);
                f.common(QUEUE_DESC, 4, 0x1000);
            }
            assertEquals(21, f.count(VirtioPciCounter.QUEUE_SELECT_OUT_OF_RANGE), "7 accesses for each select");
            assertEquals(2, f.common(NUM_QUEUES, 2));
        }
    }

    @Test
    void shouldReadNoVectorWhenMsixVectorOutOfRange()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            f.negotiate();
            f.common(CONFIG_MSIX_VECTOR, 2, 2);
            assertEquals(2, f.common(CONFIG_MSIX_VECTOR, 2), "vector 2 exists");
            f.common(CONFIG_MSIX_VECTOR, 2, 3);
            assertEquals(VIRTIO_MSI_NO_VECTOR, f.common(CONFIG_MSIX_VECTOR, 2), "3 vectors: 3 is out of range");
            f.common(QUEUE_SELECT, 2, 1);
            f.common(QUEUE_MSIX_VECTOR, 2, 0x7FF);
            assertEquals(VIRTIO_MSI_NO_VECTOR, f.common(QUEUE_MSIX_VECTOR, 2));
            f.common(QUEUE_MSIX_VECTOR, 2, 0);
            assertEquals(0, f.common(QUEUE_MSIX_VECTOR, 2));
            f.common(QUEUE_MSIX_VECTOR, 2, VIRTIO_MSI_NO_VECTOR);
            assertEquals(VIRTIO_MSI_NO_VECTOR, f.common(QUEUE_MSIX_VECTOR, 2), "unmapping is allowed");
            assertEquals(2, f.count(VirtioPciCounter.MSIX_VECTOR_OUT_OF_RANGE));
        }
    }

    @Test
    void shouldIgnoreQueueEnableZeroWrite()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            f.negotiate();
            f.setUpQueue0();
            f.common(QUEUE_SELECT, 2, 0);
            f.common(QUEUE_ENABLE, 2, 0);
            assertEquals(1, f.common(QUEUE_ENABLE, 2));
            assertEquals(1, f.count(VirtioPciCounter.QUEUE_ENABLE_ZERO_WRITE));
        }
    }

    @Test
    void shouldAccessSixtyFourBitFieldsAsIndependentHalves()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            f.negotiate();
            f.common(QUEUE_SELECT, 2, 0);
            f.common(QUEUE_DESC + 4, 4, 0x1);
            f.common(QUEUE_DESC, 4, 0x2000);
            assertEquals(0x2000, f.common(QUEUE_DESC, 4));
            assertEquals(0x1, f.common(QUEUE_DESC + 4, 4));
            f.common(QUEUE_DESC + 4, 4, 0);
            assertEquals(0x2000, f.common(QUEUE_DESC, 4), "writing the high half keeps the low half");
            assertEquals(0x2000, f.transport.core().queueAddress(0, QueueArea.DESC));
        }
    }

    @Test
    void shouldClearIsrWhenRead() throws Exception
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            f.negotiate();
            f.setUpQueue0();
            f.driverOk();
            f.device.changeConfig();
            assertEquals(VirtioPciTransport.ISR_CONFIG, f.transport.isrPeek(), "bit 1 set before the notification");
            assertEquals(f.driver.configApicVector(), f.vcpu.hlt(30, TimeUnit.SECONDS), "config vector 0 fired");
            f.vcpu.eoi();
            assertEquals(VirtioPciTransport.ISR_CONFIG, f.raw.read(VirtioPciTransport.ISR_OFFSET, 1));
            assertEquals(0, f.raw.read(VirtioPciTransport.ISR_OFFSET, 1), "the read cleared it");
        }
    }

    @Test
    void shouldNotInterruptWhenConfigVectorIsNoVector()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            f.negotiate();
            f.setUpQueue0();
            f.common(CONFIG_MSIX_VECTOR, 2, VIRTIO_MSI_NO_VECTOR);
            f.driverOk();
            f.device.changeConfig();
            assertEquals(-1, f.vcpu.takeInterrupt());
            assertEquals(VirtioPciTransport.ISR_CONFIG, f.raw.read(VirtioPciTransport.ISR_OFFSET, 1));
        }
    }

    @Test
    void shouldSetIsrQueueBitWhenMsixIsDisabled() throws Exception
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            f.driver.disableMsix();
            f.negotiate();
            final SplitQueueDriver queue = new SplitQueueDriver(f.vm.memory(), f.setUpQueue0());
            f.driverOk();
            final long buffer = f.vm.guestAddressSpace().allocate(32, 64);
            queue.post(new long[] {buffer, buffer + 16}, new long[] {16, 16}, 1, 1);
            queue.publish();
            f.driver.notifyQueue(0);
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            // bounded wait for the worker; the deadline is only a failure timeout
            while ((f.transport.isrPeek() & VirtioPciTransport.ISR_QUEUE) == 0 && System.nanoTime() < deadline)
            {
                Thread.onSpinWait();
            }
            assertEquals(-1, f.vcpu.takeInterrupt(), "no msi-x, no intx line: nothing is injected");
            assertEquals(VirtioPciTransport.ISR_QUEUE, f.driver.acknowledgeInterrupt());
            assertEquals(0, f.driver.acknowledgeInterrupt());
            assertEquals(0, queue.reap(), "the chain was used");
        }
    }

    @Test
    void shouldPerformBarAccessThroughPciCfgWindow()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            final int cap = f.transport.pciCfgCapOffset();
            f.cfg.write(SLOT, 0, cap + VirtioPciCapLayout.BAR, 1, 0);
            f.cfg.write(SLOT, 0, cap + VirtioPciCapLayout.LENGTH, 4, 2);
            f.cfg.write(SLOT, 0, cap + VirtioPciCapLayout.OFFSET, 4, NUM_QUEUES);
            assertEquals(2, f.cfg.read(SLOT, 0, cap + VirtioPciCapLayout.PCI_CFG_DATA, 4) & 0xFFFF);
            f.cfg.write(SLOT, 0, cap + VirtioPciCapLayout.LENGTH, 4, 1);
            f.cfg.write(SLOT, 0, cap + VirtioPciCapLayout.OFFSET, 4, CommonCfgLayout.DEVICE_STATUS);
            f.cfg.write(SLOT, 0, cap + VirtioPciCapLayout.PCI_CFG_DATA, 4, DeviceStatus.ACKNOWLEDGE);
            assertEquals(DeviceStatus.ACKNOWLEDGE, f.driver.readStatus(), "the window wrote device_status");
            assertEquals(0, f.count(VirtioPciCounter.PCI_CFG_ACCESS_INVALID));
        }
    }

    @Test
    void shouldRejectBadPciCfgWindow()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            final int cap = f.transport.pciCfgCapOffset();
            final long[][] windows = {
                {6, 4, 0}, // bar > 5
                {2, 4, 0}, // a bar with no virtio structure
                {0, 3, 0}, // length not 1, 2 or 4
                {0, 8, 0},
                {0, 4, 2}, // unaligned
                {0, 4, VirtioPciTransport.STRUCTURE_BAR_SIZE}, // out of range
                {0, 4, 0xFFFF_FFFCL},
            };
            for (final long[] w : windows)
            {
                f.cfg.write(SLOT, 0, cap + VirtioPciCapLayout.BAR, 1, w[0]);
                f.cfg.write(SLOT, 0, cap + VirtioPciCapLayout.LENGTH, 4, w[1]);
                f.cfg.write(SLOT, 0, cap + VirtioPciCapLayout.OFFSET, 4, w[2]);
                assertEquals(0xFFFF_FFFFL, f.cfg.read(SLOT, 0, cap + VirtioPciCapLayout.PCI_CFG_DATA, 4));
                f.cfg.write(SLOT, 0, cap + VirtioPciCapLayout.PCI_CFG_DATA, 4, DeviceStatus.ACKNOWLEDGE);
            }
            assertEquals(2L * windows.length, f.count(VirtioPciCounter.PCI_CFG_ACCESS_INVALID));
            assertEquals(0, f.driver.readStatus(), "no bad window wrote anything");
        }
    }

    @Test
    void shouldIgnoreMisSizedCommonConfigAccess()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            assertEquals(0xFFFF_FFFFL, f.common(QUEUE_SELECT, 4), "32-bit read of a 16-bit field");
            assertEquals(0xFF, f.common(QUEUE_SELECT + 1, 1), "inside a field");
            assertEquals(-1L, f.common(QUEUE_DESC, 8), "64-bit fields are two halves");
            f.common(CommonCfgLayout.DEVICE_STATUS, 2, DeviceStatus.ACKNOWLEDGE);
            f.common(0x37, 1, 0xFF);
            assertEquals(0, f.driver.readStatus());
            assertEquals(5, f.count(VirtioPciCounter.COMMON_CFG_ACCESS_INVALID));
            assertEquals(0xFFFF_FFFFL, f.raw.read(0x0800, 4), "between structures");
            assertEquals(1, f.count(VirtioPciCounter.BAR_ACCESS_UNASSIGNED));
        }
    }

    @Test
    void shouldKeepReadOnlyCommonFields()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            f.negotiate();
            final long features = f.common(DEVICE_FEATURE, 4);
            f.common(DEVICE_FEATURE, 4, 0);
            f.common(NUM_QUEUES, 2, 9);
            f.common(CommonCfgLayout.CONFIG_GENERATION, 1, 9);
            f.common(QUEUE_NOTIFY_OFF, 2, 9);
            assertEquals(features, f.common(DEVICE_FEATURE, 4));
            assertEquals(2, f.common(NUM_QUEUES, 2));
            assertEquals(0, f.common(CommonCfgLayout.CONFIG_GENERATION, 1));
            assertEquals(0, f.common(QUEUE_NOTIFY_OFF, 2));
            assertEquals(4, f.count(VirtioPciCounter.COMMON_CFG_ACCESS_INVALID));
        }
    }

    @Test
    void shouldReadZeroFeaturesForSelectBeyondOne()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            f.common(CommonCfgLayout.DEVICE_FEATURE_SELECT, 4, 1);
            assertEquals(1, f.common(DEVICE_FEATURE, 4), "VERSION_1 is bit 32");
            f.common(CommonCfgLayout.DEVICE_FEATURE_SELECT, 4, 2);
            assertEquals(0, f.common(DEVICE_FEATURE, 4));
            f.common(CommonCfgLayout.DEVICE_FEATURE_SELECT, 4, 0xFFFF_FFFFL);
            assertEquals(0, f.common(DEVICE_FEATURE, 4));
        }
    }

    @Test
    void shouldFreezeQueueRegistersAfterDriverOk()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            f.negotiate();
            f.setUpQueue0();
            f.driverOk();
            f.common(QUEUE_SELECT, 2, 0);
            final long desc = f.common(QUEUE_DESC, 4);
            f.common(QUEUE_SIZE, 2, 2);
            f.common(QUEUE_DESC, 4, 0x10);
            assertEquals(VirtioPciFixture.QUEUE_SIZE, f.common(QUEUE_SIZE, 2), "CVE-2026-5747: frozen");
            assertEquals(desc, f.common(QUEUE_DESC, 4));
            assertEquals(2, f.transport.core().counters().get(TransportCounter.QUEUE_WRITE_OUTSIDE_WINDOW));
        }
    }

    @Test
    void shouldCountKickToNotifyAddressBeforeDriverOk()
    {
        try (VirtioPciFixture f = new VirtioPciFixture())
        {
            f.negotiate();
            f.setUpQueue0();
            f.driver.notifyQueue(0);
            f.raw.write(VirtioPciTransport.NOTIFY_OFFSET + 2, 2, 0);
            f.raw.write(VirtioPciTransport.NOTIFY_OFFSET + 4 * 9, 2, 9);
            assertEquals(1, f.transport.core().counters().get(TransportCounter.NOTIFY_BEFORE_DRIVER_OK));
            assertEquals(2, f.count(VirtioPciCounter.NOTIFY_ACCESS_INVALID), "unaligned, and a queue past the end");
        }
    }
}
