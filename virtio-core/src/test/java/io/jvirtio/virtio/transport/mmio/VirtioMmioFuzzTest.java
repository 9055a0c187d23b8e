package io.jvirtio.virtio.transport.mmio;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jvirtio.bus.irq.RedirectionEntry;
import io.jvirtio.bus.vm.SimulatedVm;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.transport.LoopbackDevice;
import io.jvirtio.virtio.transport.QueueConfigSnapshot;
import io.jvirtio.virtio.transport.TransportCore;
import io.jvirtio.virtio.transport.TransportCounter;
import io.jvirtio.bus.testing.FuzzInput;
import io.jvirtio.bus.testing.FuzzSeeds;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

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
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_RESET;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_SEL;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_SIZE;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.QUEUE_SIZE_MAX;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.REGISTER_SIZE;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.SHM_SEL;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.STATUS;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.VENDOR_ID;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.VERSION;
import static io.jvirtio.virtio.transport.mmio.VirtioMmioRegisters.VERSION_2;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coverage-guided fuzzing of the virtio-mmio register file (§4.2.2) with random access sequences: offset, size,
 * value, read or write, at the device's {@code read}/{@code write} entry points that the MMIO bus calls.
 * <p>
 * Invariants after every access: nothing throws; MagicValue, Version, DeviceID and VendorID read their fixed values;
 * DRIVER_OK is never set without FEATURES_OK (§3.1.1); the negotiated features are a subset of the offered ones;
 * a ready queue's size and addresses never change while it stays ready (§4.2.2.2); and a write the register file
 * must refuse (a misaligned or non-32-bit access, a read-only or unknown register, a queue field of a ready queue)
 * moves a transport counter.
 * <p>
 * One VM and transport serve every input (Jazzer reuses the test instance); each input starts with a device reset.
 * Seeds live in {@code VirtioMmioFuzzTestInputs/accesses}, written by {@link #seeds()}. Thread safety: JUnit's
 * thread only.
 */
class VirtioMmioFuzzTest
{
    private static final long BASE = 0xd000_0000L;
    private static final int GSI = 5;
    /** Bound on the accesses one input makes. */
    private static final int MAX_ACCESSES = 64;
    /** Registers a driver may write (§4.2.2); a 32-bit aligned write anywhere else below Config is refused. */
    private static final Set<Integer> WRITABLE = Set.of(DEVICE_FEATURES_SEL, DRIVER_FEATURES, DRIVER_FEATURES_SEL,
        QUEUE_SEL, QUEUE_SIZE, QUEUE_READY, QUEUE_NOTIFY, INTERRUPT_ACK, STATUS, QUEUE_DESC_LOW, QUEUE_DESC_HIGH,
        QUEUE_DRIVER_LOW, QUEUE_DRIVER_HIGH, QUEUE_DEVICE_LOW, QUEUE_DEVICE_HIGH, SHM_SEL, QUEUE_RESET);
    /** Registers worth aiming at, so that most accesses land on one. */
    private static final int[] REGISTERS = {MAGIC_VALUE, VERSION, DEVICE_ID, VENDOR_ID, DEVICE_FEATURES,
        DEVICE_FEATURES_SEL, DRIVER_FEATURES, DRIVER_FEATURES_SEL, QUEUE_SEL, QUEUE_SIZE_MAX, QUEUE_SIZE, QUEUE_READY,
        QUEUE_NOTIFY, INTERRUPT_STATUS, INTERRUPT_ACK, STATUS, QUEUE_DESC_LOW, QUEUE_DESC_HIGH, QUEUE_DRIVER_LOW,
        QUEUE_DRIVER_HIGH, QUEUE_DEVICE_LOW, QUEUE_DEVICE_HIGH, SHM_SEL, QUEUE_RESET, CONFIG_GENERATION, CONFIG};
    private static final int[] SIZES = {1, 2, 4, 8};

    private static SimulatedVm vm;
    private static VirtioMmioTransport transport;

    private static VirtioMmioTransport transport()
    {
        if (transport == null)
        {
            vm = SimulatedVm.create(VmConfig.defaults());
            vm.irqchip().programPin(GSI, RedirectionEntry.level(0x35, 0));
            transport = VirtioMmioTransport.create(vm, BASE, GSI, new LoopbackDevice(), MmioNotifyMode.WILDCARD);
        }
        return transport;
    }

    @AfterAll
    static void close()
    {
        if (transport != null)
        {
            transport.close();
            vm.close();
            transport = null;
        }
    }

    @FuzzTest(maxDuration = "0s", maxExecutions = 100_000)
    void accesses(final FuzzedDataProvider data)
    {
        final VirtioMmioTransport t = transport();
        final TransportCore core = t.core();
        t.write(STATUS, REGISTER_SIZE, 0);
        assertEquals(0, core.status(), "a reset clears the status");
        t.write(QUEUE_SEL, REGISTER_SIZE, 0);
        // QueueSel is write-only (§4.2.2): the test follows the driver's own writes to it
        long selected = 0;
        for (int n = 0; n < MAX_ACCESSES && data.remainingBytes() > 0; n++)
        {
            final long offset = data.consumeBoolean()
                ? REGISTERS[data.consumeInt(0, REGISTERS.length - 1)]
                    + (data.consumeBoolean() ? 0 : data.consumeInt(0, 3))
                : data.consumeLong(0, t.windowLength() - 1);
            final int size = SIZES[data.consumeInt(0, SIZES.length - 1)];
            final boolean write = data.consumeBoolean();
            final long value = data.consumeBoolean() ? data.consumeInt(0, 0xFF) : data.consumeLong();
            final int queue = selected >= 0 && selected < core.queueCount() ? (int)selected : -1;
            final QueueConfigSnapshot before = QueueConfigSnapshot.of(core);
            final boolean driverOkBefore = (core.status() & DeviceStatus.DRIVER_OK) != 0;
            final long countersBefore = totalCounters(t);
            final boolean selectedReady = queue >= 0 && core.queueReady(queue);
            if (write)
            {
                t.write(offset, size, value);
                if (offset == QUEUE_SEL && size == REGISTER_SIZE)
                {
                    selected = value & 0xFFFF_FFFFL;
                }
            }
            else
            {
                t.read(offset, size);
            }
            assertFixedRegisters(t);
            final int status = core.status();
            assertTrue((status & DeviceStatus.DRIVER_OK) == 0 || (status & DeviceStatus.FEATURES_OK) != 0,
                "DRIVER_OK without FEATURES_OK: status=0x" + Integer.toHexString(status));
            assertEquals(0, core.negotiatedFeatures() & ~core.deviceFeatures(), "negotiated beyond the offer");
            before.assertFrozen(core, driverOkBefore);
            if (write && offset < CONFIG && refused(offset, size, selectedReady))
            {
                assertTrue(totalCounters(t) > countersBefore,
                    "a refused write is counted: offset=0x" + Long.toHexString(offset) + ", size=" + size);
            }
        }
    }

    @Test
    void shouldMatchCheckedInSeeds()
    {
        FuzzSeeds.check(VirtioMmioFuzzTest.class, "accesses", seeds());
    }

    /** @return the seed inputs by file name. */
    static Map<String, byte[]> seeds()
    {
        final int ackDriver = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER;
        final int featuresOk = ackDriver | DeviceStatus.FEATURES_OK;
        final FuzzInput init = new FuzzInput();
        write(init, STATUS, ackDriver);
        write(init, DRIVER_FEATURES_SEL, 1);
        write(init, DRIVER_FEATURES, 1);
        write(init, STATUS, featuresOk);
        write(init, QUEUE_SEL, 0);
        write(init, QUEUE_SIZE, 8);
        write(init, QUEUE_DESC_LOW, 0x10_0000);
        write(init, QUEUE_DRIVER_LOW, 0x10_1000);
        write(init, QUEUE_DEVICE_LOW, 0x10_2000);
        write(init, QUEUE_READY, 1);
        write(init, STATUS, featuresOk | DeviceStatus.DRIVER_OK);
        write(init, QUEUE_SIZE, 4);
        write(init, QUEUE_DESC_LOW, 0x20_0000);
        write(init, MAGIC_VALUE, 0);
        final FuzzInput skipFeaturesOk = new FuzzInput();
        write(skipFeaturesOk, STATUS, ackDriver);
        write(skipFeaturesOk, STATUS, ackDriver | DeviceStatus.DRIVER_OK);
        final FuzzInput misaligned = new FuzzInput();
        misaligned.bool(true).integer(index(STATUS), 0, REGISTERS.length - 1).bool(false).integer(2, 0, 3)
            .integer(1, 0, SIZES.length - 1).bool(true).bool(true).integer(0xFF, 0, 0xFF);
        final FuzzInput unofferedFeature = new FuzzInput();
        write(unofferedFeature, STATUS, ackDriver);
        write(unofferedFeature, DRIVER_FEATURES_SEL, 0);
        write(unofferedFeature, DRIVER_FEATURES, 0x40);
        write(unofferedFeature, DRIVER_FEATURES_SEL, 1);
        write(unofferedFeature, DRIVER_FEATURES, 1);
        write(unofferedFeature, STATUS, featuresOk);
        return Map.of("driver-init-then-frozen-queue", init.toBytes(), "driver-ok-without-features-ok",
            skipFeaturesOk.toBytes(), "misaligned-status-write", misaligned.toBytes(), "unoffered-feature",
            unofferedFeature.toBytes());
    }

    /** Adds one aligned 32-bit write of {@code value} to {@code register}. */
    private static void write(final FuzzInput in, final int register, final long value)
    {
        in.bool(true).integer(index(register), 0, REGISTERS.length - 1).bool(true).integer(2, 0, SIZES.length - 1)
            .bool(true);
        if (value <= 0xFF)
        {
            in.bool(true).integer((int)value, 0, 0xFF);
        }
        else
        {
            in.bool(false).anyLong(value);
        }
    }

    private static int index(final int register)
    {
        for (int i = 0; i < REGISTERS.length; i++)
        {
            if (REGISTERS[i] == register)
            {
                return i;
            }
        }
        throw new IllegalArgumentException("not a register this target aims at: offset=0x"
            + Integer.toHexString(register));
    }

    private static boolean refused(final long offset, final int size, final boolean selectedReady)
    {
        if (size != REGISTER_SIZE || (offset & (REGISTER_SIZE - 1)) != 0)
        {
            return true;
        }
        final int register = (int)offset;
        final boolean queueField =
            register == QUEUE_SIZE || register >= QUEUE_DESC_LOW && register <= QUEUE_DEVICE_HIGH;
        return !WRITABLE.contains(register) || queueField && selectedReady;
    }

    private static void assertFixedRegisters(final VirtioMmioTransport t)
    {
        assertEquals(MAGIC, t.read(MAGIC_VALUE, REGISTER_SIZE), "MagicValue");
        assertEquals(VERSION_2, t.read(VERSION, REGISTER_SIZE), "Version");
        assertEquals(LoopbackDevice.DEVICE_ID, t.read(DEVICE_ID, REGISTER_SIZE), "DeviceID");
        assertEquals(VirtioMmioTransport.DEFAULT_VENDOR_ID, t.read(VENDOR_ID, REGISTER_SIZE), "VendorID");
    }

    private static long totalCounters(final VirtioMmioTransport t)
    {
        long total = 0;
        for (final TransportCounter c : TransportCounter.values())
        {
            total += t.counters().get(c);
        }
        return total;
    }
}
