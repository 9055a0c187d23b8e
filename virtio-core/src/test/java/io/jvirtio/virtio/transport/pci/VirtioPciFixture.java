package io.jvirtio.virtio.transport.pci;

import io.jvirtio.bus.pci.PciHostBridge;
import io.jvirtio.bus.vm.SimulatedVcpu;
import io.jvirtio.bus.vm.SimulatedVm;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.driver.PciConfigPorts;
import io.jvirtio.virtio.driver.PciDriverTransport;
import io.jvirtio.virtio.driver.RawRegisters;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.transport.LoopbackDevice;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A VM with a host bridge and the loopback device on virtio-pci at 00:01.0, probed by the guest driver. */
final class VirtioPciFixture implements AutoCloseable
{
    static final long ECAM_BASE = 0xE000_0000L;
    static final long WINDOW_BASE = 0xC000_0000L;
    static final long WINDOW_SIZE = 256L << 20;
    static final int SLOT = 1;
    static final int BASE_VECTOR = 0x40;
    static final int QUEUE_SIZE = 64;

    final SimulatedVm vm = SimulatedVm.create(VmConfig.defaults().withMemoryBytes(16L << 20));
    final SimulatedVcpu vcpu = vm.vcpu(0);
    final PciHostBridge bridge = new PciHostBridge(vm, ECAM_BASE, WINDOW_BASE, WINDOW_SIZE);
    final LoopbackDevice device = new LoopbackDevice();
    final VirtioPciTransport transport = new VirtioPciTransport(vm, device);
    final PciConfigPorts cfg = new PciConfigPorts(vcpu);
    final PciDriverTransport driver;
    final RawRegisters raw;

    VirtioPciFixture()
    {
        this(-1);
    }

    /** @param intxGsi the GSI to give the function INTA# on, or -1 for none. */
    VirtioPciFixture(final int intxGsi)
    {
        if (intxGsi >= 0)
        {
            transport.connectIntx(intxGsi);
        }
        bridge.add(SLOT, 0, transport.function());
        driver = PciDriverTransport.probe(vcpu, vm.guestAddressSpace(), SLOT, WINDOW_BASE, WINDOW_SIZE, BASE_VECTOR);
        raw = driver.raw();
    }

    /** reset, ACKNOWLEDGE, DRIVER, VERSION_1, FEATURES_OK. */
    void negotiate()
    {
        driver.writeStatus(0);
        driver.writeStatus(DeviceStatus.ACKNOWLEDGE);
        driver.writeStatus(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        driver.writeDriverFeatures(VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1));
        driver.writeStatus(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK);
        assertTrue((driver.readStatus() & DeviceStatus.FEATURES_OK) != 0, "FEATURES_OK stuck");
    }

    /** Sets up and enables queue 0 in freshly allocated guest memory. */
    SplitQueueConfig setUpQueue0()
    {
        final long base = vm.guestAddressSpace().allocate(SplitQueueConfig.contiguousLength(QUEUE_SIZE), 4096);
        final SplitQueueConfig config = SplitQueueConfig.contiguous(base, QUEUE_SIZE, false, false);
        driver.setupQueue(0, QUEUE_SIZE, config.descTable(), config.availRing(), config.usedRing());
        driver.enableQueue(0);
        assertTrue(driver.queueReady(0));
        return config;
    }

    void driverOk()
    {
        driver.writeStatus(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK
            | DeviceStatus.DRIVER_OK);
        assertEquals(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK
            | DeviceStatus.DRIVER_OK, driver.readStatus());
    }

    long common(final int offset, final int size)
    {
        return raw.read(VirtioPciTransport.COMMON_CFG_OFFSET + offset, size);
    }

    void common(final int offset, final int size, final long value)
    {
        raw.write(VirtioPciTransport.COMMON_CFG_OFFSET + offset, size, value);
    }

    long count(final VirtioPciCounter counter)
    {
        return transport.count(counter);
    }

    @Override
    public void close()
    {
        transport.close();
        bridge.close();
        vm.close();
    }
}
