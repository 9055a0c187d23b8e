package io.jvirtio.samples.guest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One QEMU guest boot for a real-guest test: the command line (QEMU 7.2 under TCG as real-guests.md records it),
 * the devices, and a run that captures the serial console and parses its {@code JV-RESULT key=value} lines.
 * <p>
 * The machines: {@link Machine#MICROVM} with virtio-mmio forced to virtio 1.x ({@code force-legacy=false}; QEMU 7.2
 * defaults microvm's virtio-mmio to legacy), and {@link Machine#Q35} with modern-only virtio-pci devices on INTx
 * ({@code disable-legacy=on,vectors=0}: TCG + vhost-user + MSI-X crashes QEMU 7.2). Guest RAM is always a shared
 * memfd, which vhost-user needs and the built-in devices do not mind.
 * <p>
 * Thread safety: a builder; build and run it on one thread.
 */
public final class QemuGuest
{
    /** The QEMU binary the tier runs. */
    public static final String QEMU = "qemu-system-x86_64";
    private static final String RESULT_PREFIX = "JV-RESULT ";
    private static final int TAIL_LINES = 40;

    /** The two machines the tier boots. */
    public enum Machine
    {
        /** microvm: virtio-mmio devices found through ACPI, qboot firmware. */
        MICROVM,
        /** q35: virtio-pci devices behind SeaBIOS. */
        Q35
    }

    private final Machine machine;
    private final List<String> devices = new ArrayList<>();
    private Duration timeout = Duration.ofSeconds(60);
    private int nextId;

    private QemuGuest(final Machine machine)
    {
        this.machine = machine;
    }

    /** @return a guest on {@code machine} with no devices yet. */
    public static QemuGuest on(final Machine machine)
    {
        return new QemuGuest(machine);
    }

    /** @return null when QEMU is installed, else why the tier cannot run, in one line. */
    public static String unavailable()
    {
        return GuestKit.onPath(QEMU) ? null : QEMU + " is not installed (apt-get install qemu-system-x86)";
    }

    /** @return the first line QEMU prints for {@code --version}, or "unknown" if it cannot be run. */
    public static String version()
    {
        try
        {
            final Process process = new ProcessBuilder(QEMU, "--version").redirectErrorStream(true).start();
            final String first = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
                .lines().findFirst().orElse("unknown");
            process.waitFor(10, TimeUnit.SECONDS);
            return first;
        }
        catch (final IOException e)
        {
            return "unknown";
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    /** @return the transport's form of a virtio device: {@code virtio-net} becomes virtio-net-device or -pci. */
    private String virtioDevice(final String type, final String properties)
    {
        return switch (machine)
        {
            case MICROVM -> type + "-device," + properties;
            case Q35 -> type + "-pci," + properties + ",disable-legacy=on,vectors=0";
            default -> throw new IllegalStateException("unknown machine: machine=" + machine);
        };
    }

    /** QEMU's user-mode network (slirp): gateway 10.0.2.2, DHCP hands out 10.0.2.15. */
    public QemuGuest netUser()
    {
        return netUser("");
    }

    /**
     * {@link #netUser()} with more virtio-net device properties.
     *
     * @param properties comma-separated, each with a leading comma ({@code ",csum=off,mq=off"}), or "".
     */
    public QemuGuest netUser(final String properties)
    {
        final String id = "n" + nextId++;
        devices.addAll(List.of("-netdev", "user,id=" + id, "-device",
            virtioDevice("virtio-net", "netdev=" + id + properties)));
        return this;
    }

    /**
     * QEMU's datagram network: every frame the guest sends goes as one UDP datagram to {@code 127.0.0.1:hostPort},
     * and every datagram arriving at {@code 127.0.0.1:qemuPort} is a frame for the guest.
     */
    public QemuGuest netUdp(final int qemuPort, final int hostPort)
    {
        final String id = "n" + nextId++;
        devices.addAll(List.of("-netdev", "socket,id=" + id + ",udp=127.0.0.1:" + hostPort
            + ",localaddr=127.0.0.1:" + qemuPort, "-device", virtioDevice("virtio-net", "netdev=" + id)));
        return this;
    }

    /** A virtio-net device whose data path is a vhost-user back-end listening on {@code socket}. */
    public QemuGuest netVhostUser(final Path socket)
    {
        final String id = "n" + nextId++;
        devices.addAll(List.of("-chardev", "socket,id=c" + id + ",path=" + socket,
            "-netdev", "vhost-user,id=" + id + ",chardev=c" + id,
            "-device", virtioDevice("virtio-net", "netdev=" + id)));
        return this;
    }

    /** QEMU's own virtio-blk on a raw image file. */
    public QemuGuest blkFile(final Path image, final boolean readOnly)
    {
        return blkFile(image, readOnly, "");
    }

    /**
     * {@link #blkFile(Path, boolean)} with more virtio-blk device properties.
     *
     * @param properties comma-separated, each with a leading comma, or "".
     */
    public QemuGuest blkFile(final Path image, final boolean readOnly, final String properties)
    {
        final String id = "d" + nextId++;
        devices.addAll(List.of("-drive", "file=" + image + ",format=raw,if=none,id=" + id
            + (readOnly ? ",readonly=on" : ""), "-device", virtioDevice("virtio-blk", "drive=" + id + properties)));
        return this;
    }

    /**
     * Records every access to every device register QEMU emulates ({@code -trace memory_region_ops_*}) into
     * {@code log}: with the region's name, enough to extract each virtio device's register accesses
     * ({@code TransportTrace.fromQemuLog}).
     */
    public QemuGuest traceRegisterAccesses(final Path log)
    {
        devices.addAll(List.of("-trace", "memory_region_ops_*,file=" + log));
        return this;
    }

    /** A virtio-blk device served by a vhost-user back-end listening on {@code socket}. */
    public QemuGuest blkVhostUser(final Path socket)
    {
        final String id = "c" + nextId++;
        devices.addAll(List.of("-chardev", "socket,id=" + id + ",path=" + socket, "-device",
            machine == Machine.MICROVM ? "vhost-user-blk,chardev=" + id
                : "vhost-user-blk-pci,chardev=" + id + ",disable-legacy=on,vectors=0"));
        return this;
    }

    /** @param limit how long the boot may take before it is killed and the test fails (a failure timeout). */
    public QemuGuest timeout(final Duration limit)
    {
        this.timeout = limit;
        return this;
    }

    /**
     * The guest's TSC rate as a kernel parameter. Under TCG the guest's TSC runs at the host's rate, and on a loaded
     * host the kernel's calibration against the PIT fails; microvm has no HPET or ACPI PM timer to fall back on, and
     * the boot then stops after "tsc: Marking TSC unstable". Telling the kernel the rate skips the calibration.
     *
     * @return {@code " tsc_early_khz=N"} from the host's /proc/cpuinfo, or "" if it does not say.
     */
    static String tscKhz()
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/cpuinfo")))
            {
                if (line.startsWith("cpu MHz"))
                {
                    final double mhz = Double.parseDouble(line.substring(line.indexOf(':') + 1).strip());
                    return mhz >= 1 ? " tsc_early_khz=" + Math.round(mhz * 1000) : "";
                }
            }
            return "";
        }
        catch (final IOException | NumberFormatException e)
        {
            return "";
        }
    }

    /** @return the whole QEMU command line for the kernel and initramfs given. */
    public List<String> commandLine(final Path kernel, final Path initramfs)
    {
        final List<String> line = new ArrayList<>(List.of(QEMU,
            "-M", machine == Machine.MICROVM ? "microvm,memory-backend=mem" : "q35,memory-backend=mem",
            "-accel", "tcg", "-m", "256M", "-smp", "1", "-nodefaults", "-no-user-config", "-no-reboot",
            "-serial", "stdio", "-display", "none",
            "-object", "memory-backend-memfd,id=mem,size=256M,share=on",
            "-kernel", kernel.toString(), "-initrd", initramfs.toString(),
            "-append", "console=ttyS0 panic=-1 quiet" + tscKhz()));
        if (machine == Machine.MICROVM)
        {
            line.addAll(List.of("-global", "virtio-mmio.force-legacy=false"));
        }
        line.addAll(devices);
        return line;
    }

    /**
     * Boots the kit's kernel with its initramfs plus {@code script} as the test, waits for the guest to power off
     * (or the timeout), and prints the transcript to standard output.
     *
     * @param dir where the per-test initramfs goes (a test's temporary directory).
     */
    public Run run(final GuestKit kit, final Path dir, final String script) throws IOException, InterruptedException
    {
        final List<String> command = commandLine(kit.kernel(), kit.initramfsWith(dir, script));
        final long started = System.nanoTime();
        final Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        process.getOutputStream().close();
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final Thread reader = Thread.ofVirtual().start(() ->
        {
            try (InputStream in = process.getInputStream())
            {
                in.transferTo(out);
            }
            catch (final IOException e)
            {
                // QEMU went away: what was read so far is the transcript
            }
        });
        final boolean exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (!exited)
        {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        reader.join(TimeUnit.SECONDS.toMillis(10));
        final long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        final String transcript = out.toString(StandardCharsets.UTF_8);
        final Run run = new Run(exited ? process.exitValue() : -1, !exited, transcript, parse(transcript), millis);
        System.out.println("qemu: " + String.join(" ", command));
        System.out.println("guest transcript (" + millis + " ms" + (exited ? "" : ", timed out") + "):");
        System.out.println(transcript);
        return run;
    }

    /** @return the key=value pairs of every {@code JV-RESULT} line, a later value replacing an earlier one. */
    static Map<String, String> parse(final String transcript)
    {
        final Map<String, String> results = new LinkedHashMap<>();
        for (final String raw : transcript.split("\n"))
        {
            final String line = raw.strip();
            final int at = line.indexOf(RESULT_PREFIX);
            if (at < 0)
            {
                continue;
            }
            for (final String pair : line.substring(at + RESULT_PREFIX.length()).trim().split("\\s+"))
            {
                final int eq = pair.indexOf('=');
                if (eq > 0)
                {
                    results.put(pair.substring(0, eq), pair.substring(eq + 1));
                }
            }
        }
        return Collections.unmodifiableMap(results);
    }

    /**
     * What one boot did.
     *
     * @param exitStatus QEMU's exit status (0 after the guest's {@code poweroff -f}), -1 after the timeout.
     * @param timedOut   whether the failure timeout killed it.
     * @param transcript the serial console and QEMU's own messages.
     * @param results    the guest's {@code JV-RESULT} pairs.
     * @param millis     wall-clock time from QEMU's start to its exit, for the report only.
     */
    public record Run(int exitStatus, boolean timedOut, String transcript, Map<String, String> results, long millis)
    {
        /** @return the last lines of the transcript, for a failure message. */
        public String tail()
        {
            final String[] lines = transcript.split("\n");
            final int from = Math.max(0, lines.length - TAIL_LINES);
            return "guest transcript tail:\n" + String.join("\n", List.of(lines).subList(from, lines.length));
        }

        /** @return the guest's value for {@code key}, or null. */
        public String value(final String key)
        {
            return results.get(key);
        }

        /**
         * Checks that the guest booted, loaded every module, ran its script to the end and powered off.
         *
         * @throws AssertionError with the transcript's tail otherwise.
         */
        public Run assertCompleted()
        {
            if (timedOut || exitStatus != 0 || !"ok".equals(value("boot"))
                || !String.valueOf(GuestKit.MODULES.size()).equals(value("modules")) || value("exit") == null)
            {
                throw new AssertionError("guest did not complete: timedOut=" + timedOut + " exitStatus="
                    + exitStatus + " results=" + results + "\n" + tail());
            }
            return this;
        }
    }
}
