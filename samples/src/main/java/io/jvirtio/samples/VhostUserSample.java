package io.jvirtio.samples;

import io.jvirtio.blk.BlockDevice;
import io.jvirtio.blk.BlockDeviceConfig;
import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.blk.backend.BlockBackend;
import io.jvirtio.blk.backend.FileBlockBackend;
import io.jvirtio.blk.backend.MemoryBlockBackend;
import io.jvirtio.bus.event.IdleStrategy;
import io.jvirtio.bus.linux.Libc;
import io.jvirtio.net.NetConfig;
import io.jvirtio.net.NetDevice;
import io.jvirtio.net.backend.NetBackend;
import io.jvirtio.net.backend.NetBackendChoice;
import io.jvirtio.net.backend.UdpBackend;
import io.jvirtio.samples.cli.IdleOption;
import io.jvirtio.samples.cli.Json;
import io.jvirtio.virtio.VirtioDevice;
import io.jvirtio.virtio.vhostuser.VhostUserBackend;
import io.jvirtio.virtio.vhostuser.VhostUserCounter;
import io.jvirtio.virtio.vhostuser.VhostUserCounters;
import io.jvirtio.virtio.vhostuser.VhostUserRequest;
import io.jvirtio.virtio.vhostuser.VhostUserServer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Serves one device to a vhost-user front-end such as QEMU: virtio-net with any of the network backends, or
 * virtio-blk on a file image or in memory. It listens at {@code --socket} (or connects to a front-end listening
 * there with {@code --connect}), prints one line per connection with the negotiated features, and serves until
 * killed (or for {@code --seconds}), accepting the next connection whenever the front-end goes away.
 * <p>
 * Thread safety: a command object; run once on the main thread, which waits while the server thread serves.
 */
@Command(name = "vhost-user", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Serves a virtio-net or virtio-blk device to a vhost-user front-end such as QEMU",
        "over a Unix socket; prints one line per connection; serves until killed.",
        "QEMU's side (microvm, virtio-mmio 1.x; the README has the whole command line):",
        "  -M microvm,memory-backend=mem -global virtio-mmio.force-legacy=false",
        "  -object memory-backend-memfd,id=mem,size=256M,share=on",
        "  -chardev socket,id=c,path=SOCK",
        "  -netdev vhost-user,id=n,chardev=c -device virtio-net-device,netdev=n",
        "  (blk: -device vhost-user-blk,chardev=c)"})
public final class VhostUserSample implements Callable<Integer>
{
    /**
     * The largest ring the device accepts: QEMU's VIRTQUEUE_MAX_SIZE. The front-end, not the device, picks the ring
     * size under vhost-user: QEMU's virtio-mmio offers 1024 as QueueNumMax and Linux takes all of it.
     */
    private static final int FRONT_END_MAX_RING = 1024;

    @Option(names = "--socket", required = true, paramLabel = "PATH", description = "the Unix socket's path")
    Path socket;

    @Option(names = "--connect", description = "connect to a front-end listening at --socket (QEMU server=on) "
        + "instead of listening")
    boolean connect;

    @Option(names = "--device", description = "net or blk (default: ${DEFAULT-VALUE})")
    String device = "net";

    @Option(names = "--backend", description = "net: " + NetBackendChoice.NAMES + " (default: ${DEFAULT-VALUE}); "
        + "responder answers ARP and ping for " + NetBackendChoice.RESPONDER_IP + ", udp binds loopback")
    String backend = "echo";

    @Option(names = "--queue-pairs", description = "net: queue pairs, 1 to 8 (default: ${DEFAULT-VALUE})")
    int queuePairs = 1;

    @Option(names = "--file", paramLabel = "PATH", description = "blk: the image file (must exist)")
    Path file;

    @Option(names = "--read-only", description = "blk: open the image read-only (VIRTIO_BLK_F_RO)")
    boolean readOnly;

    @Option(names = "--memory", paramLabel = "SIZE", description = "blk: an in-memory disk of SIZE bytes (K, M, G "
        + "suffixes), instead of --file")
    String memory;

    @Option(names = "--num-queues", description = "blk: request queues, 1 to 8 (default: ${DEFAULT-VALUE})")
    int numQueues = 1;

    @Option(names = "--idle", description = "worker idle strategy: spin, backoff or park (default: ${DEFAULT-VALUE})")
    String idle = "backoff";

    @Option(names = "--seconds", description = "stop after this many seconds; 0 serves until killed "
        + "(default: ${DEFAULT-VALUE})")
    int seconds;

    @Option(names = "--trace", description = "print every message the front-end sends")
    boolean trace;

    @Option(names = "--json", description = "print one JSON object as the last line when the server stops")
    boolean json;

    @Spec
    CommandSpec spec;

    private CommandLine.ParameterException bad(final String message)
    {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    /** Parses a byte count with an optional K, M or G suffix (powers of 1024). */
    static long parseSize(final String text)
    {
        final String t = text.strip().toUpperCase(Locale.ROOT);
        final char last = t.isEmpty() ? '0' : t.charAt(t.length() - 1);
        final int shift = switch (last)
        {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            default -> 0;
        };
        final String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
        return Math.multiplyExact(Long.parseLong(digits), 1L << shift);
    }

    private NetBackend netBackend()
    {
        try
        {
            return NetBackendChoice.parse(backend);
        }
        catch (final IllegalArgumentException ex)
        {
            throw bad("--backend: " + ex.getMessage());
        }
    }

    private BlockBackend blockBackend() throws IOException
    {
        if ((file == null) == (memory == null))
        {
            throw bad("blk takes exactly one of --file PATH or --memory SIZE");
        }
        if (file != null)
        {
            return FileBlockBackend.open(file, readOnly, "jvirtio-vhost-user");
        }
        final long bytes;
        try
        {
            bytes = parseSize(memory);
        }
        catch (final RuntimeException ex)
        {
            throw bad("--memory must be a size such as 64M, not '" + memory + "'");
        }
        if (bytes < VirtioBlk.SECTOR_SIZE || bytes % VirtioBlk.SECTOR_SIZE != 0)
        {
            throw bad("--memory must be a positive multiple of 512 bytes: " + memory);
        }
        return new MemoryBlockBackend(bytes / VirtioBlk.SECTOR_SIZE, readOnly, "jvirtio-vhost-user");
    }

    @Override
    public Integer call() throws IOException, InterruptedException
    {
        final PrintWriter out = spec.commandLine().getOut();
        if (!Libc.isAvailable())
        {
            spec.commandLine().getErr().println("jvirtio vhost-user: " + Libc.unavailableReason());
            return 1;
        }
        if (seconds < 0 || queuePairs < 1 || queuePairs > 8 || numQueues < 1 || numQueues > 8)
        {
            throw bad("--seconds must not be negative, --queue-pairs and --num-queues 1 to 8");
        }
        final IdleStrategy idleStrategy = IdleOption.parse(spec.commandLine(), idle);
        final VirtioDevice served;
        final int rings;
        final int minRings;
        final String description;
        switch (device)
        {
            case "net" ->
            {
                final NetBackend net = netBackend();
                final NetConfig config = NetConfig.defaults().withQueuePairs(queuePairs)
                    .withQueueSize(FRONT_END_MAX_RING);
                served = new NetDevice(config, net, idleStrategy);
                rings = 2 * queuePairs;
                minRings = 2;
                description = "net, backend " + backend + (net instanceof UdpBackend udp
                    ? " on " + udp.localAddress() : "");
            }
            case "blk" ->
            {
                final BlockBackend disk = blockBackend();
                final BlockDeviceConfig config = BlockDeviceConfig.defaults().withNumQueues(numQueues)
                    .withQueueSize(FRONT_END_MAX_RING, FRONT_END_MAX_RING - 2);
                served = new BlockDevice(disk, config);
                rings = numQueues;
                minRings = 1;
                description = "blk, " + (file != null ? "file " + file : "memory") + ", "
                    + disk.capacity() * VirtioBlk.SECTOR_SIZE + " bytes" + (readOnly ? ", read-only" : "");
            }
            default -> throw bad("--device must be net or blk, not '" + device + "'");
        }
        final VhostUserCounters counters = new VhostUserCounters();
        final VhostUserBackend vhost = new VhostUserBackend(served, rings, minRings, counters);
        final Map<String, Object> last = new LinkedHashMap<>();
        final VhostUserServer.Listener listener = new VhostUserServer.Listener()
        {
            @Override
            public void connected(final int connection)
            {
                out.printf("connection %d: front-end connected%n", connection);
                out.flush();
            }

            @Override
            public void message(final int connection, final int request, final int size, final int fds)
            {
                if (trace)
                {
                    out.printf("connection %d: %s size %d fds %d%n", connection, VhostUserRequest.name(request), size,
                        fds);
                    out.flush();
                }
            }

            @Override
            public void activated(final int connection, final long features, final long protocolFeatures)
            {
                out.printf("connection %d: device running, features 0x%x, protocol features 0x%x%n", connection,
                    features, protocolFeatures);
                out.flush();
                synchronized (last)
                {
                    last.put("features", "0x" + Long.toHexString(features));
                    last.put("protocol_features", "0x" + Long.toHexString(protocolFeatures));
                }
            }

            @Override
            public void disconnected(final int connection, final String reason)
            {
                out.printf("connection %d: closed%s%n", connection, reason == null ? " by the front-end"
                    : ": " + reason);
                out.flush();
            }
        };
        final VhostUserServer server = connect
            ? VhostUserServer.connect(vhost, socket, listener)
            : VhostUserServer.listen(vhost, socket, listener);
        final CountDownLatch stopped = new CountDownLatch(1);
        final Thread hook = new Thread(() -> finish(server, counters, last, out, stopped), "vhost-user-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        out.printf("vhost-user: %s, %s %s, %d rings%n", description, connect ? "connecting to" : "listening at",
            socket, rings);
        out.flush();
        server.start();
        if (seconds > 0)
        {
            stopped.await(seconds, TimeUnit.SECONDS);
        }
        else
        {
            stopped.await();
        }
        if (stopped.getCount() != 0)
        {
            Runtime.getRuntime().removeShutdownHook(hook);
            finish(server, counters, last, out, stopped);
        }
        return 0;
    }

    private void finish(final VhostUserServer server, final VhostUserCounters counters,
        final Map<String, Object> last, final PrintWriter out, final CountDownLatch stopped)
    {
        server.close();
        out.printf("vhost-user: stopped; %s%n", counters);
        if (json)
        {
            final Map<String, Object> top = new LinkedHashMap<>();
            top.put("device", device);
            top.put("socket", socket.toString());
            top.put("connections", counters.get(VhostUserCounter.CONNECTIONS));
            synchronized (last)
            {
                top.putAll(last);
            }
            final Map<String, Object> errors = new LinkedHashMap<>();
            for (final VhostUserCounter counter : VhostUserCounter.values())
            {
                errors.put(counter.name().toLowerCase(Locale.ROOT), counters.get(counter));
            }
            top.put("counters", errors);
            out.println(Json.write(top));
        }
        out.flush();
        stopped.countDown();
    }
}
