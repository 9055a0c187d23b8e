package io.jvirtio.samples;

import io.jvirtio.bus.event.BackoffIdleStrategy;
import io.jvirtio.bus.event.BusySpinIdleStrategy;
import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.event.IdleStrategy;
import io.jvirtio.bus.event.ParkingIdleStrategy;
import io.jvirtio.bus.kvm.Bus;
import io.jvirtio.bus.kvm.IoBuses;
import io.jvirtio.bus.kvm.IoDevice;
import io.jvirtio.bus.kvm.IoEventFds;
import io.jvirtio.bus.kvm.IoValue;
import io.jvirtio.bus.kvm.KvmCompat;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.linux.Libc;
import io.jvirtio.samples.bench.EventFdHandOff;
import io.jvirtio.samples.bench.HandOffFloors;
import io.jvirtio.samples.bench.Ratio;
import io.jvirtio.samples.bench.Sample;
import io.jvirtio.samples.cli.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.DoubleSupplier;

/**
 * The foundation's costs, measured side by side in one run: KVM-bus lookup with 1, 10, 100 and 1000 devices, the
 * cost of a bus write that signals an ioeventfd, and eventfd hand-offs between two threads with each idle strategy
 * beside the bare busy-spin and park/unpark hand-offs they are built from.
 * <p>
 * Thread safety: a command object; run once on the main thread.
 */
@Command(name = "bus-bench", mixinStandardHelpOptions = true,
    description = {"Bus lookup, ioeventfd signal and eventfd hand-off costs, each beside its floor, with ratios.",
        "Measurements are interleaved run after run; each figure is the median of the runs."})
public final class BusBench implements Callable<Integer>
{
    private static final int[] DEVICE_COUNTS = {1, 10, 100, 1000};
    private static final long BASE = 0xE000_0000L;
    private static final int STRIDE = 0x100;

    @Option(names = "--runs", description = "measurements per figure (default: ${DEFAULT-VALUE})")
    int runs = 5;

    @Option(names = "--lookups", description = "bus writes per lookup measurement (default: ${DEFAULT-VALUE})")
    int lookups = 1_000_000;

    @Option(names = "--round-trips", description = "spinning hand-offs per measurement; blocking ones do a tenth "
        + "(default: ${DEFAULT-VALUE})")
    int roundTrips = 50_000;

    @Option(names = "--json", description = "print one JSON object as the last line")
    boolean json;

    @Spec
    CommandSpec spec;

    private PrintWriter out;

    /** An in-kernel device that takes every write in its range. */
    private static final class SinkDevice implements IoDevice
    {
        long writes;

        @Override
        public boolean write(final long addr, final int len, final long value)
        {
            writes++;
            return true;
        }

        @Override
        public boolean read(final long addr, final int len, final IoValue value)
        {
            return false;
        }
    }

    /** A named measurement and how to take one. */
    private record Figure(Sample sample, DoubleSupplier measure)
    {
    }

    private static double lookupNanos(final IoBuses buses, final Bus bus, final long addr, final int len,
        final int count)
    {
        int handled = 0;
        final long start = System.nanoTime();
        for (int i = 0; i < count; i++)
        {
            if (buses.write(bus, addr, len, i) == IoBuses.HANDLED)
            {
                handled++;
            }
        }
        final long elapsed = System.nanoTime() - start;
        if (handled != count)
        {
            throw new IllegalStateException("bus lookup missed: expected=" + count + ", handled=" + handled);
        }
        return (double)elapsed / count;
    }

    @Override
    public Integer call()
    {
        out = spec.commandLine().getOut();
        if (runs < 1 || lookups < 1000 || roundTrips < 100)
        {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                "--runs must be at least 1, --lookups at least 1000, --round-trips at least 100");
        }
        final List<AutoCloseable> resources = new ArrayList<>();
        final List<Figure> figures = new ArrayList<>();
        try
        {
            for (final int n : DEVICE_COUNTS)
            {
                final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
                resources.add(buses);
                for (int i = 0; i < n; i++)
                {
                    buses.register(Bus.MMIO, BASE + (long)i * STRIDE, 4, new SinkDevice());
                }
                final long target = BASE + (long)(n / 2) * STRIDE;
                figures.add(new Figure(new Sample("lookup_mmio_" + n + "_devices", "ns/write"),
                    () -> lookupNanos(buses, Bus.MMIO, target, 4, lookups)));
            }
            final IoBuses fast = new IoBuses(KvmCompat.CURRENT);
            resources.add(fast);
            final IoEventFds ioeventfds = new IoEventFds(fast);
            final EventFd kick = EventFds.jvm();
            resources.add(kick);
            ioeventfds.assign(new KvmIoEventFd(0, BASE, 0, kick, 0));
            figures.add(new Figure(new Sample("ioeventfd_signal_fast_mmio", "ns/write"), () ->
            {
                final double ns = lookupNanos(fast, Bus.FAST_MMIO, BASE, 0, lookups);
                kick.tryRead();
                return ns;
            }));
            final int blocking = Math.max(100, roundTrips / 10);
            figures.add(new Figure(new Sample("floor_busy_spin_rtt", "ns/rtt"),
                () -> HandOffFloors.busySpinRoundTripNanos(roundTrips)));
            figures.add(new Figure(new Sample("floor_park_unpark_rtt", "ns/rtt"),
                () -> HandOffFloors.parkUnparkRoundTripNanos(blocking)));
            addHandOff(figures, "eventfd_busy_spin_rtt", BusySpinIdleStrategy.INSTANCE, roundTrips, false);
            addHandOff(figures, "eventfd_backoff_rtt", new BackoffIdleStrategy(), roundTrips, false);
            addHandOff(figures, "eventfd_park_rtt", ParkingIdleStrategy.INSTANCE, blocking, false);
            if (Libc.isAvailable())
            {
                addHandOff(figures, "linux_eventfd_park_rtt", ParkingIdleStrategy.INSTANCE, blocking, true);
                final EventFd linux = EventFds.linux();
                resources.add(linux);
                figures.add(new Figure(new Sample("linux_eventfd_write_read", "ns/op"),
                    () -> EventFdHandOff.signalAndReadNanos(linux, blocking * 10)));
            }
            else
            {
                out.println("linux eventfd figures skipped: " + Libc.unavailableReason());
            }

            out.printf("bus-bench: %d figures, %d runs each, interleaved (plus one warm-up run)%n",
                figures.size(), runs);
            for (final Figure figure : figures)
            {
                figure.measure.getAsDouble();
            }
            for (int run = 0; run < runs; run++)
            {
                for (final Figure figure : figures)
                {
                    figure.sample.add(figure.measure.getAsDouble());
                }
                out.printf("  run %d/%d done%n", run + 1, runs);
            }
            return report(figures);
        }
        finally
        {
            for (final AutoCloseable resource : resources)
            {
                try
                {
                    resource.close();
                }
                catch (final Exception ex)
                {
                    out.println("close failed: " + ex);
                }
            }
        }
    }

    private static void addHandOff(final List<Figure> figures, final String name, final IdleStrategy idle,
        final int roundTrips, final boolean linux)
    {
        figures.add(new Figure(new Sample(name, "ns/rtt"),
            () -> EventFdHandOff.roundTripNanos(linux ? EventFds::linux : EventFds::jvm, idle, roundTrips)));
    }

    private static double median(final List<Figure> figures, final String name)
    {
        for (final Figure figure : figures)
        {
            if (figure.sample.name().equals(name))
            {
                return figure.sample.median();
            }
        }
        return Double.NaN;
    }

    private int report(final List<Figure> figures)
    {
        out.println();
        out.printf("%-32s %12s %10s %10s %8s%n", "figure", "median", "min", "max", "unit");
        for (final Figure figure : figures)
        {
            final Sample s = figure.sample;
            out.printf(java.util.Locale.ROOT, "%-32s %12.1f %10.1f %10.1f %8s%n", s.name(), s.median(), s.min(),
                s.max(), s.unit());
        }
        final List<Ratio> ratios = new ArrayList<>();
        ratios.add(Ratio.reported("lookup_1000_over_1_devices",
            median(figures, "lookup_mmio_1000_devices") / median(figures, "lookup_mmio_1_devices")));
        ratios.add(Ratio.reported("eventfd_busy_spin_over_bare_spin",
            median(figures, "eventfd_busy_spin_rtt") / median(figures, "floor_busy_spin_rtt")));
        ratios.add(Ratio.reported("eventfd_backoff_over_bare_spin",
            median(figures, "eventfd_backoff_rtt") / median(figures, "floor_busy_spin_rtt")));
        ratios.add(Ratio.atMost("eventfd_park_over_park_unpark",
            median(figures, "eventfd_park_rtt") / median(figures, "floor_park_unpark_rtt"), 1.25));
        if (Libc.isAvailable())
        {
            ratios.add(Ratio.reported("linux_eventfd_park_over_park_unpark",
                median(figures, "linux_eventfd_park_rtt") / median(figures, "floor_park_unpark_rtt")));
        }
        out.println();
        out.println("ratios (medians from the same run):");
        for (final Ratio ratio : ratios)
        {
            out.println("  " + ratio);
        }
        if (json)
        {
            final Map<String, Object> fig = new LinkedHashMap<>();
            for (final Figure figure : figures)
            {
                fig.put(figure.sample.name(), figure.sample.median());
            }
            final Map<String, Object> rat = new LinkedHashMap<>();
            for (final Ratio ratio : ratios)
            {
                final Map<String, Object> r = new LinkedHashMap<>();
                r.put("value", ratio.value());
                r.put("target", ratio.target());
                r.put("pass", ratio.pass());
                rat.put(ratio.name(), r);
            }
            final Map<String, Object> top = new LinkedHashMap<>();
            top.put("figures", fig);
            top.put("ratios", rat);
            out.println(Json.write(top));
        }
        return 0;
    }
}
