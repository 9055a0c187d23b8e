package io.jvirtio.virtio.testkit;

import io.jvirtio.virtio.DeviceContext;
import io.jvirtio.virtio.DeviceHost;
import io.jvirtio.virtio.VirtioDevice;
import io.jvirtio.virtio.driver.DriverTransport;
import io.jvirtio.virtio.driver.MmioDriverTransport;
import io.jvirtio.virtio.driver.PciDriverTransport;
import io.jvirtio.virtio.driver.RawRegisters;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.machine.VirtioMachine;
import io.jvirtio.virtio.queue.SplitQueue;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.testkit.TransportTrace.Access;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntPredicate;

/**
 * Replays a {@link TransportTrace} recorded from a Linux guest under QEMU against jvirtio's own transport, access by
 * access, each a real vCPU exit into the transport, with the same device type behind it: Linux's driver judges the
 * transport. Stores are replayed as recorded; every load is made and its value compared with what QEMU returned.
 * <p>
 * Loads are sorted into three kinds. <b>Fixed</b> registers hold values the spec fixes or that read back what the
 * driver stored (virtio-mmio MagicValue, Version, DeviceID, Status, QueueReady; virtio-pci device_feature_select,
 * driver_feature_select, num_queues, device_status, queue_select, queue_size once the driver stored it,
 * queue_enable, queue_notify_off and the queue addresses): they must match. <b>Mirrored</b> device configuration,
 * the fields the test configured the same as QEMU's device (a MAC address, a capacity), must match too. Everything
 * else (features offered beyond what the driver took, ISR and InterruptStatus, config generation, device limits such
 * as QueueNumMax or seg_max) is reported as a difference, not a failure: it is the device's to choose.
 * <p>
 * Thread safety: one thread, the one that plays the guest.
 */
public final class TransportTraceReplay
{
    private static final int MMIO_DEVICE_FEATURES = 0x010;
    private static final int MMIO_DRIVER_FEATURES = 0x020;
    private static final int MMIO_DRIVER_FEATURES_SEL = 0x024;
    private static final int MMIO_QUEUE_SEL = 0x030;
    private static final int MMIO_QUEUE_NUM = 0x038;
    private static final int MMIO_QUEUE_READY = 0x044;
    private static final int MMIO_STATUS = 0x070;
    private static final int MMIO_QUEUE_DESC_LOW = 0x080;
    private static final int MMIO_QUEUE_DEVICE_HIGH = 0x0A4;
    private static final int MMIO_CONFIG = 0x100;
    private static final int PCI_DRIVER_FEATURE_SELECT = 0x08;
    private static final int PCI_DRIVER_FEATURE = 0x0C;
    private static final int PCI_DEVICE_STATUS = 0x14;
    private static final int PCI_QUEUE_SELECT = 0x16;
    private static final int PCI_QUEUE_SIZE = 0x18;
    private static final int PCI_QUEUE_ENABLE = 0x1C;
    private static final int PCI_QUEUE_DESC = 0x20;
    private static final int PCI_QUEUE_DEVICE_END = 0x38;
    private static final int PCI_DEVICE_CONFIG = 0x2000;
    private static final int PCI_DEVICE_CONFIG_END = 0x3000;
    private static final int STATUS_DRIVER_OK = 4;
    private static final int QEMU_MMIO_QUEUE_NUM_MAX = 1024;
    private static final int QEMU_PCI_QUEUE_SIZE = 256;

    /**
     * A load whose value differed from QEMU's.
     *
     * @param index    the access's position in the trace.
     * @param access   the recorded access.
     * @param actual   what jvirtio's transport returned.
     * @param register the register's name.
     */
    public record Difference(int index, Access access, long actual, String register)
    {
        @Override
        public String toString()
        {
            return String.format("#%d %s @0x%x size %d: qemu 0x%x, jvirtio 0x%x", index, register, access.offset(),
                access.size(), access.value(), actual);
        }
    }

    /**
     * What the replay saw.
     *
     * @param loads            loads made.
     * @param stores           stores made.
     * @param mismatches       fixed or mirrored registers that differed (must be empty).
     * @param differences      other loads that differed (the device's own choices).
     * @param driverFeatures   the features the recorded driver accepted (from its DriverFeatures stores).
     * @param recordedQueues   the queues the recorded driver enabled, by index, with their layout.
     * @param status           the device status jvirtio's transport reported right after the driver set DRIVER_OK
     *                         (0 if it never did).
     * @param activeFeatures   the features the device was activated with, or -1 if it never was.
     * @param activeQueues     the queues the device was activated with, by index (enabled ones only).
     */
    public record Result(
        int loads,
        int stores,
        List<Difference> mismatches,
        List<Difference> differences,
        long driverFeatures,
        Map<Integer, SplitQueueConfig> recordedQueues,
        int status,
        long activeFeatures,
        Map<Integer, SplitQueueConfig> activeQueues)
    {
        /** @return true if the device reached DRIVER_OK under jvirtio's transport. */
        public boolean driverOk()
        {
            return (status & STATUS_DRIVER_OK) != 0;
        }

        /** @return a few lines for the test's output: what the guest's driver saw. */
        public String summary()
        {
            final StringBuilder out = new StringBuilder();
            out.append(String.format("loads %d, stores %d, status 0x%x, driver features 0x%x, active features 0x%x%n",
                loads, stores, status, driverFeatures, activeFeatures));
            recordedQueues.forEach((index, q) -> out.append(String.format(
                "queue %d: size %d desc 0x%x driver 0x%x device 0x%x%n", index, q.size(), q.descTable(),
                q.availRing(), q.usedRing())));
            out.append("fixed-register mismatches: ").append(mismatches.size()).append('\n');
            mismatches.forEach(d -> out.append("  ").append(d).append('\n'));
            out.append("device-chosen differences: ").append(differences.size()).append('\n');
            differences.forEach(d -> out.append("  ").append(d).append('\n'));
            return out.toString();
        }
    }

    private TransportTraceReplay()
    {
    }

    /**
     * @return the largest queue size QEMU offered on the trace's transport, for a device mirroring QEMU's: its
     *     virtio-mmio offers VIRTQUEUE_MAX_SIZE (1024) as QueueNumMax and Linux takes all of it; its virtio-pci offers
     *     the device's own size, 256 for net's data queues and blk's request queue.
     */
    public static int qemuQueueSize(final TransportTrace trace)
    {
        return "mmio".equals(trace.transport()) ? QEMU_MMIO_QUEUE_NUM_MAX : QEMU_PCI_QUEUE_SIZE;
    }

    /**
     * Attaches {@code device} to {@code machine} on the trace's transport and replays the trace through vCPU 0.
     *
     * @param trace          the recorded accesses.
     * @param machine        a machine with enough RAM for the ring addresses the recorded driver used.
     * @param device         a device of the trace's type, configured like QEMU's where {@code mirroredConfig} says.
     * @param mirroredConfig the device configuration offsets whose values the test configured as QEMU's device had.
     * @return what the replay saw.
     */
    public static Result replay(final TransportTrace trace, final VirtioMachine machine, final VirtioDevice device,
        final IntPredicate mirroredConfig)
    {
        final boolean mmio = "mmio".equals(trace.transport());
        final ContextCapture capture = new ContextCapture(device);
        final DriverTransport transport = machine
            .attach(capture, mmio ? TransportKind.MMIO_WILDCARD : TransportKind.PCI).driver().transport();
        final RawRegisters raw;
        if (transport instanceof MmioDriverTransport m)
        {
            raw = m.raw();
        }
        else
        {
            final PciDriverTransport p = (PciDriverTransport)transport;
            // the recording ran with vectors=0: INTx, as QEMU 7.2 needs for vhost-user under TCG
            p.disableMsix();
            raw = p.raw();
        }
        final Recorded recorded = new Recorded(mmio);
        final List<Difference> mismatches = new ArrayList<>();
        final List<Difference> differences = new ArrayList<>();
        int loads = 0;
        int stores = 0;
        int statusAtDriverOk = 0;
        final List<Access> accesses = trace.accesses();
        for (int i = 0; i < accesses.size(); i++)
        {
            final Access a = accesses.get(i);
            if (a.write())
            {
                stores++;
                recorded.store(a);
                raw.write(a.offset(), a.size(), a.value());
                if (a.offset() == (mmio ? MMIO_STATUS : PCI_DEVICE_STATUS) && (a.value() & STATUS_DRIVER_OK) != 0)
                {
                    // not in the trace: what the device says right after the driver set DRIVER_OK (Linux resets
                    // the device again at shutdown, so the final status says nothing)
                    statusAtDriverOk = (int)raw.read(a.offset(), a.size());
                }
                continue;
            }
            loads++;
            final long actual = raw.read(a.offset(), a.size());
            if (actual == a.value())
            {
                continue;
            }
            final int offset = (int)a.offset();
            final String fixed = mmio ? fixedMmio(offset) : fixedPci(offset, recorded.sizeWritten());
            final int configStart = mmio ? MMIO_CONFIG : PCI_DEVICE_CONFIG;
            final boolean config = offset >= configStart && (mmio || offset < PCI_DEVICE_CONFIG_END);
            final Difference difference = new Difference(i, a,
                actual, fixed != null ? fixed : config ? "config+" + (offset - configStart) : "other");
            if (fixed != null || config && mirroredConfig.test(offset - configStart))
            {
                mismatches.add(difference);
            }
            else
            {
                differences.add(difference);
            }
        }
        return new Result(loads, stores, mismatches, differences, recorded.features(), recorded.queues(),
            statusAtDriverOk, capture.features, capture.queues);
    }

    private static String fixedMmio(final int offset)
    {
        return switch (offset)
        {
            case 0x000 -> "MagicValue";
            case 0x004 -> "Version";
            case 0x008 -> "DeviceID";
            case MMIO_QUEUE_READY -> "QueueReady";
            case MMIO_STATUS -> "Status";
            default -> null;
        };
    }

    /**
     * @param sizeWritten the driver already stored queue_size for the selected queue: it reads back (before that it
     *                    is the device's maximum, the device's to choose).
     */
    private static String fixedPci(final int offset, final boolean sizeWritten)
    {
        return switch (offset)
        {
            case 0x00 -> "device_feature_select";
            case PCI_DRIVER_FEATURE_SELECT -> "driver_feature_select";
            case 0x12 -> "num_queues";
            case PCI_DEVICE_STATUS -> "device_status";
            case PCI_QUEUE_SELECT -> "queue_select";
            case PCI_QUEUE_SIZE -> sizeWritten ? "queue_size" : null;
            case PCI_QUEUE_ENABLE -> "queue_enable";
            case 0x1E -> "queue_notify_off";
            default -> offset >= PCI_QUEUE_DESC && offset < PCI_QUEUE_DEVICE_END ? "queue_address" : null;
        };
    }

    /** What the recorded driver set up, from its stores. */
    private static final class Recorded
    {
        private final boolean mmio;
        private final long[] features = new long[2];
        private final Map<Integer, long[]> queues = new TreeMap<>();
        private int featureSelect;
        private int queueSelect;

        Recorded(final boolean mmio)
        {
            this.mmio = mmio;
        }

        void store(final Access a)
        {
            final int offset = (int)a.offset();
            final int featureSel = mmio ? MMIO_DRIVER_FEATURES_SEL : PCI_DRIVER_FEATURE_SELECT;
            final int featureReg = mmio ? MMIO_DRIVER_FEATURES : PCI_DRIVER_FEATURE;
            if (offset == featureSel)
            {
                featureSelect = (int)a.value();
            }
            else if (offset == featureReg && featureSelect >= 0 && featureSelect < 2)
            {
                features[featureSelect] = a.value() & 0xFFFF_FFFFL;
            }
            else if (offset == (mmio ? MMIO_QUEUE_SEL : PCI_QUEUE_SELECT))
            {
                queueSelect = (int)a.value();
            }
            else
            {
                queueStore(offset, a.value());
            }
        }

        private void queueStore(final int offset, final long value)
        {
            // per queue: size, enabled, desc, driver, device
            final long[] q = queues.computeIfAbsent(queueSelect, k -> new long[5]);
            if (offset == (mmio ? MMIO_QUEUE_NUM : PCI_QUEUE_SIZE))
            {
                q[0] = value;
            }
            else if (offset == (mmio ? MMIO_QUEUE_READY : PCI_QUEUE_ENABLE))
            {
                q[1] = value;
            }
            else if (mmio && offset >= MMIO_QUEUE_DESC_LOW && offset <= MMIO_QUEUE_DEVICE_HIGH)
            {
                final int area = (offset - MMIO_QUEUE_DESC_LOW) / 0x10;
                final boolean high = (offset & 0x4) != 0;
                q[2 + area] = halves(q[2 + area], high, value);
            }
            else if (!mmio && offset >= PCI_QUEUE_DESC && offset < PCI_QUEUE_DEVICE_END)
            {
                final int area = (offset - PCI_QUEUE_DESC) / 8;
                final boolean high = (offset & 0x4) != 0;
                q[2 + area] = halves(q[2 + area], high, value);
            }
        }

        private static long halves(final long current, final boolean high, final long value)
        {
            return high ? (current & 0xFFFF_FFFFL) | (value << 32) : (current & ~0xFFFF_FFFFL) | (value & 0xFFFF_FFFFL);
        }

        boolean sizeWritten()
        {
            final long[] q = queues.get(queueSelect);
            return q != null && q[0] != 0;
        }

        long features()
        {
            return features[0] | features[1] << 32;
        }

        Map<Integer, SplitQueueConfig> queues()
        {
            final long accepted = features();
            final Map<Integer, SplitQueueConfig> out = new TreeMap<>();
            queues.forEach((index, q) ->
            {
                if (q[1] == 1)
                {
                    out.put(index, new SplitQueueConfig((int)q[0], q[2], q[3], q[4], (accepted >> 29 & 1) != 0,
                        (accepted >> 28 & 1) != 0));
                }
            });
            return out;
        }
    }

    /** The device under test, with what it was activated with kept for the test to compare. */
    private static final class ContextCapture implements VirtioDevice
    {
        private final VirtioDevice device;
        private final Map<Integer, SplitQueueConfig> queues = new TreeMap<>();
        private volatile long features = -1;

        ContextCapture(final VirtioDevice device)
        {
            this.device = device;
        }

        @Override
        public int deviceId()
        {
            return device.deviceId();
        }

        @Override
        public long deviceFeatures()
        {
            return device.deviceFeatures();
        }

        @Override
        public String checkFeatures(final long driverFeatures)
        {
            return device.checkFeatures(driverFeatures);
        }

        @Override
        public int queueCount()
        {
            return device.queueCount();
        }

        @Override
        public int queueMaxSize(final int queueIndex)
        {
            return device.queueMaxSize(queueIndex);
        }

        @Override
        public int configSize()
        {
            return device.configSize();
        }

        @Override
        public long readConfig(final int offset, final int size)
        {
            return device.readConfig(offset, size);
        }

        @Override
        public void writeConfig(final int offset, final int size, final long value)
        {
            device.writeConfig(offset, size, value);
        }

        @Override
        public void attach(final DeviceHost host)
        {
            device.attach(host);
        }

        @Override
        public void activate(final DeviceContext context)
        {
            features = context.features();
            for (int i = 0; i < context.queueCount(); i++)
            {
                if (context.isQueueEnabled(i) && context.queue(i) instanceof SplitQueue q && q.isActive())
                {
                    queues.put(i, q.activeConfig());
                }
            }
            device.activate(context);
        }

        @Override
        public void reset()
        {
            device.reset();
        }
    }
}
