package io.jvirtio.virtio.transport.pci;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jvirtio.bus.pci.MsixCapability;
import io.jvirtio.bus.pci.PciCounter;
import io.jvirtio.bus.pci.PciFunction;
import io.jvirtio.bus.pci.PciHeader;
import io.jvirtio.bus.testing.FuzzInput;
import io.jvirtio.bus.testing.FuzzSeeds;
import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.transport.QueueConfigSnapshot;
import io.jvirtio.virtio.transport.TransportCore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.CONFIG_GENERATION;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.CONFIG_MSIX_VECTOR;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.DEVICE_FEATURE;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.DEVICE_FEATURE_SELECT;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.DEVICE_STATUS;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.DRIVER_FEATURE;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.DRIVER_FEATURE_SELECT;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.NUM_QUEUES;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.QUEUE_DESC;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.QUEUE_DEVICE;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.QUEUE_DRIVER;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.QUEUE_ENABLE;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.QUEUE_MSIX_VECTOR;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.QUEUE_NOTIFY_OFF;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.QUEUE_SELECT;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.QUEUE_SIZE;
import static io.jvirtio.virtio.transport.pci.CommonCfgLayout.VIRTIO_MSI_NO_VECTOR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coverage-guided fuzzing of the virtio-pci function (virtio-v1.2 §4.1) with random access sequences of any size and
 * offset over its four guest-facing decoders: configuration space (the PCI header, the capability list and the
 * VIRTIO_PCI_CAP_PCI_CFG window, §4.1.4.8), BAR 0 (common configuration, ISR, device configuration and notify
 * regions, §4.1.4.3 to §4.1.4.6) and BAR 2 (MSI-X table and PBA), each at the entry point its bus calls.
 * <p>
 * Invariants after every access: nothing throws; vendor ID, device ID, revision and the capability chain (every
 * capability's ID, next pointer and the fields the driver cannot write) never change; DRIVER_OK is never set without
 * FEATURES_OK (§3.1.1); the negotiated features are a subset of the offered ones; a queue's size and addresses never
 * change while it is enabled or the device is live (§4.1.4.3.2); every MSI-X vector is NO_VECTOR or one the function
 * has, and a vector written through the common configuration reads back as written or as NO_VECTOR (§4.1.5.1.2); and
 * a write the function must refuse moves a counter (transport, virtio-pci or PCI).
 * <p>
 * One VM and function serve every input (Jazzer reuses the test instance); each input starts from the probed state:
 * a device reset, the command register, BARs, MSI-X control and table and the PCI_CFG window as the probe left them.
 * Seeds live in {@code VirtioPciFuzzTestInputs/accesses}, written by {@link #seeds()}. Thread safety: JUnit's thread
 * only.
 */
class VirtioPciFuzzTest
{
    /** Bound on the accesses one input makes. */
    private static final int MAX_ACCESSES = 64;
    private static final int[] SIZES = {1, 2, 4, 8};

    private static final int REGION_CONFIG = 0;
    private static final int REGION_STRUCTURE = 1;
    private static final int REGION_MSIX = 2;
    private static final int REGION_COUNT = 3;

    /** Configuration-space anchors fixed by the header; {@link #configAnchors} appends the capabilities' fields. */
    private static final int[] HEADER_ANCHORS = {PciHeader.VENDOR_ID, PciHeader.DEVICE_ID, PciHeader.COMMAND,
        PciHeader.STATUS, PciHeader.REVISION_ID, PciHeader.BAR0, PciHeader.barOffset(1), PciHeader.barOffset(2),
        PciHeader.barOffset(3), PciHeader.CAPABILITIES_POINTER, PciHeader.INTERRUPT_LINE};
    private static final int PCI_CFG_BAR_ANCHOR = HEADER_ANCHORS.length;
    private static final int PCI_CFG_OFFSET_ANCHOR = HEADER_ANCHORS.length + 1;
    private static final int PCI_CFG_LENGTH_ANCHOR = HEADER_ANCHORS.length + 2;
    private static final int PCI_CFG_DATA_ANCHOR = HEADER_ANCHORS.length + 3;
    private static final int MSIX_CONTROL_ANCHOR = HEADER_ANCHORS.length + 4;
    private static final int CONFIG_ANCHOR_COUNT = HEADER_ANCHORS.length + 6;

    /** BAR 0 anchors: every common configuration field and the other structures' starts. */
    private static final int[] STRUCTURE_ANCHORS = {DEVICE_FEATURE_SELECT, DEVICE_FEATURE, DRIVER_FEATURE_SELECT,
        DRIVER_FEATURE, CONFIG_MSIX_VECTOR, NUM_QUEUES, DEVICE_STATUS, CONFIG_GENERATION, QUEUE_SELECT, QUEUE_SIZE,
        QUEUE_MSIX_VECTOR, QUEUE_ENABLE, QUEUE_NOTIFY_OFF, QUEUE_DESC, QUEUE_DESC + 4, QUEUE_DRIVER, QUEUE_DRIVER + 4,
        QUEUE_DEVICE, QUEUE_DEVICE + 4, VirtioPciTransport.ISR_OFFSET, VirtioPciTransport.DEVICE_CFG_OFFSET,
        VirtioPciTransport.NOTIFY_OFFSET, VirtioPciTransport.NOTIFY_OFFSET + VirtioPciTransport.NOTIFY_OFF_MULTIPLIER};
    /** MSI-X anchors: the first two table entries' dwords; {@link #msixAnchors} appends the PBA. */
    private static final int[] TABLE_ANCHORS = {0, 4, 8, 12, 16, 20, 24, 28};
    private static final int MSIX_ANCHOR_COUNT = TABLE_ANCHORS.length + 1;

    private static VirtioPciFixture fixture;
    private static Baseline baseline;

    private static VirtioPciFixture fixture()
    {
        if (fixture == null)
        {
            fixture = new VirtioPciFixture();
            baseline = new Baseline(fixture.transport);
        }
        return fixture;
    }

    @AfterAll
    static void close()
    {
        if (fixture != null)
        {
            fixture.close();
            fixture = null;
        }
    }

    @FuzzTest(maxDuration = "0s", maxExecutions = 40_000)
    void accesses(final FuzzedDataProvider data)
    {
        final VirtioPciTransport t = fixture().transport;
        final TransportCore core = t.core();
        baseline.restore(t);
        assertEquals(0, core.status(), "a reset clears the status");
        final int[] configAnchors = configAnchors(t);
        final long[] msixAnchors = msixAnchors(t.msix());
        final long[] regionLength = {PciHeader.EXTENDED_CONFIG_SPACE_SIZE, VirtioPciTransport.STRUCTURE_BAR_SIZE,
            t.function().barSize(VirtioPciTransport.MSIX_BAR)};
        for (int n = 0; n < MAX_ACCESSES && data.remainingBytes() > 0; n++)
        {
            final int region = data.consumeInt(0, REGION_COUNT - 1);
            final long offset;
            if (data.consumeBoolean())
            {
                final int i = data.consumeInt(0, anchorCount(region) - 1);
                final long anchor = region == REGION_CONFIG ? configAnchors[i]
                    : region == REGION_STRUCTURE ? STRUCTURE_ANCHORS[i] : msixAnchors[i];
                offset = Math.min(regionLength[region] - 1,
                    anchor + (data.consumeBoolean() ? 0 : data.consumeInt(0, 3)));
            }
            else
            {
                offset = data.consumeLong(0, regionLength[region] - 1);
            }
            final int size = SIZES[data.consumeInt(0, SIZES.length - 1)];
            final boolean write = data.consumeBoolean();
            final long value = data.consumeBoolean() ? data.consumeInt(0, 0xFFFF) : data.consumeLong();
            access(t, region, offset, size, write, value);
        }
    }

    private static void access(final VirtioPciTransport t, final int region, final long offset, final int size,
        final boolean write, final long value)
    {
        final TransportCore core = t.core();
        final QueueConfigSnapshot before = QueueConfigSnapshot.of(core);
        final boolean driverOkBefore = (core.status() & DeviceStatus.DRIVER_OK) != 0;
        final long countersBefore = totalCounters(t);
        final boolean refused = write && refused(t, region, offset, size, value);
        if (region == REGION_CONFIG)
        {
            if (write)
            {
                t.function().writeConfig((int)offset, size, value);
            }
            else
            {
                t.function().readConfig((int)offset, size);
            }
        }
        else if (region == REGION_STRUCTURE)
        {
            if (write)
            {
                t.writeStructure(offset, size, value);
            }
            else
            {
                t.readStructure(offset, size);
            }
        }
        else if (write)
        {
            t.msix().write(offset, size, value);
        }
        else
        {
            t.msix().read(offset, size);
        }
        final String where = "region=" + region + ", offset=0x" + Long.toHexString(offset) + ", size=" + size
            + ", write=" + write + ", value=0x" + Long.toHexString(value);
        if (refused)
        {
            assertTrue(totalCounters(t) > countersBefore, "a refused write is counted: " + where);
        }
        assertEquals(baseline.identityAndCaps, identityAndCaps(t.function()), "identity and capabilities: " + where);
        final int status = core.status();
        assertTrue((status & DeviceStatus.DRIVER_OK) == 0 || (status & DeviceStatus.FEATURES_OK) != 0,
            "DRIVER_OK without FEATURES_OK: status=0x" + Integer.toHexString(status));
        assertEquals(0, core.negotiatedFeatures() & ~core.deviceFeatures(), "negotiated beyond the offer: " + where);
        before.assertFrozen(core, driverOkBefore);
        if (write && region == REGION_STRUCTURE && size == 2
            && (offset == CONFIG_MSIX_VECTOR || offset == QUEUE_MSIX_VECTOR && selectedQueue(t) >= 0))
        {
            final int written = (int)value & 0xFFFF;
            final int expected = written < t.msix().vectors() ? written : VIRTIO_MSI_NO_VECTOR;
            assertEquals(expected, t.readStructure(offset, 2), "a vector reads back as written or NO_VECTOR");
        }
        assertVectorsInRange(t);
    }

    @Test
    void shouldMatchCheckedInSeeds()
    {
        FuzzSeeds.check(VirtioPciFuzzTest.class, "accesses", seeds());
    }

    /** @return the seed inputs by file name. */
    static Map<String, byte[]> seeds()
    {
        final int ackDriver = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER;
        final int featuresOk = ackDriver | DeviceStatus.FEATURES_OK;
        final FuzzInput bringUp = new FuzzInput();
        common(bringUp, DEVICE_STATUS, 1, ackDriver);
        common(bringUp, DRIVER_FEATURE_SELECT, 4, 1);
        common(bringUp, DRIVER_FEATURE, 4, 1);
        common(bringUp, DEVICE_STATUS, 1, featuresOk);
        common(bringUp, QUEUE_SELECT, 2, 0);
        common(bringUp, QUEUE_SIZE, 2, 8);
        common(bringUp, QUEUE_DESC, 4, 0x10_0000);
        common(bringUp, QUEUE_DRIVER, 4, 0x10_1000);
        common(bringUp, QUEUE_DEVICE, 4, 0x10_2000);
        common(bringUp, QUEUE_MSIX_VECTOR, 2, 1);
        common(bringUp, CONFIG_MSIX_VECTOR, 2, 0);
        common(bringUp, QUEUE_ENABLE, 2, 1);
        common(bringUp, DEVICE_STATUS, 1, featuresOk | DeviceStatus.DRIVER_OK);
        final FuzzInput badSelect = new FuzzInput();
        common(badSelect, QUEUE_SELECT, 2, 0xFFFF);
        common(badSelect, QUEUE_SIZE, 2, 8);
        common(badSelect, QUEUE_MSIX_VECTOR, 2, 0);
        common(badSelect, QUEUE_ENABLE, 2, 1);
        common(badSelect, QUEUE_DESC, 4, 0x10_0000);
        final FuzzInput window = new FuzzInput();
        config(window, PCI_CFG_BAR_ANCHOR, 1, VirtioPciTransport.STRUCTURE_BAR);
        config(window, PCI_CFG_OFFSET_ANCHOR, 4, DEVICE_STATUS);
        config(window, PCI_CFG_LENGTH_ANCHOR, 4, 1);
        config(window, PCI_CFG_DATA_ANCHOR, 1, DeviceStatus.ACKNOWLEDGE);
        config(window, PCI_CFG_LENGTH_ANCHOR, 4, 3);
        config(window, PCI_CFG_DATA_ANCHOR, 4, 0xFF);
        final FuzzInput oddTable = new FuzzInput();
        access(oddTable, REGION_MSIX, 2, 2, true, 0x1234);
        access(oddTable, REGION_MSIX, 3, 1, true, 0xFF);
        access(oddTable, REGION_MSIX, TABLE_ANCHORS.length, 2, true, 0xFF);
        access(oddTable, REGION_MSIX, 1, 0, false, 0);
        final FuzzInput afterDriverOk = new FuzzInput();
        common(afterDriverOk, DEVICE_STATUS, 1, ackDriver);
        common(afterDriverOk, DRIVER_FEATURE_SELECT, 4, 1);
        common(afterDriverOk, DRIVER_FEATURE, 4, 1);
        common(afterDriverOk, DEVICE_STATUS, 1, featuresOk);
        common(afterDriverOk, DEVICE_STATUS, 1, featuresOk | DeviceStatus.DRIVER_OK);
        common(afterDriverOk, QUEUE_SIZE, 2, 4);
        common(afterDriverOk, QUEUE_DESC, 4, 0x20_0000);
        common(afterDriverOk, DRIVER_FEATURE, 4, 0xFFFF);
        access(afterDriverOk, REGION_CONFIG, 0, 2, true, 0xFFFF);
        return Map.of("bring-up", bringUp.toBytes(), "queue-select-out-of-range", badSelect.toBytes(),
            "pci-cfg-window", window.toBytes(), "msix-table-odd-size", oddTable.toBytes(), "write-after-driver-ok",
            afterDriverOk.toBytes());
    }

    /** Adds a write of {@code value} to the common configuration field at {@code field}. */
    private static void common(final FuzzInput in, final int field, final int size, final long value)
    {
        access(in, REGION_STRUCTURE, index(STRUCTURE_ANCHORS, field), Integer.numberOfTrailingZeros(size), true,
            value);
    }

    /** Adds a write of {@code value} at configuration anchor {@code anchor}. */
    private static void config(final FuzzInput in, final int anchor, final int size, final long value)
    {
        access(in, REGION_CONFIG, anchor, Integer.numberOfTrailingZeros(size), true, value);
    }

    /** Adds one access at anchor {@code anchor} of {@code region}, size {@code SIZES[sizeIndex]}. */
    private static void access(final FuzzInput in, final int region, final int anchor, final int sizeIndex,
        final boolean write, final long value)
    {
        in.integer(region, 0, REGION_COUNT - 1).bool(true).integer(anchor, 0, anchorCount(region) - 1).bool(true)
            .integer(sizeIndex, 0, SIZES.length - 1).bool(write);
        if (value <= 0xFFFF)
        {
            in.bool(true).integer((int)value, 0, 0xFFFF);
        }
        else
        {
            in.bool(false).anyLong(value);
        }
    }

    private static int anchorCount(final int region)
    {
        return region == REGION_CONFIG ? CONFIG_ANCHOR_COUNT
            : region == REGION_STRUCTURE ? STRUCTURE_ANCHORS.length : MSIX_ANCHOR_COUNT;
    }

    private static int index(final int[] anchors, final int value)
    {
        for (int i = 0; i < anchors.length; i++)
        {
            if (anchors[i] == value)
            {
                return i;
            }
        }
        throw new IllegalArgumentException("not an anchor of this target: offset=0x" + Integer.toHexString(value));
    }

    private static int[] configAnchors(final VirtioPciTransport t)
    {
        final int[] anchors = new int[CONFIG_ANCHOR_COUNT];
        System.arraycopy(HEADER_ANCHORS, 0, anchors, 0, HEADER_ANCHORS.length);
        final int pciCfg = t.pciCfgCapOffset();
        anchors[PCI_CFG_BAR_ANCHOR] = pciCfg + VirtioPciCapLayout.BAR;
        anchors[PCI_CFG_OFFSET_ANCHOR] = pciCfg + VirtioPciCapLayout.OFFSET;
        anchors[PCI_CFG_LENGTH_ANCHOR] = pciCfg + VirtioPciCapLayout.LENGTH;
        anchors[PCI_CFG_DATA_ANCHOR] = pciCfg + VirtioPciCapLayout.PCI_CFG_DATA;
        anchors[MSIX_CONTROL_ANCHOR] = t.msix().capabilityOffset() + MsixCapability.MESSAGE_CONTROL;
        anchors[MSIX_CONTROL_ANCHOR + 1] = PciHeader.CAPABILITIES_START;
        return anchors;
    }

    private static long[] msixAnchors(final MsixCapability msix)
    {
        final long[] anchors = new long[MSIX_ANCHOR_COUNT];
        for (int i = 0; i < TABLE_ANCHORS.length; i++)
        {
            anchors[i] = TABLE_ANCHORS[i];
        }
        anchors[TABLE_ANCHORS.length] = msix.pbaOffset();
        return anchors;
    }

    /** @return whether the function must refuse this write, and so count it. */
    private static boolean refused(final VirtioPciTransport t, final int region, final long offset, final int size,
        final long value)
    {
        if (region == REGION_CONFIG)
        {
            return configWriteRefused(t.function(), (int)offset, size, value);
        }
        if (region == REGION_MSIX)
        {
            final long pba = t.msix().pbaOffset();
            final long end = pba + (t.msix().vectors() + 63L) / 64 * 8;
            final boolean wellFormed = (size == 4 || size == 8) && (offset & (size - 1)) == 0 && offset + size <= end
                && (offset >= pba || offset + size <= pba);
            return !wellFormed || offset >= pba;
        }
        if (offset < CommonCfgLayout.LENGTH)
        {
            return commonWriteRefused(t, (int)offset, size, value);
        }
        if (offset < VirtioPciTransport.DEVICE_CFG_OFFSET)
        {
            // between the common configuration and the ISR nothing decodes; the ISR is read-only
            return true;
        }
        if (offset >= VirtioPciTransport.NOTIFY_OFFSET)
        {
            final long notify = offset - VirtioPciTransport.NOTIFY_OFFSET;
            return notify % VirtioPciTransport.NOTIFY_OFF_MULTIPLIER != 0
                || notify / VirtioPciTransport.NOTIFY_OFF_MULTIPLIER >= t.core().queueCount();
        }
        return false;
    }

    private static boolean configWriteRefused(final PciFunction function, final int offset, final int size,
        final long value)
    {
        final boolean wellFormed = (size == 1 || size == 2 || size == 4) && (offset & (size - 1)) == 0
            && offset + size <= PciHeader.EXTENDED_CONFIG_SPACE_SIZE;
        if (!wellFormed)
        {
            return true;
        }
        final boolean identity = offset < PciHeader.COMMAND
            || offset >= PciHeader.REVISION_ID && offset < PciHeader.CACHE_LINE_SIZE;
        final long mask = size == 4 ? 0xFFFF_FFFFL : (1L << (8 * size)) - 1;
        return identity && (value & mask) != function.config(offset, size);
    }

    private static boolean commonWriteRefused(final VirtioPciTransport t, final int offset, final int size,
        final long value)
    {
        if (fieldWidth(offset) != size)
        {
            return true;
        }
        switch (offset)
        {
            case DEVICE_FEATURE:
            case NUM_QUEUES:
            case CONFIG_GENERATION:
            case QUEUE_NOTIFY_OFF:
                return true;
            case DEVICE_FEATURE_SELECT:
            case DRIVER_FEATURE_SELECT:
            case DRIVER_FEATURE:
            case CONFIG_MSIX_VECTOR:
            case DEVICE_STATUS:
            case QUEUE_SELECT:
                return false;
            default:
                final int q = selectedQueue(t);
                if (q < 0 || offset == QUEUE_ENABLE && (value & 0xFFFF) == 0)
                {
                    return true;
                }
                final boolean frozenField = offset == QUEUE_SIZE || offset >= QUEUE_DESC;
                return frozenField && t.core().queueReady(q);
        }
    }

    /** §4.1.3.1: each field's natural width; the 64-bit ones as two 32-bit halves. */
    private static int fieldWidth(final int offset)
    {
        if (offset <= DRIVER_FEATURE || offset >= QUEUE_DESC)
        {
            return (offset & 3) == 0 ? 4 : 0;
        }
        if (offset == DEVICE_STATUS || offset == CONFIG_GENERATION)
        {
            return 1;
        }
        return (offset & 1) == 0 ? 2 : 0;
    }

    /** @return the queue queue_select names, or -1 if none (read without side effects). */
    private static int selectedQueue(final VirtioPciTransport t)
    {
        final int q = (int)t.readStructure(QUEUE_SELECT, 2);
        return t.core().isValidQueue(q) ? q : -1;
    }

    private static void assertVectorsInRange(final VirtioPciTransport t)
    {
        final int vectors = t.msix().vectors();
        final long config = t.readStructure(CONFIG_MSIX_VECTOR, 2);
        assertTrue(config == VIRTIO_MSI_NO_VECTOR || config < vectors, "config vector in range: " + config);
        final long select = t.readStructure(QUEUE_SELECT, 2);
        // bound: the device's queue count
        for (int q = 0; q < t.core().queueCount(); q++)
        {
            t.writeStructure(QUEUE_SELECT, 2, q);
            final long vector = t.readStructure(QUEUE_MSIX_VECTOR, 2);
            assertTrue(vector == VIRTIO_MSI_NO_VECTOR || vector < vectors,
                "queue vector in range: queue=" + q + ", vector=" + vector);
        }
        t.writeStructure(QUEUE_SELECT, 2, select);
    }

    private static long totalCounters(final VirtioPciTransport t)
    {
        long total = t.core().counters().total();
        for (final VirtioPciCounter c : VirtioPciCounter.values())
        {
            total += t.count(c);
        }
        for (final PciCounter c : PciCounter.values())
        {
            total += t.function().counters().get(c);
        }
        return total;
    }

    /**
     * @return the identity fields and the capability chain: each capability's offset, ID and next pointer, and the
     *     bytes the driver cannot write (all of a virtio capability but the PCI_CFG window's fields; the MSI-X table
     *     size, table and PBA locations).
     */
    private static String identityAndCaps(final PciFunction function)
    {
        final StringBuilder s = new StringBuilder();
        s.append(Long.toHexString(function.config(PciHeader.VENDOR_ID, 4))).append('/')
            .append(Long.toHexString(function.config(PciHeader.REVISION_ID, 4))).append('/')
            .append(Long.toHexString(function.config(PciHeader.SUBSYSTEM_VENDOR_ID, 4)));
        int cap = (int)function.config(PciHeader.CAPABILITIES_POINTER, 1);
        // bound: 48 capabilities fit in 256 bytes after the header; more means a loop, which the compare reports
        for (int n = 0; n < 48 && cap != 0; n++)
        {
            final int id = (int)function.config(cap, 1);
            s.append(" cap@").append(Integer.toHexString(cap)).append(':').append(id);
            if (id == PciHeader.CAP_ID_VENDOR)
            {
                final int type = (int)function.config(cap + VirtioPciCapLayout.CFG_TYPE, 1);
                final int fixed = type == VirtioPciCapLayout.VIRTIO_PCI_CAP_PCI_CFG ? VirtioPciCapLayout.BAR
                    : (int)function.config(cap + VirtioPciCapLayout.CAP_LEN, 1);
                for (int b = 2; b < fixed; b++)
                {
                    s.append(',').append(function.config(cap + b, 1));
                }
            }
            else if (id == PciHeader.CAP_ID_MSIX)
            {
                s.append(',').append(function.config(cap + MsixCapability.MESSAGE_CONTROL, 2) & 0x7FF)
                    .append(',').append(function.config(cap + MsixCapability.TABLE_OFFSET, 8));
            }
            cap = (int)function.config(cap + 1, 1);
        }
        return s.toString();
    }

    /** The probed state every input starts from. */
    private static final class Baseline
    {
        private final String identityAndCaps;
        private final long command;
        private final long[] bars = new long[PciHeader.BAR_COUNT];
        private final long msixControl;
        private final long[] pciCfg = new long[VirtioPciCapLayout.PCI_CFG_CAP_SIZE / 4];
        private final long[] table;

        Baseline(final VirtioPciTransport t)
        {
            final PciFunction f = t.function();
            identityAndCaps = identityAndCaps(f);
            command = f.config(PciHeader.COMMAND, 2);
            for (int i = 0; i < bars.length; i++)
            {
                bars[i] = f.config(PciHeader.barOffset(i), 4);
            }
            msixControl = f.config(t.msix().capabilityOffset() + MsixCapability.MESSAGE_CONTROL, 2);
            for (int i = 1; i < pciCfg.length; i++)
            {
                pciCfg[i] = f.config(t.pciCfgCapOffset() + 4 * i, 4);
            }
            table = new long[t.msix().vectors() * MsixCapability.ENTRY_SIZE / 4];
            for (int i = 0; i < table.length; i++)
            {
                table[i] = t.msix().read(4L * i, 4);
            }
        }

        /** Resets the device and puts back what a previous input may have moved, through the guest's own paths. */
        void restore(final VirtioPciTransport t)
        {
            final PciFunction f = t.function();
            t.writeStructure(DEVICE_STATUS, 1, 0);
            f.writeConfig(PciHeader.COMMAND, 2, 0);
            for (int i = 0; i < bars.length; i++)
            {
                f.writeConfig(PciHeader.barOffset(i), 4, bars[i]);
            }
            f.writeConfig(PciHeader.COMMAND, 2, command);
            f.writeConfig(t.msix().capabilityOffset() + MsixCapability.MESSAGE_CONTROL, 2, msixControl);
            for (int i = 1; i < pciCfg.length - 1; i++)
            {
                f.writeConfig(t.pciCfgCapOffset() + 4 * i, 4, pciCfg[i]);
            }
            for (int i = 0; i < table.length; i++)
            {
                t.msix().write(4L * i, 4, table[i]);
            }
        }
    }
}
