package io.jvirtio.virtio.driver;

import io.jvirtio.bus.guest.GuestAddressSpace;
import io.jvirtio.bus.vm.Vcpu;

import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.CONFIG;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.CONFIG_GENERATION;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.DEVICE_FEATURES;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.DEVICE_FEATURES_SEL;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.DEVICE_ID;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.DRIVER_FEATURES;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.DRIVER_FEATURES_SEL;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.INTERRUPT_ACK;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.INTERRUPT_STATUS;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.MAGIC;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.MAGIC_VALUE;
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
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_SIZE_MAX;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.REGISTER_SIZE;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.STATUS;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.VERSION;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.VERSION_2;

/**
 * The guest side of virtio-mmio version 2 (virtio-v1.2 §4.2.3 "MMIO-specific Initialization And Device
 * Operation"): every access an aligned 32-bit {@code readl}/{@code writel} through the vCPU on the ioremap'd window,
 * config space with {@code readb/w/l}, as Linux's {@code virtio_mmio.c} does.
 * <p>
 * Thread safety: the vCPU thread that plays the driver; not thread-safe.
 */
public final class MmioDriverTransport implements DriverTransport
{
    private static final long U32_MASK = 0xFFFF_FFFFL;

    private final Vcpu vcpu;
    private final long window;
    private final int deviceId;
    private final RawRegisters raw;

    private MmioDriverTransport(final Vcpu vcpu, final long window, final int deviceId)
    {
        this.vcpu = vcpu;
        this.window = window;
        this.deviceId = deviceId;
        this.raw = new RawRegisters()
        {
            @Override
            public long read(final long offset, final int size)
            {
                return vcpu.mmioRead(window + offset, size);
            }

            @Override
            public void write(final long offset, final int size, final long value)
            {
                vcpu.mmioWrite(window + offset, size, value);
            }
        };
    }

    /**
     * Maps a virtio-mmio window and checks it as a driver must (§4.2.3.1.1): MagicValue, Version 2, and a DeviceID
     * other than the placeholder 0.
     *
     * @param vcpu         the vCPU the driver runs on.
     * @param addressSpace the guest's address space, to ioremap the window.
     * @param gpa          guest-physical base of the window.
     * @param length       window length.
     * @return the driver side of the transport.
     * @throws VirtioDriverException if no virtio-mmio version 2 device with a real device ID is there.
     */
    public static MmioDriverTransport probe(
        final Vcpu vcpu, final GuestAddressSpace addressSpace, final long gpa, final long length)
    {
        final long window = addressSpace.ioremap(gpa, length);
        final long magic = vcpu.mmioRead(window + MAGIC_VALUE, REGISTER_SIZE);
        if (magic != MAGIC)
        {
            throw new VirtioDriverException("no virtio-mmio device: gpa=0x" + Long.toHexString(gpa) + ", magic=0x"
                + Long.toHexString(magic));
        }
        final long version = vcpu.mmioRead(window + VERSION, REGISTER_SIZE);
        if (version != VERSION_2)
        {
            throw new VirtioDriverException("unsupported virtio-mmio version: gpa=0x" + Long.toHexString(gpa)
                + ", version=" + version);
        }
        final int deviceId = (int)vcpu.mmioRead(window + DEVICE_ID, REGISTER_SIZE);
        if (deviceId == 0)
        {
            throw new VirtioDriverException("virtio-mmio placeholder without a device: gpa=0x"
                + Long.toHexString(gpa));
        }
        return new MmioDriverTransport(vcpu, window, deviceId);
    }

    /** @return the linear address of the mapped window. */
    public long window()
    {
        return window;
    }

    @Override
    public int deviceId()
    {
        return deviceId;
    }

    private long readl(final int offset)
    {
        return vcpu.mmioRead(window + offset, REGISTER_SIZE);
    }

    private void writel(final int offset, final long value)
    {
        vcpu.mmioWrite(window + offset, REGISTER_SIZE, value & U32_MASK);
    }

    @Override
    public int readStatus()
    {
        return (int)readl(STATUS);
    }

    @Override
    public void writeStatus(final int status)
    {
        writel(STATUS, status);
    }

    @Override
    public long readDeviceFeatures()
    {
        writel(DEVICE_FEATURES_SEL, 1);
        final long high = readl(DEVICE_FEATURES);
        writel(DEVICE_FEATURES_SEL, 0);
        final long low = readl(DEVICE_FEATURES);
        return (high << Integer.SIZE) | low;
    }

    @Override
    public void writeDriverFeatures(final long features)
    {
        writel(DRIVER_FEATURES_SEL, 1);
        writel(DRIVER_FEATURES, features >>> Integer.SIZE);
        writel(DRIVER_FEATURES_SEL, 0);
        writel(DRIVER_FEATURES, features);
    }

    @Override
    public int queueMaxSize(final int queue)
    {
        writel(QUEUE_SEL, queue);
        return (int)readl(QUEUE_SIZE_MAX);
    }

    @Override
    public void setupQueue(final int queue, final int size, final long descTable, final long availRing,
        final long usedRing)
    {
        writel(QUEUE_SEL, queue);
        writel(QUEUE_SIZE, size);
        writel(QUEUE_DESC_LOW, descTable);
        writel(QUEUE_DESC_HIGH, descTable >>> Integer.SIZE);
        writel(QUEUE_DRIVER_LOW, availRing);
        writel(QUEUE_DRIVER_HIGH, availRing >>> Integer.SIZE);
        writel(QUEUE_DEVICE_LOW, usedRing);
        writel(QUEUE_DEVICE_HIGH, usedRing >>> Integer.SIZE);
    }

    @Override
    public void enableQueue(final int queue)
    {
        writel(QUEUE_SEL, queue);
        writel(QUEUE_READY, 1);
    }

    @Override
    public boolean queueReady(final int queue)
    {
        writel(QUEUE_SEL, queue);
        return readl(QUEUE_READY) != 0;
    }

    @Override
    public void notifyQueue(final int queue)
    {
        // writel(vq->index, QueueNotify), as Linux's vm_notify
        writel(QUEUE_NOTIFY, queue);
    }

    @Override
    public long readConfig(final int offset, final int size)
    {
        return vcpu.mmioRead(window + CONFIG + offset, size);
    }

    @Override
    public void writeConfig(final int offset, final int size, final long value)
    {
        vcpu.mmioWrite(window + CONFIG + offset, size, value);
    }

    @Override
    public int configGeneration()
    {
        return (int)readl(CONFIG_GENERATION);
    }

    @Override
    public int acknowledgeInterrupt()
    {
        final int causes = (int)readl(INTERRUPT_STATUS);
        if (causes != 0)
        {
            writel(INTERRUPT_ACK, causes);
        }
        return causes;
    }

    @Override
    public RawRegisters raw()
    {
        return raw;
    }
}
