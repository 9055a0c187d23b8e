package io.jvirtio.samples.guest;

import org.junit.jupiter.api.Assumptions;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;

/**
 * The guest a real-guest test boots: Debian's cloud kernel and an initramfs of busybox-static, the nine virtio
 * modules in load order, the static guest tools ({@code rawecho}) and an {@code /init} that runs a per-test script
 * (see {@link #initramfsWith}). Built once from the packages ({@code apt-get download}, {@code dpkg -x}) and cached
 * under {@code ${XDG_CACHE_HOME:-~/.cache}/jvirtio/guest/<key>}, the key naming both package versions and a hash of
 * everything else that goes in (init template, module list, tool sources), so a change to any of them builds anew.
 * Offline, the last kit built is used.
 * <p>
 * Where something is missing (apt, dpkg-deb, the packages), {@link #unavailable()} says so in one line and tests skip
 * with it. The guest tools need {@code gcc -static}; without it the kit is still available and
 * {@link #toolsUnavailable()} says why.
 * <p>
 * Thread safety: {@link #shared()} may be called from any thread; a kit is immutable once built.
 */
public final class GuestKit
{
    /** Debian's meta-package whose one dependency names the concrete cloud kernel package. */
    static final String KERNEL_META_PACKAGE = "linux-image-cloud-amd64";
    static final String BUSYBOX_PACKAGE = "busybox-static";
    /**
     * The virtio modules of Debian's 6.1 cloud kernel, in dependency order (real-guests.md): the ring, the bus, both
     * transports, the failover pair virtio_net needs, then the two drivers.
     */
    static final List<String> MODULES = List.of("virtio_ring", "virtio", "virtio_mmio", "virtio_pci_modern_dev",
        "virtio_pci_legacy_dev", "virtio_pci", "failover", "net_failover", "virtio_net", "virtio_blk");
    /** The guest tools compiled into the initramfs, from samples/src/test/guest. */
    static final List<String> TOOLS = List.of("rawecho");
    private static final String LATEST = "latest";
    private static final long COMMAND_TIMEOUT_SECONDS = 300;

    private static GuestKit shared;

    private final Path kernel;
    private final Path initramfs;
    private final String unavailable;
    private final String toolsUnavailable;
    private final String description;

    private GuestKit(final Path kernel, final Path initramfs, final String unavailable, final String toolsUnavailable,
        final String description)
    {
        this.kernel = kernel;
        this.initramfs = initramfs;
        this.unavailable = unavailable;
        this.toolsUnavailable = toolsUnavailable;
        this.description = description;
    }

    /**
     * For a guest test's {@code @BeforeEach}: skips the test, with the one line that says what is missing, unless
     * QEMU is installed and the kit is available (per test, since a class-level skip would hide the line).
     *
     * @return the shared kit.
     */
    public static GuestKit assumeAvailable()
    {
        final String noQemu = QemuGuest.unavailable();
        Assumptions.assumeTrue(noQemu == null, () -> "real-guest tier skipped: " + noQemu);
        final GuestKit kit = shared();
        Assumptions.assumeTrue(kit.unavailable() == null, () -> "real-guest tier skipped: guest kit unavailable: "
            + kit.unavailable());
        return kit;
    }

    /** @return the kit for this JVM, found in or built into the cache on first use. */
    public static synchronized GuestKit shared()
    {
        if (shared == null)
        {
            shared = build(cacheRoot(), sourceDirectory());
        }
        return shared;
    }

    /** @return {@code ${XDG_CACHE_HOME:-~/.cache}/jvirtio/guest}. */
    static Path cacheRoot()
    {
        final String xdg = System.getenv("XDG_CACHE_HOME");
        final Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg)
            : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("jvirtio").resolve("guest");
    }

    /** @return the guest tool sources: samples/src/test/guest of the module under test. */
    static Path sourceDirectory()
    {
        return Path.of(System.getProperty("basedir", ".")).resolve("src/test/guest");
    }

    /**
     * Finds the kit for the current packages in {@code cache}, or builds it there.
     *
     * @return the kit, or one whose {@link #unavailable()} says why there is none.
     */
    static GuestKit build(final Path cache, final Path sources)
    {
        try
        {
            final String template = resource("init.sh");
            final String hash = contentHash(template, sources);
            final Optional<String> kernelPackage = kernelPackage();
            final Optional<String> kernelVersion = kernelPackage.flatMap(GuestKit::candidateVersion);
            final Optional<String> busyboxVersion = candidateVersion(BUSYBOX_PACKAGE);
            if (kernelPackage.isEmpty() || kernelVersion.isEmpty() || busyboxVersion.isEmpty())
            {
                return fromLatest(cache, "apt does not know " + KERNEL_META_PACKAGE + " or " + BUSYBOX_PACKAGE);
            }
            final String key = (kernelPackage.get() + "_" + kernelVersion.get() + "+busybox_" + busyboxVersion.get()
                + "+" + hash).replaceAll("[^A-Za-z0-9._+-]", "_");
            final Path dir = cache.resolve(key);
            if (!Files.isRegularFile(dir.resolve("initramfs.cpio.gz")))
            {
                if (!onPath("dpkg-deb"))
                {
                    return unavailable("dpkg-deb is not installed");
                }
                Files.createDirectories(cache);
                final Path work = Files.createTempDirectory(cache, "build-");
                try
                {
                    assemble(work, kernelPackage.get(), template, sources);
                    moveInto(work, dir);
                }
                finally
                {
                    deleteTree(work);
                }
            }
            Files.writeString(cache.resolve(LATEST), key);
            return load(dir);
        }
        catch (final IOException | UncheckedIOException e)
        {
            return unavailable("could not build the guest kit: " + e.getMessage());
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return unavailable("interrupted while building the guest kit");
        }
    }

    private static GuestKit fromLatest(final Path cache, final String why) throws IOException
    {
        final Path latest = cache.resolve(LATEST);
        if (Files.isRegularFile(latest))
        {
            final Path dir = cache.resolve(Files.readString(latest).strip());
            if (Files.isRegularFile(dir.resolve("initramfs.cpio.gz")))
            {
                return load(dir);
            }
        }
        return unavailable(why + " and no guest kit is cached");
    }

    private static GuestKit load(final Path dir) throws IOException
    {
        final Path tools = dir.resolve("tools-unavailable");
        final String toolsWhy = Files.isRegularFile(tools) ? Files.readString(tools).strip() : null;
        return new GuestKit(dir.resolve("vmlinuz"), dir.resolve("initramfs.cpio.gz"), null, toolsWhy,
            dir.getFileName().toString());
    }

    private static GuestKit unavailable(final String why)
    {
        return new GuestKit(null, null, why, why, "unavailable");
    }

    /** Downloads and unpacks both packages into {@code work}, then writes vmlinuz and initramfs.cpio.gz there. */
    private static void assemble(final Path work, final String kernelPackage, final String template,
        final Path sources) throws IOException, InterruptedException
    {
        final Path debs = Files.createDirectories(work.resolve("debs"));
        final HostCommand.Result download = HostCommand.run(debs, COMMAND_TIMEOUT_SECONDS, "apt-get", "download", "-q",
            kernelPackage, BUSYBOX_PACKAGE);
        if (download.status() != 0)
        {
            throw new IOException("apt-get download failed: " + download.lastLine());
        }
        final Path root = Files.createDirectories(work.resolve("root"));
        try (Stream<Path> files = Files.list(debs))
        {
            for (final Path deb : files.filter(p -> p.toString().endsWith(".deb")).sorted().toList())
            {
                final HostCommand.Result unpack = HostCommand.run(work, COMMAND_TIMEOUT_SECONDS, "dpkg-deb", "-x",
                    deb.toString(), root.toString());
                if (unpack.status() != 0)
                {
                    throw new IOException("dpkg-deb -x failed: deb=" + deb.getFileName() + " " + unpack.lastLine());
                }
            }
        }
        final Path kernel = single(root.resolve("boot"), "vmlinuz-");
        Files.copy(kernel, work.resolve("vmlinuz"), StandardCopyOption.REPLACE_EXISTING);
        final Path busybox = root.resolve("bin/busybox");
        if (!Files.isExecutable(busybox))
        {
            throw new IOException("busybox-static has no bin/busybox");
        }
        final Path modules = single(root.resolve("lib/modules"), "");
        final String toolsWhy = compileTools(work, sources);
        if (toolsWhy != null)
        {
            Files.writeString(work.resolve("tools-unavailable"), toolsWhy + "\n");
        }
        try (OutputStream file = Files.newOutputStream(work.resolve("initramfs.cpio.gz"));
            CpioWriter cpio = new CpioWriter(new GZIPOutputStream(file)))
        {
            for (final String d : List.of("bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp",
                "lib", "lib/modules", "jv", "mnt"))
            {
                cpio.directory(d, 0755);
            }
            cpio.characterDevice("dev/console", 0600, 5, 1);
            cpio.characterDevice("dev/null", 0666, 1, 3);
            cpio.file("bin/busybox", 0755, Files.readAllBytes(busybox));
            for (final String applet : applets(work, busybox))
            {
                if (!applet.equals("bin/busybox"))
                {
                    cpio.symlink(applet, "/bin/busybox");
                }
            }
            for (final String module : MODULES)
            {
                cpio.file("lib/modules/" + module + ".ko", 0644, moduleBytes(modules, module));
            }
            for (final String tool : TOOLS)
            {
                final Path binary = work.resolve(tool);
                if (Files.isRegularFile(binary))
                {
                    cpio.file("bin/" + tool, 0755, Files.readAllBytes(binary));
                }
            }
            cpio.file("init", 0755, template.replace("@MODULES@", String.join(" ", MODULES))
                .getBytes(StandardCharsets.UTF_8));
        }
    }

    /** @return the applet paths busybox installs, e.g. {@code bin/sh}, {@code sbin/poweroff}. */
    private static List<String> applets(final Path work, final Path busybox) throws IOException, InterruptedException
    {
        final HostCommand.Result list = HostCommand.run(work, COMMAND_TIMEOUT_SECONDS, busybox.toString(),
            "--list-full");
        if (list.status() != 0)
        {
            throw new IOException("busybox --list-full failed: " + list.lastLine());
        }
        final List<String> applets = new ArrayList<>();
        for (final String line : list.output().split("\n"))
        {
            final String applet = line.strip();
            if (applet.matches("(bin|sbin|usr/bin|usr/sbin)/[A-Za-z0-9_.\\[\\]-]+"))
            {
                applets.add(applet);
            }
        }
        if (!applets.contains("bin/sh") || !applets.contains("sbin/insmod"))
        {
            throw new IOException("busybox lacks sh or insmod: applets=" + applets.size());
        }
        return applets;
    }

    /** A module as a plain .ko: Debian 6.1 ships them uncompressed; a .ko.xz is unpacked with xz. */
    private static byte[] moduleBytes(final Path modules, final String module) throws IOException,
        InterruptedException
    {
        try (Stream<Path> files = Files.walk(modules.resolve("kernel")))
        {
            final List<Path> found = files.filter(p ->
            {
                final String name = p.getFileName().toString();
                return name.equals(module + ".ko") || name.equals(module + ".ko.xz");
            }).toList();
            if (found.isEmpty())
            {
                throw new IOException("kernel package lacks a module: module=" + module);
            }
            final Path ko = found.getFirst();
            if (ko.toString().endsWith(".ko"))
            {
                return Files.readAllBytes(ko);
            }
            final HostCommand.Result xz = HostCommand.run(ko.getParent(), COMMAND_TIMEOUT_SECONDS, "xz", "-dk", "-f",
                ko.toString());
            if (xz.status() != 0)
            {
                throw new IOException("could not unpack a compressed module: module=" + module + " " + xz.lastLine());
            }
            return Files.readAllBytes(ko.resolveSibling(module + ".ko"));
        }
    }

    /** @return null when every tool compiled, else why not in one line. */
    private static String compileTools(final Path work, final Path sources) throws IOException, InterruptedException
    {
        if (!onPath("gcc"))
        {
            return "gcc is not installed";
        }
        for (final String tool : TOOLS)
        {
            final Path source = sources.resolve(tool + ".c");
            if (!Files.isRegularFile(source))
            {
                return "guest tool source is missing: tool=" + tool;
            }
            final HostCommand.Result cc = HostCommand.run(work, COMMAND_TIMEOUT_SECONDS, "gcc", "-static", "-O2", "-o",
                work.resolve(tool).toString(), source.toString());
            if (cc.status() != 0)
            {
                return "gcc -static failed (static libc missing?): " + cc.lastLine();
            }
        }
        return null;
    }

    private static Path single(final Path dir, final String prefix) throws IOException
    {
        try (Stream<Path> files = Files.list(dir))
        {
            return files.filter(p -> p.getFileName().toString().startsWith(prefix)).sorted().findFirst()
                .orElseThrow(() -> new IOException("package lacks an expected file: dir=" + dir.getFileName()
                    + " prefix=" + prefix));
        }
    }

    /** @return the package {@code linux-image-cloud-amd64} depends on, e.g. linux-image-6.1.0-56-cloud-amd64. */
    static Optional<String> kernelPackage() throws IOException, InterruptedException
    {
        if (!onPath("apt-cache"))
        {
            return Optional.empty();
        }
        final HostCommand.Result depends = HostCommand.run(Path.of("."), COMMAND_TIMEOUT_SECONDS, "apt-cache",
            "depends", KERNEL_META_PACKAGE);
        return depends.status() != 0 ? Optional.empty() : parseKernelDependency(depends.output());
    }

    /** @return the first {@code Depends: linux-image-...} of {@code apt-cache depends} output. */
    static Optional<String> parseKernelDependency(final String aptCacheDepends)
    {
        for (final String line : aptCacheDepends.split("\n"))
        {
            final String s = line.strip();
            if (s.startsWith("Depends: linux-image-"))
            {
                return Optional.of(s.substring("Depends: ".length()).strip());
            }
        }
        return Optional.empty();
    }

    private static Optional<String> candidateVersion(final String pkg)
    {
        try
        {
            final HostCommand.Result policy = HostCommand.run(Path.of("."), COMMAND_TIMEOUT_SECONDS, "apt-cache",
                "policy", pkg);
            for (final String line : policy.output().split("\n"))
            {
                final String s = line.strip();
                if (s.startsWith("Candidate:") && !s.endsWith("(none)"))
                {
                    return Optional.of(s.substring("Candidate:".length()).strip());
                }
            }
            return Optional.empty();
        }
        catch (final IOException e)
        {
            return Optional.empty();
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private static String contentHash(final String template, final Path sources) throws IOException
    {
        try
        {
            final MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(template.getBytes(StandardCharsets.UTF_8));
            sha.update(String.join(" ", MODULES).getBytes(StandardCharsets.UTF_8));
            for (final String tool : TOOLS)
            {
                final Path source = sources.resolve(tool + ".c");
                if (Files.isRegularFile(source))
                {
                    sha.update(Files.readAllBytes(source));
                }
            }
            return HexFormat.of().formatHex(sha.digest(), 0, 6);
        }
        catch (final NoSuchAlgorithmException e)
        {
            throw new IllegalStateException("sha-256 missing from the jdk", e);
        }
    }

    private static String resource(final String name) throws IOException
    {
        try (InputStream in = GuestKit.class.getResourceAsStream(name))
        {
            if (in == null)
            {
                throw new IOException("guest kit resource missing: name=" + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static boolean onPath(final String program)
    {
        final String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (final String dir : path.split(":"))
        {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program)))
            {
                return true;
            }
        }
        return false;
    }

    private static void moveInto(final Path work, final Path dir) throws IOException
    {
        final Path staged = Files.createDirectories(work.resolve("kit"));
        for (final String name : List.of("vmlinuz", "initramfs.cpio.gz", "tools-unavailable"))
        {
            if (Files.exists(work.resolve(name)))
            {
                Files.move(work.resolve(name), staged.resolve(name));
            }
        }
        try
        {
            Files.move(staged, dir, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (final FileAlreadyExistsException | AtomicMoveNotSupportedException e)
        {
            // another build finished first with the same content, or the cache is on a file system without renames
            if (!Files.isRegularFile(dir.resolve("initramfs.cpio.gz")))
            {
                throw e;
            }
        }
        catch (final IOException e)
        {
            if (!Files.isRegularFile(dir.resolve("initramfs.cpio.gz")))
            {
                throw e;
            }
        }
    }

    private static void deleteTree(final Path dir) throws IOException
    {
        if (!Files.exists(dir))
        {
            return;
        }
        try (Stream<Path> files = Files.walk(dir))
        {
            for (final Path p : files.sorted(Comparator.reverseOrder()).toList())
            {
                Files.deleteIfExists(p);
            }
        }
    }

    /**
     * The initramfs for one test: the kit's archive followed by a second gzip'd cpio archive holding the test's
     * script as {@code /jv/test.sh}, which {@code /init} runs after the modules are loaded.
     *
     * @return the file written, in {@code dir}.
     */
    public Path initramfsWith(final Path dir, final String script) throws IOException
    {
        requireAvailable();
        final ByteArrayOutputStream extra = new ByteArrayOutputStream();
        try (CpioWriter cpio = new CpioWriter(new GZIPOutputStream(extra)))
        {
            cpio.directory("jv", 0755);
            cpio.file("jv/test.sh", 0755, script.getBytes(StandardCharsets.UTF_8));
        }
        final Path file = dir.resolve("initramfs-test.cpio.gz");
        try (OutputStream out = Files.newOutputStream(file))
        {
            Files.copy(initramfs, out);
            out.write(extra.toByteArray());
        }
        return file;
    }

    private void requireAvailable()
    {
        if (unavailable != null)
        {
            throw new IllegalStateException("guest kit unavailable: why=" + unavailable);
        }
    }

    /** @return null when the kit is usable, else why not in one line. */
    public String unavailable()
    {
        return unavailable;
    }

    /** @return null when the guest tools (rawecho) are in the initramfs, else why not in one line. */
    public String toolsUnavailable()
    {
        return toolsUnavailable;
    }

    /** @return the kernel image. */
    public Path kernel()
    {
        requireAvailable();
        return kernel;
    }

    /** @return the cache key (package versions and content hash), or "unavailable". */
    @Override
    public String toString()
    {
        return description;
    }
}
