package io.jvirtio.virtio.driver;

import io.jvirtio.bus.irq.RedirectionEntry;
import io.jvirtio.bus.vm.SimulatedVm;
import io.jvirtio.bus.vm.UserspaceDevice;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.transport.LoopbackDevice;
import io.jvirtio.virtio.transport.mmio.MmioNotifyMode;
import io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters;
import io.jvirtio.virtio.transport.mmio.VirtioMmioTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The driver core's own requirements: probe checks, negotiation failures, queue checks. */
class VirtioDriverTest
{
    private static final long DEVICE_BASE = 0xd000_0000L;
    private static final long FAKE_BASE = 0xd001_0000L;
    private static final int GSI = 6;

    private final SimulatedVm vm = SimulatedVm.create(VmConfig.defaults());
    private final LoopbackDevice device = new LoopbackDevice();
    private final VirtioMmioTransport transport;

    VirtioDriverTest()
    {
        vm.irqchip().programPin(GSI, RedirectionEntry.level(0x36, 0));
        transport = VirtioMmioTransport.create(vm, DEVICE_BASE, GSI, device, MmioNotifyMode.WILDCARD);
    }

    @AfterEach
    void tearDown()
    {
        transport.close();
        vm.close();
    }

    private VirtioDriver driver()
    {
        final MmioDriverTransport mmio = MmioDriverTransport.probe(vm.vcpu(0), vm.guestAddressSpace(), DEVICE_BASE,
            transport.windowLength());
        return new VirtioDriver(mmio, vm.vcpu(0), vm.guestAddressSpace(), vm.memory());
    }

    /** A window that answers {@code magic}, {@code version} and {@code deviceId}, and 0 elsewhere. */
    private void fakeWindow(final long magic, final long version, final long deviceId)
    {
        vm.registerMmio(FAKE_BASE, 0x200, new UserspaceDevice()
        {
            @Override
            public long read(final long offset, final int size)
            {
                if (offset == VirtioMmioRegisters.MAGIC_VALUE)
                {
                    return magic;
                }
                if (offset == VirtioMmioRegisters.VERSION)
                {
                    return version;
                }
                return offset == VirtioMmioRegisters.DEVICE_ID ? deviceId : 0;
            }

            @Override
            public void write(final long offset, final int size, final long value)
            {
            }
        });
    }

    private void assertProbeRefused(final String expected)
    {
        final VirtioDriverException e = assertThrows(VirtioDriverException.class,
            () -> MmioDriverTransport.probe(vm.vcpu(0), vm.guestAddressSpace(), FAKE_BASE, 0x200));
        assertTrue(e.getMessage().startsWith(expected), e.getMessage());
    }

    @Test
    void shouldRefuseProbeWhenMagicIsWrong()
    {
        fakeWindow(0x12345678, 2, 1);
        assertProbeRefused("no virtio-mmio device");
    }

    @Test
    void shouldRefuseProbeWhenVersionIsLegacy()
    {
        fakeWindow(VirtioMmioRegisters.MAGIC, 1, 1);
        assertProbeRefused("unsupported virtio-mmio version");
    }

    @Test
    void shouldRefuseProbeWhenDeviceIdIsThePlaceholder()
    {
        fakeWindow(VirtioMmioRegisters.MAGIC, 2, 0);
        assertProbeRefused("virtio-mmio placeholder");
    }

    @Test
    void shouldSetFailedWhenTheDeviceRefusesFeaturesOk()
    {
        final VirtioDriver driver = driver();
        assertThrows(VirtioDriverException.class,
            () -> driver.initialize(VirtioFeatures.bit(LoopbackDevice.F_NEEDS_BASE)));
        final int status = driver.transport().readStatus();
        assertEquals(DeviceStatus.FAILED, status & DeviceStatus.FAILED);
        assertEquals(0, status & DeviceStatus.FEATURES_OK);
    }

    @Test
    void shouldAcceptOnlyOfferedFeaturesAndAlwaysVersion1()
    {
        final VirtioDriver driver = driver();
        final long accepted = driver.initialize(-1L);
        assertEquals(device.deviceFeatures() | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1), accepted);
        assertEquals(accepted, transport.core().negotiatedFeatures());
    }

    @Test
    void shouldRefuseToSetUpAQueueTheDeviceDoesNotHave()
    {
        final VirtioDriver driver = driver();
        driver.initialize(0);
        assertThrows(VirtioDriverException.class, () -> driver.setupQueue(2, 16));
        assertThrows(VirtioDriverException.class, () -> driver.setupQueue(0, LoopbackDevice.MAX_QUEUE_SIZE * 2));
    }

    @Test
    void shouldRefuseToSetUpAQueueThatIsAlreadyReady()
    {
        final VirtioDriver driver = driver();
        driver.initialize(0);
        driver.setupQueue(0, 16);
        assertThrows(VirtioDriverException.class, () -> driver.setupQueue(0, 16));
    }
}
