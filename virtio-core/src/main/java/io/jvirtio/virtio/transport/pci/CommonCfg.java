package io.jvirtio.virtio.transport.pci;

import io.jvirtio.virtio.transport.QueueArea;
import io.jvirtio.virtio.transport.TransportCore;

import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * The common configuration register file of one virtio-pci device, {@code struct virtio_pci_common_cfg}
 * (virtio-v1.2 §4.1.4.3, {@link CommonCfgLayout}): decodes each access and hands the meaning to the
 * {@link TransportCore}; keeps what only PCI has, the selectors and the MSI-X vector of each event.
 * <ul>
 *     <li>Each field is accessed with its natural width; 64-bit fields as two independent 32-bit halves; anything
 *     else reads all ones or is ignored, counted.</li>
 *     <li>queue_select is an untrusted index (CVE-2011-2512, cloud-hypervisor #7917): for a queue that does not exist
 *     queue_size, queue_enable and queue_notify_off read 0, queue_msix_vector reads NO_VECTOR, writes are
 *     ignored.</li>
 *     <li>MSI-X vectors are validated at write time: one the device does not have reads back NO_VECTOR
 *     (§4.1.5.1.2); {@link #reset()} unmaps every event.</li>
 *     <li>queue_enable ignores a write of 0 (§4.1.4.3.2).</li>
 * </ul>
 * <p>
 * Thread safety: {@link #read} and {@link #write} on vCPU threads; the vectors are read lock-free by the interrupt
 * path on any thread.
 */
final class CommonCfg
{
    private final VirtioPciTransport transport;
    private final TransportCore core;
    private final int vectors;
    private final AtomicIntegerArray queueVector;
    private volatile int configVector = CommonCfgLayout.VIRTIO_MSI_NO_VECTOR;
    private volatile int deviceFeatureSelect;
    private volatile int driverFeatureSelect;
    private volatile int queueSelect;

    /**
     * @param transport where the counters are.
     * @param core      the shared transport state.
     * @param vectors   how many MSI-X vectors the function has.
     */
    CommonCfg(final VirtioPciTransport transport, final TransportCore core, final int vectors)
    {
        this.transport = transport;
        this.core = core;
        this.vectors = vectors;
        this.queueVector = new AtomicIntegerArray(core.queueCount());
        reset();
    }

    /** @return the MSI-X vector of {@code queue}'s used buffer notifications (queue below the queue count). */
    int queueVector(final int queue)
    {
        return queueVector.get(queue);
    }

    /** @return the MSI-X vector of configuration change notifications. */
    int configVector()
    {
        return configVector;
    }

    /** Back to the reset state: selectors 0, every event on NO_VECTOR. */
    void reset()
    {
        // bound: the device's queue count
        for (int q = 0; q < queueVector.length(); q++)
        {
            queueVector.set(q, CommonCfgLayout.VIRTIO_MSI_NO_VECTOR);
        }
        configVector = CommonCfgLayout.VIRTIO_MSI_NO_VECTOR;
        deviceFeatureSelect = 0;
        driverFeatureSelect = 0;
        queueSelect = 0;
    }

    private static int fieldWidth(final int offset)
    {
        switch (offset)
        {
            case CommonCfgLayout.DEVICE_FEATURE_SELECT:
            case CommonCfgLayout.DEVICE_FEATURE:
            case CommonCfgLayout.DRIVER_FEATURE_SELECT:
            case CommonCfgLayout.DRIVER_FEATURE:
            case CommonCfgLayout.QUEUE_DESC:
            case CommonCfgLayout.QUEUE_DESC + 4:
            case CommonCfgLayout.QUEUE_DRIVER:
            case CommonCfgLayout.QUEUE_DRIVER + 4:
            case CommonCfgLayout.QUEUE_DEVICE:
            case CommonCfgLayout.QUEUE_DEVICE + 4:
                return 4;
            case CommonCfgLayout.CONFIG_MSIX_VECTOR:
            case CommonCfgLayout.NUM_QUEUES:
            case CommonCfgLayout.QUEUE_SELECT:
            case CommonCfgLayout.QUEUE_SIZE:
            case CommonCfgLayout.QUEUE_MSIX_VECTOR:
            case CommonCfgLayout.QUEUE_ENABLE:
            case CommonCfgLayout.QUEUE_NOTIFY_OFF:
                return 2;
            case CommonCfgLayout.DEVICE_STATUS:
            case CommonCfgLayout.CONFIG_GENERATION:
                return 1;
            default:
                return 0;
        }
    }

    long read(final int offset, final int size)
    {
        if (fieldWidth(offset) != size)
        {
            // §4.1.3.1: the driver accesses each field with its natural width; 64-bit fields as two halves
            transport.increment(VirtioPciCounter.COMMON_CFG_ACCESS_INVALID);
            return size >= 8 ? -1L : (1L << (8 * size)) - 1;
        }
        final int q = queueSelect;
        switch (offset)
        {
            case CommonCfgLayout.DEVICE_FEATURE_SELECT:
                return deviceFeatureSelect & 0xFFFF_FFFFL;
            case CommonCfgLayout.DEVICE_FEATURE:
                return core.deviceFeatures(deviceFeatureSelect) & 0xFFFF_FFFFL;
            case CommonCfgLayout.DRIVER_FEATURE_SELECT:
                return driverFeatureSelect & 0xFFFF_FFFFL;
            case CommonCfgLayout.DRIVER_FEATURE:
                return core.driverFeatures(driverFeatureSelect) & 0xFFFF_FFFFL;
            case CommonCfgLayout.CONFIG_MSIX_VECTOR:
                return configVector;
            case CommonCfgLayout.NUM_QUEUES:
                return core.queueCount();
            case CommonCfgLayout.DEVICE_STATUS:
                return core.status() & 0xFF;
            case CommonCfgLayout.CONFIG_GENERATION:
                return core.configGeneration() & 0xFF;
            case CommonCfgLayout.QUEUE_SELECT:
                return q;
            default:
                return readQueueField(offset, q);
        }
    }

    private long readQueueField(final int offset, final int q)
    {
        if (!core.isValidQueue(q))
        {
            transport.increment(VirtioPciCounter.QUEUE_SELECT_OUT_OF_RANGE);
            return offset == CommonCfgLayout.QUEUE_MSIX_VECTOR ? CommonCfgLayout.VIRTIO_MSI_NO_VECTOR : 0;
        }
        switch (offset)
        {
            case CommonCfgLayout.QUEUE_SIZE:
                return core.queueSize(q);
            case CommonCfgLayout.QUEUE_MSIX_VECTOR:
                return queueVector.get(q);
            case CommonCfgLayout.QUEUE_ENABLE:
                return core.queueReady(q) ? 1 : 0;
            case CommonCfgLayout.QUEUE_NOTIFY_OFF:
                return q;
            case CommonCfgLayout.QUEUE_DESC:
            case CommonCfgLayout.QUEUE_DESC + 4:
                return half(core.queueAddress(q, QueueArea.DESC), offset - CommonCfgLayout.QUEUE_DESC);
            case CommonCfgLayout.QUEUE_DRIVER:
            case CommonCfgLayout.QUEUE_DRIVER + 4:
                return half(core.queueAddress(q, QueueArea.DRIVER), offset - CommonCfgLayout.QUEUE_DRIVER);
            case CommonCfgLayout.QUEUE_DEVICE:
            case CommonCfgLayout.QUEUE_DEVICE + 4:
                return half(core.queueAddress(q, QueueArea.DEVICE), offset - CommonCfgLayout.QUEUE_DEVICE);
            default:
                return 0;
        }
    }

    private static long half(final long value, final int which)
    {
        return which == 0 ? value & 0xFFFF_FFFFL : value >>> 32;
    }

    void write(final int offset, final int size, final long value)
    {
        if (fieldWidth(offset) != size)
        {
            transport.increment(VirtioPciCounter.COMMON_CFG_ACCESS_INVALID);
            return;
        }
        final int v = (int)value;
        switch (offset)
        {
            case CommonCfgLayout.DEVICE_FEATURE_SELECT:
                deviceFeatureSelect = v;
                break;
            case CommonCfgLayout.DRIVER_FEATURE_SELECT:
                driverFeatureSelect = v;
                break;
            case CommonCfgLayout.DRIVER_FEATURE:
                core.writeDriverFeatures(driverFeatureSelect, v);
                break;
            case CommonCfgLayout.CONFIG_MSIX_VECTOR:
                configVector = checkedVector(v & 0xFFFF);
                break;
            case CommonCfgLayout.DEVICE_STATUS:
                core.writeStatus(v & 0xFF);
                break;
            case CommonCfgLayout.QUEUE_SELECT:
                queueSelect = v & 0xFFFF;
                break;
            case CommonCfgLayout.DEVICE_FEATURE:
            case CommonCfgLayout.NUM_QUEUES:
            case CommonCfgLayout.CONFIG_GENERATION:
            case CommonCfgLayout.QUEUE_NOTIFY_OFF:
                // read-only fields
                transport.increment(VirtioPciCounter.COMMON_CFG_ACCESS_INVALID);
                break;
            default:
                writeQueueField(offset, v);
                break;
        }
    }

    private void writeQueueField(final int offset, final int v)
    {
        final int q = queueSelect;
        if (!core.isValidQueue(q))
        {
            // CVE-2011-2512 and cloud-hypervisor #7917: the selector is an untrusted index
            transport.increment(VirtioPciCounter.QUEUE_SELECT_OUT_OF_RANGE);
            return;
        }
        switch (offset)
        {
            case CommonCfgLayout.QUEUE_SIZE:
                core.writeQueueSize(q, v & 0xFFFF);
                break;
            case CommonCfgLayout.QUEUE_MSIX_VECTOR:
                queueVector.set(q, checkedVector(v & 0xFFFF));
                break;
            case CommonCfgLayout.QUEUE_ENABLE:
                if ((v & 0xFFFF) == 0)
                {
                    // §4.1.4.3.2: the driver MUST NOT write 0; Firecracker ignores it too
                    transport.increment(VirtioPciCounter.QUEUE_ENABLE_ZERO_WRITE);
                }
                else
                {
                    core.writeQueueReady(q, true);
                }
                break;
            case CommonCfgLayout.QUEUE_DESC:
            case CommonCfgLayout.QUEUE_DESC + 4:
                core.writeQueueAddress(q, QueueArea.DESC, offset != CommonCfgLayout.QUEUE_DESC, v);
                break;
            case CommonCfgLayout.QUEUE_DRIVER:
            case CommonCfgLayout.QUEUE_DRIVER + 4:
                core.writeQueueAddress(q, QueueArea.DRIVER, offset != CommonCfgLayout.QUEUE_DRIVER, v);
                break;
            case CommonCfgLayout.QUEUE_DEVICE:
            case CommonCfgLayout.QUEUE_DEVICE + 4:
                core.writeQueueAddress(q, QueueArea.DEVICE, offset != CommonCfgLayout.QUEUE_DEVICE, v);
                break;
            default:
                transport.increment(VirtioPciCounter.COMMON_CFG_ACCESS_INVALID);
                break;
        }
    }

    /** §4.1.5.1.2: a vector the device cannot map reads back NO_VECTOR; validated at write time. */
    private int checkedVector(final int vector)
    {
        if (vector == CommonCfgLayout.VIRTIO_MSI_NO_VECTOR)
        {
            return vector;
        }
        if (vector >= vectors)
        {
            transport.increment(VirtioPciCounter.MSIX_VECTOR_OUT_OF_RANGE);
            return CommonCfgLayout.VIRTIO_MSI_NO_VECTOR;
        }
        return vector;
    }
}
