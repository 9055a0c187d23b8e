package io.jvirtio.samples;

import io.jvirtio.bus.event.IdleStrategy;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.stats.ExitPath;
import io.jvirtio.bus.stats.ExitStatsTable;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.net.ControlLayout;
import io.jvirtio.net.NetConfig;
import io.jvirtio.net.NetDevice;
import io.jvirtio.net.NetFeatures;
import io.jvirtio.net.backend.EchoBackend;
import io.jvirtio.net.backend.NetBackend;
import io.jvirtio.net.capture.CapturingBackend;
import io.jvirtio.net.driver.NetQueuePairDriver;
import io.jvirtio.samples.bench.ThreadAllocations;
import io.jvirtio.samples.cli.IdleOption;
import io.jvirtio.samples.cli.Json;
import io.jvirtio.samples.cli.TransportOption;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.driver.VirtioDriver;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.machine.VirtioMachine;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import static io.jvirtio.virtio.VirtioFeatures.bit;

/**
 * The echo sample, jvirtio's main job: a VM with one virtio-net device whose backend sends every transmitted frame
 * straight back, and the guest driver sending N frames of size S through it, checking every echoed frame byte for byte
 * and in order on its queue pair. Every kick is a real exit; the sample prints how each was handled.
 * <p>
 * Thread safety: a command object; run once on the main thread, which plays the guest.
 */
@Command(name = "echo", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"A virtio-net device with the echo backend, driven by the guest driver: N frames of size S go out",
        "and come back, each checked byte for byte and in order. Prints packets/s, Gbit/s, kicks and interrupts",
        "per packet, how the kicks were handled (fast MMIO, emulated, PIO) and the exit statistics."})
public final class EchoSample implements Callable<Integer>
{
    static final int QUEUE_SIZE = 256;
    private static final int RX_BUFFER = 2048;
    private static final int ETHERNET_HEADER = 14;
    private static final int SEQUENCE_OFFSET = ETHERNET_HEADER;
    private static final int PAYLOAD_OFFSET = SEQUENCE_OFFSET + Long.BYTES;
    /** An EtherType from the IEEE local experimental range: the frames are the sample's own. */
    static final short ETHERTYPE = (short)0x88B5;
    static final long DEVICE_MAC = 0x52_54_00_12_34_56L;
    static final int SPINS_BEFORE_HALT = 4096;
    private static final ValueLayout.OfLong LONG_BE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort SHORT_BE =
        ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    @Option(names = "--frames", description = "frames to send (default: ${DEFAULT-VALUE})")
    long frames = 1_000_000;

    @Option(names = "--size", description = "frame size in bytes, 60 to 1514 (default: ${DEFAULT-VALUE})")
    int size = 256;

    @Option(names = "--queue-pairs", description = "queue pairs, 1 to 8 (default: ${DEFAULT-VALUE})")
    int queuePairs = 1;

    @Option(names = "--transport", description = "pci, mmio or mmio-datamatch (default: ${DEFAULT-VALUE})")
    String transport = "pci";

    @Option(names = "--idle", description = "worker idle strategy: spin, backoff or park (default: ${DEFAULT-VALUE})")
    String idle = "backoff";

    @Option(names = "--event-idx", negatable = true, description = "negotiate EVENT_IDX (default: ${DEFAULT-VALUE})")
    boolean eventIdx = true;

    @Option(names = "--mergeable", negatable = true,
        description = "negotiate MRG_RXBUF (default: ${DEFAULT-VALUE})")
    boolean mergeable = true;

    @Option(names = "--capture", paramLabel = "DIR",
        description = "record every frame both ways (with its virtio_net_hdr) into a Chronicle Queue in DIR")
    Path capture;

    @Option(names = "--json", description = "print one JSON object as the last line")
    boolean json;

    @Spec
    CommandSpec spec;

    private PrintWriter out;

    /**
     * What one echo run measured.
     *
     * @param frames     frames echoed in the measured phase.
     * @param seconds    its length.
     * @param lost       frames sent that never came back.
     * @param duplicated frames that came back twice.
     * @param reordered  frames that came back ahead of an earlier one on their pair.
     * @param corrupted  frames that came back with other bytes, another length, or on another pair.
     * @param kicks      notifications the guest sent.
     * @param interrupts interrupts the guest took.
     * @param allocated  bytes allocated by the guest thread and the device's workers.
     * @param fastMmio   kicks the FAST_MMIO bus took.
     * @param emulated   kicks that were emulated (decoded) to an in-kernel device.
     * @param pio        kicks that were port I/O.
     * @param exitTable  the exit statistics, as {@code kvm_stat} prints them.
     */
    public record Result(long frames, double seconds, long lost, long duplicated, long reordered, long corrupted,
        long kicks, long interrupts, long allocated, long fastMmio, long emulated, long pio, String exitTable)
    {
        public double pps()
        {
            return frames / seconds;
        }

        public boolean clean()
        {
            return lost == 0 && duplicated == 0 && reordered == 0 && corrupted == 0;
        }
    }

    private CommandLine.ParameterException bad(final String message)
    {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    /** Fills the frame with its sequence number: MACs, EtherType, the sequence, then bytes derived from it. */
    private static void buildFrame(final MemorySegment frame, final int length, final long sequence)
    {
        frame.set(LONG_BE, 0, DEVICE_MAC << 16);
        frame.set(SHORT_BE, 12, ETHERTYPE);
        frame.set(LONG_BE, SEQUENCE_OFFSET, sequence);
        for (int i = PAYLOAD_OFFSET; i < length; i++)
        {
            frame.set(ValueLayout.JAVA_BYTE, i, (byte)(sequence * 31 + i));
        }
    }

    /** @return true if {@code frame} is exactly what {@link #buildFrame} made for {@code sequence}. */
    private static boolean intact(final MemorySegment frame, final int length, final long sequence)
    {
        if (frame.get(LONG_BE, SEQUENCE_OFFSET) != sequence)
        {
            return false;
        }
        for (int i = PAYLOAD_OFFSET; i < length; i++)
        {
            if (frame.get(ValueLayout.JAVA_BYTE, i) != (byte)(sequence * 31 + i))
            {
                return false;
            }
        }
        return true;
    }

    @Override
    public Integer call() throws InterruptedException
    {
        out = spec.commandLine().getOut();
        if (frames < 1 || size < 60 || size > 1514 || queuePairs < 1 || queuePairs > 8)
        {
            throw bad("--frames must be positive, --size 60 to 1514, --queue-pairs 1 to 8");
        }
        final TransportKind kind = TransportOption.parse(spec.commandLine(), transport);
        final IdleStrategy idleStrategy = IdleOption.parse(spec.commandLine(), idle);
        final EchoBackend echoBackend = EchoBackend.plain();
        final Result r;
        final CapturingBackend capturing = capture == null ? null : CapturingBackend.open(echoBackend, capture, true);
        try
        {
            if (capturing != null)
            {
                out.printf("capture: %s%n", capture.toAbsolutePath());
            }
            r = measure(frames, size, queuePairs, kind, idleStrategy, capturing == null ? echoBackend : capturing,
                eventIdx, mergeable, out);
        }
        finally
        {
            if (capturing != null)
            {
                // after the machine is closed: the device has been reset and no worker writes any more
                capturing.close();
            }
        }
        final double gbps = r.pps() * size * 8 / 1e9;
        out.println();
        out.printf(Locale.ROOT, "frames %d (%d bytes each way) in %.2f s: %.0f packets/s, %.3f Gbit/s%n",
            r.frames(), r.frames() * size, r.seconds(), r.pps(), gbps);
        out.printf("lost %d, duplicated %d, reordered %d, corrupted %d%n", r.lost(), r.duplicated(), r.reordered(),
            r.corrupted());
        out.printf(Locale.ROOT, "kicks per packet %.4f, interrupts per packet %.4f, bytes allocated per packet "
            + "%.3f%n", (double)r.kicks() / r.frames(), (double)r.interrupts() / r.frames(),
            (double)r.allocated() / r.frames());
        out.printf("kicks handled: fast MMIO %d, emulated MMIO %d, PIO %d%n", r.fastMmio(), r.emulated(), r.pio());
        out.println();
        out.print(r.exitTable());
        out.flush();
        if (json)
        {
            final Map<String, Object> paths = new LinkedHashMap<>();
            paths.put("fast_mmio", r.fastMmio());
            paths.put("emulated", r.emulated());
            paths.put("pio", r.pio());
            final Map<String, Object> top = new LinkedHashMap<>();
            top.put("frames", r.frames());
            top.put("bytes", r.frames() * size);
            top.put("lost", r.lost());
            top.put("duplicated", r.duplicated());
            top.put("reordered", r.reordered());
            top.put("corrupted", r.corrupted());
            top.put("pps", r.pps());
            top.put("gbps", gbps);
            top.put("kicks_per_packet", (double)r.kicks() / r.frames());
            top.put("interrupts_per_packet", (double)r.interrupts() / r.frames());
            top.put("alloc_bytes_per_packet", (double)r.allocated() / r.frames());
            top.put("kick_paths", paths);
            if (capture != null)
            {
                top.put("capture", capture.toAbsolutePath().toString());
            }
            out.println(Json.write(top));
        }
        return r.clean() ? 0 : 1;
    }

    /**
     * Builds a VM with one virtio-net echo device on {@code kind}, has the guest send {@code frames} frames of
     * {@code size} bytes over {@code queuePairs} pairs after a warm-up, and checks every one that comes back.
     *
     * @param progress where progress lines go, once a second.
     * @return what the measured phase did.
     */
    public static Result measure(final long frames, final int size, final int queuePairs, final TransportKind kind,
        final IdleStrategy idle, final boolean eventIdx, final boolean mergeable, final PrintWriter progress)
        throws InterruptedException
    {
        return measure(frames, size, queuePairs, kind, idle, EchoBackend.plain(), eventIdx, mergeable, progress);
    }

    /**
     * As {@link #measure(long, int, int, TransportKind, IdleStrategy, boolean, boolean, PrintWriter)}, with the
     * device's backend given (an echo, or an echo inside a capture).
     */
    public static Result measure(final long frames, final int size, final int queuePairs, final TransportKind kind,
        final IdleStrategy idle, final NetBackend backend, final boolean eventIdx, final boolean mergeable,
        final PrintWriter progress) throws InterruptedException
    {
        final NetDevice device = new NetDevice(NetConfig.defaults().withQueuePairs(queuePairs), backend, idle);
        try (VirtioMachine machine = VirtioMachine.create(VmConfig.defaults().withMemoryBytes(128L << 20));
            Arena arena = Arena.ofConfined())
        {
            final Pairs up = bringUp(machine, device, kind, queuePairs, eventIdx, mergeable);
            progress.printf("echo: %d frames of %d bytes, %d queue pair(s), transport %s, features 0x%x%n",
                frames, size, queuePairs, kind.name().toLowerCase(Locale.ROOT), up.features());
            return new Echo(machine, up.driver(), up.pairs(), up.rxQueues(), arena, frames, size, progress).run();
        }
    }

    /**
     * The guest's idle loop: spins a little, then halts with receive interrupts enabled until something comes back on
     * one of {@code rxQueues} (or 100 ms pass).
     */
    static void awaitReceive(final VirtioDriver driver, final SplitQueueDriver[] rxQueues) throws InterruptedException
    {
        for (int i = 0; i < SPINS_BEFORE_HALT; i++)
        {
            for (final SplitQueueDriver rx : rxQueues)
            {
                if (rx.lastUsed() != rx.raw().usedIdx())
                {
                    return;
                }
            }
            Thread.onSpinWait();
        }
        boolean pending = false;
        for (final SplitQueueDriver rx : rxQueues)
        {
            pending |= rx.enableInterruptsAndCheck();
        }
        if (!pending)
        {
            driver.awaitInterrupt(100, TimeUnit.MILLISECONDS);
        }
        for (final SplitQueueDriver rx : rxQueues)
        {
            rx.disableInterrupts();
        }
    }

    /**
     * The guest's side of a started echo device: its driver, the features it accepted, and one
     * {@link NetQueuePairDriver} per queue pair with receive queue {@code 2p} and transmit queue {@code 2p + 1}.
     *
     * @param driver   the device's driver.
     * @param features the accepted features.
     * @param pairs    the queue pairs' drivers, with 1514-byte frames and 2048-byte receive buffers.
     * @param rxQueues the receive queues, for interrupt suppression.
     */
    record Pairs(VirtioDriver driver, long features, NetQueuePairDriver[] pairs, SplitQueueDriver[] rxQueues)
    {
    }

    /**
     * Attaches {@code device} to {@code machine} on {@code kind} and brings it up as a Linux guest does (§3.1.1):
     * MAC, STATUS, MTU, CTRL_VQ, and MRG_RXBUF, MQ and EVENT_IDX as asked; every queue pair and the control queue,
     * DRIVER_OK, then VQ_PAIRS_SET when there is more than one pair. Runs on the thread that plays the guest.
     */
    static Pairs bringUp(final VirtioMachine machine, final NetDevice device, final TransportKind kind,
        final int queuePairs, final boolean eventIdx, final boolean mergeable) throws InterruptedException
    {
        final VirtioDriver driver = machine.attach(device, kind).driver();
        final long wanted = bit(NetFeatures.VIRTIO_NET_F_MAC) | bit(NetFeatures.VIRTIO_NET_F_STATUS)
            | bit(NetFeatures.VIRTIO_NET_F_MTU) | bit(NetFeatures.VIRTIO_NET_F_CTRL_VQ)
            | (mergeable ? bit(NetFeatures.VIRTIO_NET_F_MRG_RXBUF) : 0)
            | (queuePairs > 1 ? bit(NetFeatures.VIRTIO_NET_F_MQ) : 0)
            | (eventIdx ? bit(VirtioFeatures.VIRTIO_F_EVENT_IDX) : 0);
        final long features = driver.initialize(wanted);
        final GuestMemory memory = machine.vm().memory();
        final NetQueuePairDriver[] pairs = new NetQueuePairDriver[queuePairs];
        final SplitQueueDriver[] rxQueues = new SplitQueueDriver[queuePairs];
        for (int p = 0; p < queuePairs; p++)
        {
            rxQueues[p] = driver.setupQueue(2 * p, QUEUE_SIZE);
            final SplitQueueDriver tx = driver.setupQueue(2 * p + 1, QUEUE_SIZE);
            final long area = machine.vm().guestAddressSpace().allocate(
                NetQueuePairDriver.areaLength(QUEUE_SIZE, QUEUE_SIZE, RX_BUFFER, 1514), 4096);
            pairs[p] = new NetQueuePairDriver(memory, rxQueues[p], tx, area, RX_BUFFER, 1514,
                VirtioFeatures.has(features, NetFeatures.VIRTIO_NET_F_MRG_RXBUF));
        }
        final SplitQueueDriver control = driver.setupQueue(2 * queuePairs, 16);
        driver.driverOk();
        if (queuePairs > 1)
        {
            setQueuePairs(driver, control, machine, queuePairs);
        }
        return new Pairs(driver, features, pairs, rxQueues);
    }

    /** VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET through the control queue, virtio-v1.2 §5.1.6.5.5. */
    private static void setQueuePairs(final VirtioDriver driver, final SplitQueueDriver control,
        final VirtioMachine machine, final int pairs) throws InterruptedException
    {
        final GuestMemory memory = machine.vm().memory();
        final long command = machine.vm().guestAddressSpace().allocate(64, 64);
        memory.putByte(command, (byte)ControlLayout.VIRTIO_NET_CTRL_MQ);
        memory.putByte(command + 1, (byte)ControlLayout.VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET);
        memory.putShortLE(command + 2, (short)pairs);
        memory.putByte(command + 32, (byte)0xFF);
        control.post(new long[]{command, command + 2, command + 32}, new long[]{2, 2, 1}, 2, 1);
        driver.kick(2 * pairs);
        // bound: the device answers within a few interrupt waits, or the sample fails
        for (int i = 0; i < 100 && control.reap() == SplitQueueDriver.NOTHING_USED; i++)
        {
            if (!control.enableInterruptsAndCheck())
            {
                driver.awaitInterrupt(100, TimeUnit.MILLISECONDS);
            }
        }
        if (memory.getByte(command + 32) != ControlLayout.VIRTIO_NET_OK)
        {
            throw new IllegalStateException("the device refused VQ_PAIRS_SET: pairs=" + pairs);
        }
    }

    /** The guest's side of one run. */
    private static final class Echo
    {
        private final long frames;
        private final int size;
        private final PrintWriter out;
        private final VirtioMachine machine;
        private final VirtioDriver driver;
        private final NetQueuePairDriver[] pairs;
        private final SplitQueueDriver[] rxQueues;
        private final MemorySegment txFrame;
        private final MemorySegment rxFrame;
        private final long[] sentOnPair;
        private final long[] expectedOnPair;
        private long kicks;
        private long received;
        private long corrupted;
        private long reordered;
        private long duplicated;

        Echo(final VirtioMachine machine, final VirtioDriver driver, final NetQueuePairDriver[] pairs,
            final SplitQueueDriver[] rxQueues, final Arena arena, final long frames, final int size,
            final PrintWriter out)
        {
            this.frames = frames;
            this.size = size;
            this.out = out;
            this.machine = machine;
            this.driver = driver;
            this.pairs = pairs;
            this.rxQueues = rxQueues;
            this.txFrame = arena.allocate(2048, 64);
            this.rxFrame = arena.allocate(65_562, 64);
            this.sentOnPair = new long[pairs.length];
            this.expectedOnPair = new long[pairs.length];
        }

        /** One pass over every pair: send what fits, kick, reap, receive and check, refill. */
        private boolean pump(final long target, final long[] sentTotal)
        {
            boolean progress = false;
            for (int p = 0; p < pairs.length; p++)
            {
                final NetQueuePairDriver pair = pairs[p];
                pair.reapTx();
                int sent = 0;
                // bound: the transmit ring's free slots
                while (sentTotal[0] < target && pair.txSlotsFree() > 0
                    && sentOnPair[p] - expectedOnPair[p] < QUEUE_SIZE / 2)
                {
                    // the sequence encodes the pair, so a frame that comes back on the wrong pair is caught
                    buildFrame(txFrame, size, (sentOnPair[p] << 4) | p);
                    if (!pair.send(txFrame, 0, size))
                    {
                        break;
                    }
                    sentOnPair[p]++;
                    sentTotal[0]++;
                    sent++;
                }
                if (sent > 0 && pair.txNeedsKick())
                {
                    kicks++;
                    driver.transport().notifyQueue(2 * p + 1);
                }
                int length;
                // bound: the receive ring holds at most QUEUE_SIZE used buffers
                while ((length = pair.receive(rxFrame, 0)) != NetQueuePairDriver.NO_FRAME)
                {
                    check(p, length);
                    progress = true;
                }
                if (pair.fillRx() > 0 && pair.rxNeedsKick())
                {
                    kicks++;
                    driver.transport().notifyQueue(2 * p);
                }
                progress |= sent > 0;
            }
            return progress;
        }

        private void check(final int pair, final int length)
        {
            received++;
            final long sequence = rxFrame.get(LONG_BE, SEQUENCE_OFFSET);
            final long expected = (expectedOnPair[pair] << 4) | pair;
            if (length != size || !intact(rxFrame, length, sequence) || (sequence & 0xF) != pair)
            {
                corrupted++;
                expectedOnPair[pair]++;
                return;
            }
            if (sequence < expected)
            {
                duplicated++;
                return;
            }
            if (sequence > expected)
            {
                reordered++;
            }
            expectedOnPair[pair] = (sequence >>> 4) + 1;
        }

        Result run() throws InterruptedException
        {
            for (final SplitQueueDriver rx : rxQueues)
            {
                rx.disableInterrupts();
            }
            for (final NetQueuePairDriver pair : pairs)
            {
                pair.fillRx();
                if (pair.rxNeedsKick())
                {
                    kicks++;
                }
            }
            for (int p = 0; p < pairs.length; p++)
            {
                driver.transport().notifyQueue(2 * p);
            }
            final long[] sent = new long[1];
            final long warm = Math.min(frames / 10, 50_000);
            while (received < warm)
            {
                if (!pump(warm, sent))
                {
                    awaitReceive(driver, rxQueues);
                }
            }
            final long receivedBefore = received;
            final long kicksBefore = kicks;
            final long interruptsBefore = driver.interrupts();
            final long fastBefore = machine.vm().exitStats().count(ExitPath.FAST_MMIO);
            final long emulatedBefore = machine.vm().exitStats().count(ExitPath.MMIO_KERNEL);
            final long pioBefore = machine.vm().exitStats().count(ExitPath.PIO_KERNEL);
            final ThreadAllocations allocations = ThreadAllocations.of("virtio-net");
            final long allocatedBefore = allocations.bytes();
            long progressBytes = 0;
            final long target = warm + frames;
            final long start = System.nanoTime();
            long nextProgress = start + TimeUnit.SECONDS.toNanos(1);
            int stalls = 0;
            // bound: stop once every frame came back, or after 50 idle rounds in a row with nothing in flight
            while (received < target && stalls < 50)
            {
                if (pump(target, sent))
                {
                    stalls = 0;
                }
                else
                {
                    awaitReceive(driver, rxQueues);
                    stalls = sent[0] == target ? stalls + 1 : 0;
                }
                if (System.nanoTime() > nextProgress)
                {
                    final long printing = allocations.bytes();
                    out.printf("  %d frames echoed, %.0f packets/s so far%n", received - receivedBefore,
                        (received - receivedBefore) * 1e9 / (System.nanoTime() - start));
                    progressBytes += allocations.bytes() - printing;
                    nextProgress += TimeUnit.SECONDS.toNanos(1);
                }
            }
            final double elapsed = (System.nanoTime() - start) / 1e9;
            final long allocated = allocations.bytes() - allocatedBefore - progressBytes;
            return new Result(received - receivedBefore, elapsed, target - received, duplicated, reordered,
                corrupted, kicks - kicksBefore, driver.interrupts() - interruptsBefore, allocated,
                machine.vm().exitStats().count(ExitPath.FAST_MMIO) - fastBefore,
                machine.vm().exitStats().count(ExitPath.MMIO_KERNEL) - emulatedBefore,
                machine.vm().exitStats().count(ExitPath.PIO_KERNEL) - pioBefore,
                ExitStatsTable.table(machine.vm().exitStats().sample()));
        }
    }
}
