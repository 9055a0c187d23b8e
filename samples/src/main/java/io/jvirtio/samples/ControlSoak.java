package io.jvirtio.samples;

import io.jvirtio.blk.BlockDevice;
import io.jvirtio.blk.BlockDeviceConfig;
import io.jvirtio.blk.backend.MemoryBlockBackend;
import io.jvirtio.bus.event.BackoffIdleStrategy;
import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.vm.UserspaceDevice;
import io.jvirtio.bus.vm.UserspaceDevices;
import io.jvirtio.bus.vm.Vm;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.net.NetConfig;
import io.jvirtio.net.NetDevice;
import io.jvirtio.net.backend.EchoBackend;
import io.jvirtio.samples.cli.Json;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.machine.VirtioMachine;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The control-plane soak: while the guest ({@link ControlSoakGuest}) keeps traffic going on a virtio-net echo device
 * and a virtio-blk device, a control thread assigns and deassigns an ioeventfd on a probe address the guest stores to
 * (KVM_IOEVENTFD through the {@link Vm}; wildcard fast-MMIO and datamatch in turn), toggles the net link (a
 * configuration change), and has the guest reset a device (status 0 through the driver, then re-initialise) every few
 * rounds. It checks the KVM guarantees each of these must keep:
 * <ul>
 *   <li>no lost kick: every store that began after the assign returned and ended before the deassign began
 *       signalled the eventfd;</li>
 *   <li>no late kick: after the deassign returned, no store signals it (KVM's deassign waits out in-flight bus
 *       writes with SRCU); and every store reached exactly one of the eventfd and the userspace device behind it;</li>
 *   <li>no guest-memory access after a reset returned (the scribbled sets of {@link ControlSoakGuest});</li>
 *   <li>frames and blocks intact throughout, and no thread left behind once the machine is closed.</li>
 * </ul>
 * <p>
 * Thread safety: a command object; run once on the main thread, which plays the guest.
 */
@Command(name = "soak-control", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Soak of the control plane under load: net echo and blk traffic run while another thread",
        "assigns and deassigns ioeventfds, resets devices and toggles the net link. Counts lost and late kicks,",
        "guest-memory writes after a reset, bad frames and blocks, threads left behind; exits 1 if any."})
public final class ControlSoak implements Callable<Integer>
{
    /** Where the guest's probe stores go: MMIO space no device uses (the virtio-mmio slots stay empty here). */
    static final long PROBE_GPA = VirtioMachine.MMIO_BASE + 0x00F0_0000L;
    /** Probe stores the guest makes while the ioeventfd is assigned, and again after it is deassigned. */
    private static final int KICKS = 4;
    private static final long PROGRESS_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** A failure bound: the guest thread made no progress for this long. */
    private static final long STALL_NANOS = TimeUnit.SECONDS.toNanos(60);

    @Option(names = "--rounds", description = "control rounds (default: ${DEFAULT-VALUE})")
    long rounds = 100_000;

    @Option(names = "--seed", description = "seed of the traffic (default: ${DEFAULT-VALUE})")
    long seed = 5;

    @Option(names = "--json", description = "print one JSON object as the last line")
    boolean json;

    @Spec
    CommandSpec spec;

    /**
     * What the soak saw.
     *
     * @param rounds           control rounds done.
     * @param kicksRegistered  probe stores made entirely while the ioeventfd was assigned.
     * @param lostKicks        of those, stores the eventfd did not see.
     * @param spuriousKicks    signals beyond the stores that could have been seen.
     * @param lateKicks        signals after the deassign returned.
     * @param unaccounted      stores that reached neither or both of the eventfd and the userspace device.
     * @param netResets        resets of the net device.
     * @param blkResets        resets of the blk device.
     * @param wordsTouched     8-byte words of guest memory a device wrote after its reset returned.
     * @param frames           frames echoed intact.
     * @param badFrames        frames corrupted, or from before a reset.
     * @param blkRequests      blk requests completed.
     * @param blkBad           blk reads without the last acknowledged write, and requests that failed.
     * @param linkToggles      link changes made.
     * @param linkChangesSeen  link changes the guest saw in the config space.
     * @param threadsLeft      names of threads alive after the machine closed that were not alive before.
     */
    public record Result(long rounds, long kicksRegistered, long lostKicks, long spuriousKicks, long lateKicks,
        long unaccounted, long netResets, long blkResets, long wordsTouched, long frames, long badFrames,
        long blkRequests, long blkBad, long linkToggles, long linkChangesSeen, List<String> threadsLeft)
    {
        /** @return true if every guarantee held. */
        public boolean clean()
        {
            return lostKicks == 0 && spuriousKicks == 0 && lateKicks == 0 && unaccounted == 0 && wordsTouched == 0
                && badFrames == 0 && blkBad == 0 && threadsLeft.isEmpty();
        }
    }

    @Override
    public Integer call() throws InterruptedException
    {
        final PrintWriter out = spec.commandLine().getOut();
        if (rounds < 1)
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "--rounds must be positive: " + rounds);
        }
        final Result r = run(rounds, seed, out);
        out.printf("rounds %d: kicks while assigned %d, lost %d, spurious %d, after deassign %d, unaccounted %d%n",
            r.rounds(), r.kicksRegistered(), r.lostKicks(), r.spuriousKicks(), r.lateKicks(), r.unaccounted());
        out.printf("resets net %d, blk %d; guest-memory words written after a reset %d%n", r.netResets(),
            r.blkResets(), r.wordsTouched());
        out.printf("frames %d, bad frames %d; blk requests %d, bad %d; link toggles %d, seen %d%n", r.frames(),
            r.badFrames(), r.blkRequests(), r.blkBad(), r.linkToggles(), r.linkChangesSeen());
        out.printf("threads left behind %d %s%n", r.threadsLeft().size(), r.threadsLeft());
        if (json)
        {
            final Map<String, Object> top = new LinkedHashMap<>();
            top.put("rounds", r.rounds());
            top.put("kicks_registered", r.kicksRegistered());
            top.put("lost_kicks", r.lostKicks());
            top.put("spurious_kicks", r.spuriousKicks());
            top.put("late_kicks", r.lateKicks());
            top.put("unaccounted_stores", r.unaccounted());
            top.put("net_resets", r.netResets());
            top.put("blk_resets", r.blkResets());
            top.put("words_written_after_reset", r.wordsTouched());
            top.put("frames", r.frames());
            top.put("bad_frames", r.badFrames());
            top.put("blk_requests", r.blkRequests());
            top.put("blk_bad", r.blkBad());
            top.put("link_toggles", r.linkToggles());
            top.put("link_changes_seen", r.linkChangesSeen());
            top.put("threads_left", r.threadsLeft());
            top.put("clean", r.clean());
            out.println(Json.write(top));
        }
        out.flush();
        return r.clean() ? 0 : 1;
    }

    /**
     * Runs the soak for {@code rounds} control rounds.
     *
     * @param progress where the progress lines go (every five seconds).
     */
    public static Result run(final long rounds, final long seed, final PrintWriter progress)
        throws InterruptedException
    {
        final Set<Thread> before = new HashSet<>(Thread.getAllStackTraces().keySet());
        final AtomicLong sinkWrites = new AtomicLong();
        final UserspaceDevice sink = new UserspaceDevice()
        {
            @Override
            public long read(final long offset, final int size)
            {
                return 0;
            }

            @Override
            public void write(final long offset, final int size, final long value)
            {
                sinkWrites.incrementAndGet();
            }
        };
        final NetDevice net = new NetDevice(NetConfig.defaults(), EchoBackend.plain(), new BackoffIdleStrategy());
        final Control control;
        final ControlSoakGuest guest;
        try (VirtioMachine machine = VirtioMachine.create(VmConfig.defaults().withMemoryBytes(64L << 20));
            Arena arena = Arena.ofConfined();
            EventFd eventFd = EventFds.jvm();
            UserspaceDevices.Registration probe = machine.vm().registerMmio(PROBE_GPA, 4096, sink))
        {
            final BlockDevice blk = new BlockDevice(new MemoryBlockBackend(1024, false, "soak-control"),
                BlockDeviceConfig.defaults());
            guest = new ControlSoakGuest(machine, machine.attach(net, TransportKind.PCI).driver(),
                machine.attach(blk, TransportKind.PCI).driver(),
                machine.vm().guestAddressSpace().ioremap(PROBE_GPA, 4096), seed, arena);
            progress.printf("soak-control: %d rounds; net echo and blk traffic, ioeventfd assign/deassign at 0x%x, "
                + "resets, link toggles%n", rounds, PROBE_GPA);
            progress.flush();
            control = new Control(machine.vm(), net, guest, eventFd, rounds, progress);
            final Thread thread = Thread.ofPlatform().name("soak-control").start(control);
            // bound: the control thread sets stop after its rounds, or when it fails
            while (!guest.stop)
            {
                guest.round();
            }
            thread.join();
            guest.finish();
            if (control.failure.get() != null)
            {
                throw new IllegalStateException("control thread failed: rounds=" + control.done,
                    control.failure.get());
            }
            control.unaccounted = guest.storesCompleted.get() - sinkWrites.get() - control.delivered;
        }
        return new Result(control.done, control.registered, control.lost, control.spurious, control.late,
            control.unaccounted, guest.netResets, guest.blkResets, guest.wordsTouchedAfterReset, guest.frames,
            guest.corruptedFrames + guest.staleFrames, guest.blkRequests, guest.blkMismatches + guest.blkErrors,
            control.toggles, guest.linkChangesSeen, threadsLeft(before));
    }

    /** @return names of live threads not in {@code before}, after giving them a bounded time to end. */
    private static List<String> threadsLeft(final Set<Thread> before) throws InterruptedException
    {
        final List<String> left = new ArrayList<>();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        // bound: a failure timeout for threads still ending after close returned
        for (Thread t = extra(before); t != null; t = extra(before))
        {
            if (System.nanoTime() - deadline > 0)
            {
                for (final Thread s : Thread.getAllStackTraces().keySet())
                {
                    if (!before.contains(s) && s.isAlive())
                    {
                        left.add(s.getName());
                    }
                }
                return left;
            }
            t.join(100);
        }
        return left;
    }

    private static Thread extra(final Set<Thread> before)
    {
        for (final Thread t : Thread.getAllStackTraces().keySet())
        {
            if (!before.contains(t) && t.isAlive())
            {
                return t;
            }
        }
        return null;
    }

    /** The control thread: ioeventfd assign and deassign, link toggles, reset requests. */
    private static final class Control implements Runnable
    {
        private final Vm vm;
        private final NetDevice net;
        private final ControlSoakGuest guest;
        private final EventFd eventFd;
        private final long rounds;
        private final PrintWriter progress;
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        volatile long done;
        long registered;
        long lost;
        long spurious;
        long late;
        long delivered;
        long toggles;
        long unaccounted;

        Control(final Vm vm, final NetDevice net, final ControlSoakGuest guest, final EventFd eventFd,
            final long rounds, final PrintWriter progress)
        {
            this.vm = vm;
            this.net = net;
            this.guest = guest;
            this.eventFd = eventFd;
            this.rounds = rounds;
            this.progress = progress;
        }

        @Override
        public void run()
        {
            try
            {
                final long start = System.nanoTime();
                long nextProgress = start + PROGRESS_NANOS;
                for (long r = 0; r < rounds; r++)
                {
                    round(r);
                    done = r + 1;
                    if (System.nanoTime() - nextProgress > 0)
                    {
                        progress.printf(Locale.ROOT, "  %d of %d rounds, %.0f rounds/s, lost %d, late %d%n", done,
                            rounds, done * 1e9 / (System.nanoTime() - start), lost, late);
                        progress.flush();
                        nextProgress += PROGRESS_NANOS;
                    }
                }
            }
            catch (final RuntimeException | InterruptedException | Error e)
            {
                failure.set(e);
            }
            finally
            {
                guest.stop = true;
            }
        }

        private void round(final long r) throws InterruptedException
        {
            // wildcard with len 0 (the FAST_MMIO bus) and a 4-byte datamatch in turn
            final KvmIoEventFd assign = (r & 1) == 0
                ? new KvmIoEventFd(0, PROBE_GPA, 0, eventFd, 0)
                : new KvmIoEventFd(ControlSoakGuest.PROBE_VALUE, PROBE_GPA, 4, eventFd,
                    KvmIoEventFd.KVM_IOEVENTFD_FLAG_DATAMATCH);
            final long completedBefore = guest.storesCompleted.get();
            vm.ioeventfd(assign);
            final long startedAfterAssign = guest.storesStarted.get();
            awaitStores(startedAfterAssign + 1 + KICKS);
            final long completedBeforeDeassign = guest.storesCompleted.get();
            vm.ioeventfd(assign.deassigning());
            final long startedAfterDeassign = guest.storesStarted.get();
            final long seen = eventFd.tryRead();
            awaitStores(startedAfterDeassign + 1 + KICKS);
            final long after = eventFd.tryRead();
            final long certain = Math.max(0, completedBeforeDeassign - startedAfterAssign);
            registered += certain;
            lost += Math.max(0, certain - seen);
            spurious += Math.max(0, seen - (startedAfterDeassign - completedBefore));
            late += after;
            delivered += seen + after;
            net.setLinkUp(!net.linkUp());
            toggles++;
            if (r % 8 == 3)
            {
                ask(ControlSoakGuest.RESET_NET);
            }
            else if (r % 8 == 7)
            {
                ask(ControlSoakGuest.RESET_BLK);
            }
        }

        private void awaitStores(final long target)
        {
            long last = guest.storesCompleted.get();
            long since = System.nanoTime();
            // bound: the guest stores once a round; STALL_NANOS without progress is a failure
            while (guest.storesCompleted.get() < target)
            {
                final long now = guest.storesCompleted.get();
                if (now != last)
                {
                    last = now;
                    since = System.nanoTime();
                }
                else if (System.nanoTime() - since > STALL_NANOS)
                {
                    throw new IllegalStateException("guest made no probe store: completed=" + now + ", target="
                        + target);
                }
                // the guest needs the core more than this thread does (2 cores, 4 busy threads)
                Thread.yield();
            }
        }

        private void ask(final int what)
        {
            guest.request.set(what);
            final long since = System.nanoTime();
            // bound: the guest serves a request at the start of its next round; STALL_NANOS is a failure
            while (guest.request.get() != ControlSoakGuest.NONE)
            {
                if (System.nanoTime() - since > STALL_NANOS)
                {
                    throw new IllegalStateException("guest did not serve the request: request=" + what);
                }
                Thread.yield();
            }
        }
    }
}
