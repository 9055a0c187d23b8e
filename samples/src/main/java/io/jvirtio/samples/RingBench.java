package io.jvirtio.samples;

import io.jvirtio.bus.event.BackoffIdleStrategy;
import io.jvirtio.bus.event.BusySpinIdleStrategy;
import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFdPoller;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.event.IdleStrategy;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.samples.bench.Ratio;
import io.jvirtio.samples.bench.Sample;
import io.jvirtio.samples.bench.SpscFloor;
import io.jvirtio.samples.cli.Json;
import io.jvirtio.virtio.queue.DescriptorChain;
import io.jvirtio.virtio.queue.PopStatus;
import io.jvirtio.virtio.queue.SplitQueue;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.worker.DeviceWorker;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * A ring hand-off benchmark shaped like Linux's {@code tools/virtio/ringtest}: a guest thread posts buffers on a
 * split virtqueue of 256 entries and reaps the used ones, a device worker pops and completes them; notifications are
 * eventfds (kick: guest to worker; call: worker to guest), decided by EVENT_IDX or the flags. Two modes: both sides
 * poll (no one sleeps), or both sides sleep when idle (spin, then block on the eventfd). Beside it, in the same run, a
 * plain SPSC ring of the same size between the same two threads: the floor the ratio divides by.
 * <p>
 * Thread safety: a command object; run once on the main thread.
 */
@Command(name = "ring", mixinStandardHelpOptions = true,
    description = {"Ring hand-off benchmark after tools/virtio/ringtest: buffers/s through a 256-entry split",
        "virtqueue between a guest thread and a device worker, kicks and interrupts per buffer, and the same",
        "count through a plain SPSC ring in the same run as the floor."})
public final class RingBench implements Callable<Integer>
{
    private static final int RING_SIZE = 256;
    private static final int BUFFER_BYTES = 64;

    @Option(names = "--buffers", description = "buffers per measurement (default: ${DEFAULT-VALUE})")
    long buffers = 2_000_000;

    @Option(names = "--batch", description = "buffers posted per kick decision (default: ${DEFAULT-VALUE})")
    int batch = 32;

    @Option(names = "--runs", description = "measurements per figure; medians are reported (default: ${DEFAULT-VALUE})")
    int runs = 5;

    @Option(names = "--event-idx", negatable = true, description = "negotiate EVENT_IDX (default: ${DEFAULT-VALUE})")
    boolean eventIdx = true;

    @Option(names = "--json", description = "print one JSON object as the last line")
    boolean json;

    @Spec
    CommandSpec spec;

    private PrintWriter out;

    /** One measurement's counts; {@code report} reads them too. */
    static final class Result
    {
        double buffersPerSecond;
        long kicks;
        long interrupts;
    }

    /**
     * One measurement with this command's {@code buffers}, {@code batch} and {@code eventIdx}.
     *
     * @param sleeping both sides sleep when idle (true) or both poll.
     * @return the rate and the notifications it took.
     */
    Result runRing(final boolean sleeping)
    {
        final Result result = new Result();
        final IdleStrategy idle = sleeping ? new BackoffIdleStrategy() : BusySpinIdleStrategy.INSTANCE;
        final long ringBytes = SplitQueueConfig.contiguousLength(RING_SIZE);
        try (GuestMemory memory = GuestMemory.anonymous(4L << 20);
            EventFd kick = EventFds.jvm();
            EventFd call = EventFds.jvm();
            EventFdPoller guestWait = new EventFdPoller(idle))
        {
            final SplitQueueConfig config = SplitQueueConfig.contiguous(0x1000, RING_SIZE, eventIdx, false);
            final SplitQueue queue = new SplitQueue(memory, RING_SIZE, (q, reason) ->
            {
                throw new IllegalStateException("ring broke: " + reason);
            });
            if (!queue.activate(config).equals(io.jvirtio.virtio.queue.QueueConfigStatus.VALID))
            {
                throw new IllegalStateException("ring config refused");
            }
            final SplitQueueDriver driver = new SplitQueueDriver(memory, config);
            final long buffersBase = 0x1000 + ((ringBytes + 4095) & -4096L);
            final DescriptorChain chain = new DescriptorChain(RING_SIZE);
            final long[] interrupts = new long[1];
            final DeviceWorker worker = new DeviceWorker("ring-device", idle, RING_SIZE, (q, budget) ->
            {
                int n = 0;
                while (n < budget && queue.pop(chain) == PopStatus.CHAIN)
                {
                    queue.complete(chain, 0);
                    n++;
                }
                queue.publish();
                if (queue.needsInterrupt())
                {
                    interrupts[0]++;
                    call.signal();
                }
                return n == budget || queue.enableNotificationAndRecheck();
            });
            worker.addQueue(0, kick);
            guestWait.register(call);
            final long[] addr = new long[1];
            final long[] len = {BUFFER_BYTES};
            worker.start();
            driver.disableInterrupts();
            long posted = 0;
            long reaped = 0;
            long kicks = 0;
            final long start = System.nanoTime();
            while (reaped < buffers)
            {
                int k = 0;
                while (k < batch && posted < buffers && driver.freeDescriptors() > 0)
                {
                    addr[0] = buffersBase + (posted & (RING_SIZE - 1)) * BUFFER_BYTES;
                    driver.post(addr, len, 1, 0);
                    posted++;
                    k++;
                }
                if (k > 0)
                {
                    driver.publish();
                    if (driver.needsKick())
                    {
                        kicks++;
                        kick.signal();
                    }
                }
                int r = 0;
                while (driver.reap() != SplitQueueDriver.NOTHING_USED)
                {
                    r++;
                }
                reaped += r;
                if (k == 0 && r == 0)
                {
                    if (sleeping)
                    {
                        if (!driver.enableInterruptsAndCheck())
                        {
                            guestWait.poll();
                        }
                        driver.disableInterrupts();
                    }
                    else
                    {
                        Thread.onSpinWait();
                    }
                }
            }
            final long elapsed = System.nanoTime() - start;
            worker.stop();
            result.buffersPerSecond = buffers * 1e9 / elapsed;
            result.kicks = kicks;
            result.interrupts = interrupts[0];
        }
        return result;
    }

    @Override
    public Integer call()
    {
        out = spec.commandLine().getOut();
        if (buffers < 10_000 || batch < 1 || batch > RING_SIZE || runs < 1)
        {
            throw new CommandLine.ParameterException(new CommandLine(this),
                "--buffers must be at least 10000, --batch 1 to 256, --runs at least 1");
        }
        final Sample floor = new Sample("spsc_floor", "elements/s");
        final Sample poll = new Sample("ring_poll", "buffers/s");
        final Sample sleep = new Sample("ring_sleep", "buffers/s");
        long sleepKicks = 0;
        long sleepInterrupts = 0;
        long pollKicks = 0;
        long pollInterrupts = 0;
        out.printf("ring: %d buffers per run, ring size %d, batch %d, EVENT_IDX %s, %d runs interleaved%n",
            buffers, RING_SIZE, batch, eventIdx ? "on" : "off", runs);
        runRing(false);
        runRing(true);
        SpscFloor.elementsPerSecond(RING_SIZE, buffers);
        for (int run = 0; run < runs; run++)
        {
            floor.add(SpscFloor.elementsPerSecond(RING_SIZE, buffers));
            final Result p = runRing(false);
            poll.add(p.buffersPerSecond);
            pollKicks += p.kicks;
            pollInterrupts += p.interrupts;
            final Result s = runRing(true);
            sleep.add(s.buffersPerSecond);
            sleepKicks += s.kicks;
            sleepInterrupts += s.interrupts;
            out.printf("  run %d/%d done%n", run + 1, runs);
        }
        final double total = (double)buffers * runs;
        out.println();
        out.printf("%-34s %14s %14s %12s %12s%n", "figure", "median/s", "spread", "kicks/buf", "irqs/buf");
        out.printf(Locale.ROOT, "%-34s %14.0f %13.0f%% %12s %12s%n", "spsc floor (same threads, same size)",
            floor.median(), 100 * floor.spread(), "-", "-");
        out.printf(Locale.ROOT, "%-34s %14.0f %13.0f%% %12.4f %12.4f%n", "virtqueue, both sides poll",
            poll.median(), 100 * poll.spread(), pollKicks / total, pollInterrupts / total);
        out.printf(Locale.ROOT, "%-34s %14.0f %13.0f%% %12.4f %12.4f%n", "virtqueue, sleeping notifications",
            sleep.median(), 100 * sleep.spread(), sleepKicks / total, sleepInterrupts / total);
        final Ratio ratio = Ratio.reported("ring_sleep_over_spsc_floor", sleep.median() / floor.median());
        final Ratio pollRatio = Ratio.reported("ring_poll_over_spsc_floor", poll.median() / floor.median());
        out.println();
        out.println("ratios (medians from the same run):");
        out.println("  " + pollRatio);
        out.println("  " + ratio);
        if (json)
        {
            final Map<String, Object> top = new LinkedHashMap<>();
            top.put("buffers", (long)total);
            top.put("buffers_per_second", sleep.median());
            top.put("floor_per_second", floor.median());
            top.put("ratio", ratio.value());
            top.put("kicks_per_buffer", sleepKicks / total);
            top.put("interrupts_per_buffer", sleepInterrupts / total);
            top.put("poll_buffers_per_second", poll.median());
            top.put("poll_ratio", pollRatio.value());
            out.println(Json.write(top));
        }
        return 0;
    }
}
