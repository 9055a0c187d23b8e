package io.jvirtio.virtio.testkit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The register accesses one guest driver made to one virtio device's transport, in order: what Linux's virtio_mmio or
 * virtio_pci driver did while it probed and started the device under QEMU, kept as a test fixture and replayed against
 * jvirtio's own transports ({@link TransportTraceReplay}).
 * <p>
 * Offsets are relative to the register window: the virtio-mmio window (virtio-v1.2 §4.2.2), or, for virtio-pci, the
 * BAR that holds the virtio structures laid out as QEMU lays them out and as {@code VirtioPciTransport} does too
 * (common configuration at 0x0, ISR at 0x1000, device configuration at 0x2000, notifications at 0x3000 with a
 * notify_off_multiplier of 4).
 * <p>
 * The fixture format is one access per line, {@code R|W <offset> <size> <value>} with hexadecimal offset and value;
 * lines starting with {@code #} are comments, and the header lines {@code transport mmio|pci} and
 * {@code device <id>} say what the trace is of.
 * <p>
 * Thread safety: immutable; any thread.
 *
 * @param transport "mmio" or "pci".
 * @param deviceId  the virtio device ID (1 net, 2 block).
 * @param accesses  the accesses, in the order the driver made them.
 * @param comments  the fixture's comment lines (how it was recorded), without the leading {@code #}.
 */
public record TransportTrace(String transport, int deviceId, List<Access> accesses, List<String> comments)
{
    /** virtio-mmio's DeviceID register (virtio-v1.2 §4.2.2). */
    private static final long MMIO_DEVICE_ID = 0x008;
    /** virtio-mmio windows are 0x200 bytes apart on QEMU's microvm, each starting on a 0x200 boundary. */
    private static final long MMIO_WINDOW_MASK = ~0x1FFL;
    /** device_status in the virtio-pci common configuration (virtio-v1.2 §4.1.4.3). */
    private static final long PCI_DEVICE_STATUS = 0x14;
    private static final long PAGE_MASK = ~0xFFFL;
    private static final long STATUS_ACKNOWLEDGE = 1;
    private static final Pattern QEMU_OPS = Pattern.compile(
        "memory_region_ops_(read|write) cpu \\d+ mr (0x[0-9a-f]+) addr (0x[0-9a-f]+) value (0x[0-9a-f]+) size (\\d+)"
            + " name '([^']+)'");
    private static final Pattern PCI_REGION = Pattern.compile("virtio-pci-(common|isr|device|notify)-virtio-(\\w+)");

    /**
     * One register access.
     *
     * @param write  a store (else a load).
     * @param offset bytes from the start of the window.
     * @param size   1, 2, 4 or 8.
     * @param value  the value stored, or the value the load returned on the recording host.
     */
    public record Access(boolean write, long offset, int size, long value)
    {
        String format()
        {
            return String.format(Locale.ROOT, "%s 0x%04x %d 0x%x", write ? "W" : "R", offset, size, value);
        }
    }

    public TransportTrace
    {
        accesses = List.copyOf(accesses);
        comments = List.copyOf(comments);
    }

    /**
     * Reads a fixture.
     *
     * @throws IllegalArgumentException naming the line if the text is not a trace.
     */
    public static TransportTrace parse(final String text)
    {
        String transport = null;
        int deviceId = -1;
        final List<Access> accesses = new ArrayList<>();
        final List<String> comments = new ArrayList<>();
        int lineNumber = 0;
        for (final String raw : text.split("\n"))
        {
            lineNumber++;
            final String line = raw.strip();
            if (line.isEmpty())
            {
                continue;
            }
            if (line.startsWith("#"))
            {
                comments.add(line.substring(1).strip());
                continue;
            }
            final String[] f = line.split("\\s+");
            try
            {
                if ("transport".equals(f[0]) && f.length == 2)
                {
                    transport = f[1];
                }
                else if ("device".equals(f[0]) && f.length == 2)
                {
                    deviceId = Integer.parseInt(f[1]);
                }
                else if (("R".equals(f[0]) || "W".equals(f[0])) && f.length == 4)
                {
                    accesses.add(new Access("W".equals(f[0]), Long.decode(f[1]), Integer.parseInt(f[2]),
                        Long.parseUnsignedLong(f[3].substring(2), 16)));
                }
                else
                {
                    throw new IllegalArgumentException("not a trace line");
                }
            }
            catch (final NumberFormatException | StringIndexOutOfBoundsException e)
            {
                throw new IllegalArgumentException("bad number in trace: line=" + lineNumber + ", text=" + line, e);
            }
            catch (final IllegalArgumentException e)
            {
                throw new IllegalArgumentException("not a trace line: line=" + lineNumber + ", text=" + line, e);
            }
        }
        if (transport == null || deviceId < 0)
        {
            throw new IllegalArgumentException("trace lacks its transport or device line: transport=" + transport
                + ", device=" + deviceId);
        }
        return new TransportTrace(transport, deviceId, accesses, comments);
    }

    /** @return the fixture text {@link #parse} reads back. */
    public String format()
    {
        final StringBuilder out = new StringBuilder();
        for (final String comment : comments)
        {
            out.append("# ").append(comment).append('\n');
        }
        out.append("transport ").append(transport).append('\n');
        out.append("device ").append(deviceId).append('\n');
        for (final Access access : accesses)
        {
            out.append(access.format()).append('\n');
        }
        return out.toString();
    }

    /**
     * Extracts the virtio device traces from a QEMU trace log recorded with {@code -trace memory_region_ops_*}
     * (QEMU 7.2 prints absolute addresses and the region's name). virtio-mmio windows are told apart by their
     * region; empty windows (DeviceID 0) are dropped. virtio-pci devices are told apart by the region names QEMU gives
     * their structures ({@code virtio-pci-common-virtio-net}, ...), and only the accesses from the reset before the
     * last ACKNOWLEDGE on are kept, so that firmware that drove the device first (SeaBIOS drives a boot disk) is left
     * out. Notifications that
     * QEMU turned into ioeventfd signals never reach the trace.
     *
     * @param log      the trace log's lines.
     * @param comments comment lines to put at the head of each trace (how it was recorded).
     * @return one trace per device, in the order the devices were first touched.
     */
    public static List<TransportTrace> fromQemuLog(final List<String> log, final List<String> comments)
    {
        final Map<String, List<Access>> mmio = new LinkedHashMap<>();
        final Map<String, List<long[]>> pci = new LinkedHashMap<>();
        for (final String line : log)
        {
            final Matcher m = QEMU_OPS.matcher(line);
            if (!m.find())
            {
                continue;
            }
            final boolean write = "write".equals(m.group(1));
            final long address = Long.parseUnsignedLong(m.group(3).substring(2), 16);
            final int size = Integer.parseInt(m.group(5));
            final long value = Long.parseUnsignedLong(m.group(4).substring(2), 16) & mask(size);
            final String name = m.group(6);
            if ("virtio-mmio".equals(name))
            {
                mmio.computeIfAbsent(m.group(2), k -> new ArrayList<>())
                    .add(new Access(write, address & ~MMIO_WINDOW_MASK, size, value));
                continue;
            }
            final Matcher region = PCI_REGION.matcher(name);
            if (region.matches())
            {
                pci.computeIfAbsent(region.group(2), k -> new ArrayList<>())
                    .add(new long[] {write ? 1 : 0, address, size, value, "common".equals(region.group(1)) ? 1 : 0});
            }
        }
        final List<TransportTrace> traces = new ArrayList<>();
        for (final List<Access> accesses : mmio.values())
        {
            final int deviceId = (int)accesses.stream()
                .filter(a -> !a.write() && a.offset() == MMIO_DEVICE_ID)
                .mapToLong(Access::value).findFirst().orElse(0);
            if (deviceId != 0)
            {
                traces.add(new TransportTrace("mmio", deviceId, accesses, comments));
            }
        }
        for (final Map.Entry<String, List<long[]>> device : pci.entrySet())
        {
            traces.add(pciTrace(device.getKey(), device.getValue(), comments));
        }
        return traces;
    }

    private static TransportTrace pciTrace(final String type, final List<long[]> raw, final List<String> comments)
    {
        // the common configuration starts the BAR and the driver reads its first field, so its lowest address,
        // rounded down to the page, is the BAR's base
        final long barBase = raw.stream().filter(a -> a[4] == 1).mapToLong(a -> a[1]).min().orElseThrow()
            & PAGE_MASK;
        // the driver's session starts at the reset that precedes its last ACKNOWLEDGE (virtio-v1.2 §3.1.1); a reset
        // after that (Linux resets the device at shutdown) stays in the trace
        int start = 0;
        int lastReset = 0;
        for (int i = 0; i < raw.size(); i++)
        {
            final long[] a = raw.get(i);
            if (a[0] == 1 && a[4] == 1 && a[1] - barBase == PCI_DEVICE_STATUS)
            {
                if (a[3] == 0)
                {
                    lastReset = i;
                }
                else if (a[3] == STATUS_ACKNOWLEDGE)
                {
                    start = lastReset;
                }
            }
        }
        final List<Access> accesses = new ArrayList<>();
        for (final long[] a : raw.subList(start, raw.size()))
        {
            accesses.add(new Access(a[0] == 1, a[1] - barBase, (int)a[2], a[3]));
        }
        final int deviceId = switch (type)
        {
            case "net" -> 1;
            case "blk" -> 2;
            default -> throw new IllegalArgumentException("unknown virtio-pci device in trace: type=" + type);
        };
        return new TransportTrace("pci", deviceId, accesses, comments);
    }

    private static long mask(final int size)
    {
        return size >= Long.BYTES ? -1L : (1L << (8 * size)) - 1;
    }
}
