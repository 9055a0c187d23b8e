package io.jvirtio.samples;

import io.jvirtio.bus.event.BackoffIdleStrategy;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.net.NetConfig;
import io.jvirtio.net.NetDevice;
import io.jvirtio.net.backend.EchoBackend;
import io.jvirtio.net.driver.NetQueuePairDriver;
import io.jvirtio.samples.cli.Json;
import io.jvirtio.samples.cli.TransportOption;
import io.jvirtio.samples.soak.Mix;
import io.jvirtio.samples.soak.SequenceTracker;
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
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * The echo soak: frames of a seeded mix of sizes (60 to 1514 bytes) through the virtio-net echo device with two queue
 * pairs over the real exit path, each frame carrying its queue pair, its sequence number on that pair, its length and
 * a checksum of its payload. Every frame that comes back is classified: corrupted (checksum, length or pair wrong),
 * duplicated, reordered within its queue; what never came back is lost. Each count is reported on its own and any of
 * them non-zero makes the exit status 1.
 * <p>
 * Thread safety: a command object; run once on the main thread, which plays the guest.
 */
@Command(name = "soak-echo", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Soak of the virtio-net echo device: N frames of mixed sizes (60 to 1514 bytes, fixed seed) over",
        "two queue pairs, each carrying pair, sequence and a payload checksum. Counts lost, duplicated, reordered",
        "and corrupted frames separately; exits 1 if any is non-zero."})
public final class EchoSoak implements Callable<Integer>
{
    private static final int ETHERNET_HEADER = 14;
    private static final int PAIR_OFFSET = ETHERNET_HEADER;
    private static final int SEQUENCE_OFFSET = PAIR_OFFSET + Integer.BYTES;
    private static final int LENGTH_OFFSET = SEQUENCE_OFFSET + Long.BYTES;
    private static final int CHECKSUM_OFFSET = LENGTH_OFFSET + Short.BYTES;
    private static final int PAYLOAD_OFFSET = CHECKSUM_OFFSET + Long.BYTES;
    /** The smallest and largest frames the echo device takes without FCS: 60 and 1514 bytes. */
    public static final int MIN_FRAME = 60;
    public static final int MAX_FRAME = 1514;
    private static final ValueLayout.OfLong LONG_BE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt INT_BE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort SHORT_BE =
        ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final long PROGRESS_NANOS = TimeUnit.SECONDS.toNanos(5);

    @Option(names = "--frames", description = "frames to send over both pairs (default: ${DEFAULT-VALUE})")
    long frames = 10_000_000;

    @Option(names = "--seed", description = "seed of the size mix and payloads (default: ${DEFAULT-VALUE})")
    long seed = 7;

    @Option(names = "--transport", description = TransportOption.NAMES + " (default: ${DEFAULT-VALUE})")
    String transport = "pci";

    @Option(names = "--json", description = "print one JSON object as the last line")
    boolean json;

    @Spec
    CommandSpec spec;

    /**
     * What one soak saw.
     *
     * @param frames     frames sent.
     * @param bytes      bytes sent (each came back once if clean).
     * @param seconds    how long it took.
     * @param lost       frames sent that never came back intact.
     * @param duplicated frames that came back again.
     * @param reordered  frames that came back after a later frame of their pair.
     * @param corrupted  frames whose checksum, length or pair was wrong.
     */
    public record Result(long frames, long bytes, double seconds, long lost, long duplicated, long reordered,
        long corrupted)
    {
        /** @return true if every frame came back once, intact and in order. */
        public boolean clean()
        {
            return lost == 0 && duplicated == 0 && reordered == 0 && corrupted == 0;
        }
    }

    @Override
    public Integer call() throws InterruptedException
    {
        final PrintWriter out = spec.commandLine().getOut();
        if (frames < 1 || frames > Integer.MAX_VALUE * 32L)
        {
            throw new CommandLine.ParameterException(spec.commandLine(),
                "--frames must be 1 to " + Integer.MAX_VALUE * 32L + ": " + frames);
        }
        final TransportKind kind = TransportOption.parse(spec.commandLine(), transport);
        final Result r = run(frames, seed, kind, out);
        final double pps = r.frames() / r.seconds();
        out.printf(Locale.ROOT, "frames %d (%d bytes each way) in %.1f s: %.0f packets/s, %.1f MB/s each way%n",
            r.frames(), r.bytes(), r.seconds(), pps, r.bytes() / r.seconds() / 1e6);
        out.printf("lost %d, duplicated %d, reordered %d, corrupted %d%n", r.lost(), r.duplicated(), r.reordered(),
            r.corrupted());
        if (json)
        {
            final Map<String, Object> top = new LinkedHashMap<>();
            top.put("frames", r.frames());
            top.put("bytes", r.bytes());
            top.put("seconds", r.seconds());
            top.put("pps", pps);
            top.put("lost", r.lost());
            top.put("duplicated", r.duplicated());
            top.put("reordered", r.reordered());
            top.put("corrupted", r.corrupted());
            top.put("clean", r.clean());
            out.println(Json.write(top));
        }
        out.flush();
        return r.clean() ? 0 : 1;
    }

    /**
     * Runs the soak: a VM with the echo device on {@code kind} with two queue pairs, {@code frames} frames sent.
     *
     * @param progress where the progress lines go (every five seconds).
     * @return what came back.
     */
    public static Result run(final long frames, final long seed, final TransportKind kind, final PrintWriter progress)
        throws InterruptedException
    {
        final int queuePairs = 2;
        final NetDevice device = new NetDevice(NetConfig.defaults().withQueuePairs(queuePairs), EchoBackend.plain(),
            new BackoffIdleStrategy());
        try (VirtioMachine machine = VirtioMachine.create(VmConfig.defaults().withMemoryBytes(128L << 20));
            Arena arena = Arena.ofConfined())
        {
            final EchoSample.Pairs up = EchoSample.bringUp(machine, device, kind, queuePairs, true, true);
            progress.printf("soak-echo: %d frames of %d to %d bytes (seed %d), %d queue pairs, transport %s%n",
                frames, MIN_FRAME, MAX_FRAME, seed, queuePairs, kind.name().toLowerCase(Locale.ROOT));
            return new Soak(up, arena, frames, seed, progress).run();
        }
    }

    /** @return the length of frame {@code sequence} on {@code pair}: a quarter short, a quarter full, half anywhere. */
    static int frameLength(final long seed, final int pair, final long sequence)
    {
        final long h = Mix.mix(seed ^ ((long)pair << 56), sequence);
        final int span = MAX_FRAME - MIN_FRAME + 1;
        return switch ((int)(h & 3))
        {
            case 0 -> MIN_FRAME + (int)((h >>> 8) % 68);
            case 1 -> MAX_FRAME;
            default -> MIN_FRAME + (int)((h >>> 8) % span);
        };
    }

    /** A 64-bit checksum of {@code frame}'s bytes from the payload offset to {@code length}. */
    static long checksum(final MemorySegment frame, final int length)
    {
        long h = length;
        int i = PAYLOAD_OFFSET;
        // bound: the frame's length, at most MAX_FRAME
        for (; i + Long.BYTES <= length; i += Long.BYTES)
        {
            h = Mix.mix(h ^ frame.get(LONG_BE, i));
        }
        for (; i < length; i++)
        {
            h = Mix.mix(h ^ frame.get(ValueLayout.JAVA_BYTE, i));
        }
        return h;
    }

    /**
     * @return true if {@code frame} of {@code length} bytes is whole: a length the echo takes, the length it carries,
     *     and the checksum of its payload.
     */
    static boolean intact(final MemorySegment frame, final int length)
    {
        return length >= PAYLOAD_OFFSET && length <= MAX_FRAME
            && (frame.get(SHORT_BE, LENGTH_OFFSET) & 0xFFFF) == length
            && frame.get(LONG_BE, CHECKSUM_OFFSET) == checksum(frame, length);
    }

    /** @return the pair field of a frame {@link #buildFrame} made. */
    static int pairOf(final MemorySegment frame)
    {
        return frame.get(INT_BE, PAIR_OFFSET);
    }

    /** Builds frame {@code sequence} of {@code pair}: MACs, EtherType, pair, sequence, length, checksum, payload. */
    static int buildFrame(final MemorySegment frame, final long seed, final int pair, final long sequence)
    {
        final int length = frameLength(seed, pair, sequence);
        frame.set(LONG_BE, 0, EchoSample.DEVICE_MAC << 16);
        frame.set(SHORT_BE, 12, EchoSample.ETHERTYPE);
        frame.set(INT_BE, PAIR_OFFSET, pair);
        frame.set(LONG_BE, SEQUENCE_OFFSET, sequence);
        frame.set(SHORT_BE, LENGTH_OFFSET, (short)length);
        final long base = Mix.mix(seed + pair, sequence);
        int i = PAYLOAD_OFFSET;
        for (int w = 0; i + Long.BYTES <= length; i += Long.BYTES, w++)
        {
            frame.set(LONG_BE, i, base + w * 0x9E37_79B9L);
        }
        for (; i < length; i++)
        {
            frame.set(ValueLayout.JAVA_BYTE, i, (byte)(base >>> (8 * (i & 7))));
        }
        frame.set(LONG_BE, CHECKSUM_OFFSET, checksum(frame, length));
        return length;
    }

    /** The guest's side of the soak. */
    private static final class Soak
    {
        private final VirtioDriver driver;
        private final NetQueuePairDriver[] pairs;
        private final SplitQueueDriver[] rxQueues;
        private final MemorySegment txFrame;
        private final MemorySegment rxFrame;
        private final long frames;
        private final long seed;
        private final PrintWriter out;
        private final long[] sentOnPair;
        private final long[] backOnPair;
        private final SequenceTracker[] trackers;
        private long sent;
        private long bytes;
        private long received;
        private long corrupted;

        Soak(final EchoSample.Pairs up, final Arena arena, final long frames, final long seed, final PrintWriter out)
        {
            this.driver = up.driver();
            this.pairs = up.pairs();
            this.rxQueues = up.rxQueues();
            this.txFrame = arena.allocate(2048, 64);
            this.rxFrame = arena.allocate(65_562, 64);
            this.frames = frames;
            this.seed = seed;
            this.out = out;
            this.sentOnPair = new long[pairs.length];
            this.backOnPair = new long[pairs.length];
            this.trackers = new SequenceTracker[pairs.length];
            for (int p = 0; p < pairs.length; p++)
            {
                trackers[p] = new SequenceTracker(frames);
            }
        }

        /** One pass over every pair: send what fits, kick, receive and check, refill. */
        private boolean pump()
        {
            boolean progress = false;
            for (int p = 0; p < pairs.length; p++)
            {
                final NetQueuePairDriver pair = pairs[p];
                pair.reapTx();
                int burst = 0;
                // bound: the transmit ring's free slots, and half a receive ring in flight so the echo never drops
                while (sent < frames && pair.txSlotsFree() > 0
                    && sentOnPair[p] - backOnPair[p] < EchoSample.QUEUE_SIZE / 2)
                {
                    final int length = buildFrame(txFrame, seed, p, sentOnPair[p]);
                    if (!pair.send(txFrame, 0, length))
                    {
                        break;
                    }
                    sentOnPair[p]++;
                    sent++;
                    bytes += length;
                    burst++;
                }
                if (burst > 0 && pair.txNeedsKick())
                {
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
                    driver.transport().notifyQueue(2 * p);
                }
                progress |= burst > 0;
            }
            return progress;
        }

        private void check(final int pair, final int length)
        {
            received++;
            backOnPair[pair]++;
            if (!intact(rxFrame, length) || pairOf(rxFrame) != pair)
            {
                corrupted++;
                return;
            }
            final long sequence = rxFrame.get(LONG_BE, SEQUENCE_OFFSET);
            if (sequence >= 0 && sequence < sentOnPair[pair] && frameLength(seed, pair, sequence) != length)
            {
                corrupted++;
                return;
            }
            trackers[pair].arrived(sequence);
        }

        Result run() throws InterruptedException
        {
            for (final SplitQueueDriver rx : rxQueues)
            {
                rx.disableInterrupts();
            }
            for (int p = 0; p < pairs.length; p++)
            {
                pairs[p].fillRx();
                driver.transport().notifyQueue(2 * p);
            }
            final long start = System.nanoTime();
            long nextProgress = start + PROGRESS_NANOS;
            int stalls = 0;
            // bound: every frame sent came back, or 50 idle rounds in a row (100 ms each) after the last was sent
            while (received < sent || sent < frames)
            {
                if (pump())
                {
                    stalls = 0;
                }
                else
                {
                    EchoSample.awaitReceive(driver, rxQueues);
                    stalls = sent == frames ? stalls + 1 : 0;
                    if (stalls >= 50)
                    {
                        break;
                    }
                }
                if (System.nanoTime() - nextProgress > 0)
                {
                    out.printf(Locale.ROOT, "  %d of %d frames back, %.0f packets/s so far%n", received, frames,
                        received * 1e9 / (System.nanoTime() - start));
                    out.flush();
                    nextProgress += PROGRESS_NANOS;
                }
            }
            final double seconds = (System.nanoTime() - start) / 1e9;
            long distinct = 0;
            long duplicated = 0;
            long reordered = 0;
            for (final SequenceTracker t : trackers)
            {
                distinct += t.distinct();
                duplicated += t.duplicated();
                reordered += t.reordered();
            }
            // a corrupted frame was one of the frames sent: it is counted as corrupted, not also as lost
            final long lost = Math.max(0, sent - distinct - corrupted);
            return new Result(sent, bytes, seconds, lost, duplicated, reordered, corrupted);
        }
    }
}
