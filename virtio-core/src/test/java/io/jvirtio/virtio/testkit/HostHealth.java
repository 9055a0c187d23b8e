package io.jvirtio.virtio.testkit;

import io.jvirtio.bus.guest.GuestAddressSpace;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;
import io.jvirtio.bus.vm.VcpuException;
import io.jvirtio.virtio.machine.AttachedDevice;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.machine.VirtioMachine;
import io.jvirtio.virtio.queue.QueueCounter;
import io.jvirtio.virtio.queue.SplitQueue;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.transport.LoopbackDevice;
import io.jvirtio.virtio.transport.TransportCore;
import io.jvirtio.virtio.worker.DeviceWorker;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks that the host stayed healthy while a hostile guest did its worst: the assertions every bad-input test makes
 * besides the outcome its checklist item prescribes (virtio-checklist §6, issue 7).
 * <p>
 * {@snippet :
 * try (VirtioMachine machine = VirtioMachine.create(VmConfig.defaults()))
 * {
 *     AttachedDevice dut = machine.attach(device, TransportKind.PCI);
 *     // ... set up the rings and buffers the attack uses ...
 *     try (HostHealth health = HostHealth.watch(machine))
 *     {
 *         health.deviceMayWrite(writableBuffer, 4096);
 *         // ... the hostile action, through dut.driver().transport().raw() or a queue's raw() ring ...
 *         // ... the outcome the checklist prescribes ...
 *         health.checkHealthy();
 *     }
 * }
 * }
 * {@link #watch} records a baseline and sets traps; {@link #checkHealthy} then asserts, failing the test with a
 * message naming what broke:
 * <ul>
 *     <li><b>no exception out of a worker</b>: no {@link DeviceWorker} of this JVM caught a handler exception
 *     ({@link DeviceWorker#handlerErrorsOfAllWorkers()}, which also counts workers a reset already stopped), and no
 *     thread died of an uncaught exception while watched;</li>
 *     <li><b>no exception out of a vCPU</b>: every guest action run through {@link #guest} returned normally or
 *     raised a {@link VcpuException}, the only thing the hardware raises (a register access never throws into the
 *     vCPU);</li>
 *     <li><b>no guest-memory access outside the areas set up</b>: at {@code watch}, the guest RAM that no ring or
 *     buffer was allocated in (the low megabyte, the allocator's free RAM, every further RAM region) is filled with a
 *     canary; it must be intact at the check, except in ranges declared with {@link #deviceMayWrite} and in RAM the
 *     guest allocated after {@code watch} (the guest's own writes);</li>
 *     <li><b>bounded work per kick</b>: for every queue of every device attached before {@code watch}, the chains
 *     popped while watched are at most the pop bound (by default twice the queue's size: one ring of hostile entries
 *     and one of follow-up traffic; {@link #popBound} for tests that post more), and the chains in flight at most
 *     the queue's size (CVE-2016-5403);</li>
 *     <li><b>other devices unaffected</b>: a witness {@link LoopbackDevice}, attached by {@code watch} on another
 *     slot of the first device's transport kind with both its queues running, completes a round trip on each queue
 *     and none of its transport counters moved.</li>
 * </ul>
 * The device's own other queue is checked with {@link #loopbackRoundTrip} (after the NEEDS_RESET outcomes, once
 * the driver reset and reinitialized the device), or by the device type's own round trip for net and blk.
 * <p>
 * Thread safety: one test thread, which plays the guest on vCPU 0; {@link #close} restores the JVM's default
 * uncaught exception handler, so watches must not overlap.
 */
public final class HostHealth implements AutoCloseable
{
    /** The canary byte: neither 0 (fresh RAM) nor a value the loopback payloads use. */
    public static final byte CANARY = (byte)0xA5;
    /** Queue size of the witness's queues. */
    private static final int WITNESS_QUEUE_SIZE = 16;
    /** Polls of the used ring before a round trip fails; each parks {@link #POLL_NANOS}: a failure timeout. */
    private static final int MAX_POLLS = 300_000;
    private static final long POLL_NANOS = 100_000;
    private static final long LOW_MEMORY = 1L << 20;
    private static final int CANARY_CHUNK = 1 << 20;

    private final VirtioMachine machine;
    private final GuestMemory memory;
    private final List<AttachedDevice> watched;
    private final long[][] poppedAtStart;
    private final AttachedDevice witness;
    private final long witnessCountersAtStart;
    private final long workerErrorsAtStart;
    private final long allocatedTopAtStart;
    private final List<long[]> mayWrite = new ArrayList<>();
    private final ConcurrentLinkedQueue<String> uncaught = new ConcurrentLinkedQueue<>();
    private final List<String> guestThrows = new ArrayList<>();
    private final Thread.UncaughtExceptionHandler previousHandler;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment canaryChunk;
    private long popBound = -1;
    private int payloadSeed;

    private HostHealth(final VirtioMachine machine)
    {
        this.machine = machine;
        this.memory = machine.vm().memory();
        this.watched = machine.devices();
        this.canaryChunk = arena.allocate(CANARY_CHUNK).fill(CANARY);
        final TransportKind kind = watched.isEmpty() ? TransportKind.PCI : watched.getFirst().transport();
        this.witness = machine.attach(new LoopbackDevice(), kind);
        witness.driver().initialize(0);
        witness.driver().setupQueue(0, WITNESS_QUEUE_SIZE).disableInterrupts();
        witness.driver().setupQueue(1, WITNESS_QUEUE_SIZE).disableInterrupts();
        witness.driver().driverOk();
        this.witnessCountersAtStart = witness.core().counters().total();
        this.poppedAtStart = new long[watched.size()][];
        // bound: the devices attached before watch, each with its fixed queue count
        for (int d = 0; d < watched.size(); d++)
        {
            final TransportCore core = watched.get(d).core();
            poppedAtStart[d] = new long[core.queueCount()];
            for (int q = 0; q < core.queueCount(); q++)
            {
                poppedAtStart[d][q] = core.queue(q).counters().get(QueueCounter.CHAINS_POPPED);
            }
        }
        this.workerErrorsAtStart = DeviceWorker.handlerErrorsOfAllWorkers();
        this.previousHandler = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((final Thread t, final Throwable e) ->
            uncaught.add(t.getName() + ": " + e));
        this.allocatedTopAtStart = allocatedTop();
        // bound: the canary ranges, a few per RAM region
        for (final long[] range : canaryRanges(allocatedTopAtStart))
        {
            memory.fill(range[0], range[1] - range[0], CANARY);
        }
    }

    /**
     * Starts watching {@code machine}: attaches the witness device, records the baseline and fills the unused guest
     * RAM with the canary. Call it after the rings and buffers of the attack are set up and before the attack.
     *
     * @param machine the machine whose devices the test attacks (attached already).
     * @return the watch; close it (try-with-resources) to restore the default uncaught exception handler.
     */
    public static HostHealth watch(final VirtioMachine machine)
    {
        return new HostHealth(machine);
    }

    /**
     * Declares a guest-physical range the device may write (a writable buffer or a used ring the test placed in RAM
     * that was free at {@link #watch}): the canary is not checked there.
     *
     * @return this watch.
     */
    public HostHealth deviceMayWrite(final long gpa, final long length)
    {
        mayWrite.add(new long[] {gpa, gpa + length});
        return this;
    }

    /**
     * Sets the most chains any one watched queue may pop while watched (for tests that post more than a ring's
     * worth on purpose).
     *
     * @return this watch.
     */
    public HostHealth popBound(final long chains)
    {
        popBound = chains;
        return this;
    }

    /** A guest action: register accesses and kicks through vCPU 0. */
    @FunctionalInterface
    public interface GuestAction
    {
        /** Runs the action on the calling (vCPU) thread. */
        void run();
    }

    /**
     * Runs a guest action: it must return normally or raise the typed {@link VcpuException} the hardware would;
     * anything else is recorded and fails {@link #checkHealthy}.
     *
     * @return the fault the vCPU raised, or null if the action returned normally.
     */
    public VcpuException guest(final GuestAction action)
    {
        try
        {
            action.run();
            return null;
        }
        catch (final VcpuException fault)
        {
            return fault;
        }
        catch (final RuntimeException | Error ex)
        {
            guestThrows.add(ex.toString());
            return null;
        }
    }

    /**
     * Asserts every health condition listed in the class comment; the witness's round trips run first, so the
     * device's worker had the time of two exits and two completions to finish what the attack started.
     */
    public void checkHealthy()
    {
        final SplitQueueDriver w0 = witness.driver().queue(0);
        final SplitQueueDriver w1 = witness.driver().queue(1);
        loopbackRoundTrip(witness, 0);
        loopbackRoundTrip(witness, 1);
        assertTrue(w0 != null && w1 != null, "the witness lost its queues");
        assertTrue(guestThrows.isEmpty(), "a guest action threw something other than a vcpu fault: " + guestThrows);
        final long workerErrors = DeviceWorker.handlerErrorsOfAllWorkers() - workerErrorsAtStart;
        if (workerErrors != 0)
        {
            final Throwable last = DeviceWorker.lastErrorOfAllWorkers();
            throw new AssertionError("a device worker caught an exception: errors=" + workerErrors, last);
        }
        assertTrue(uncaught.isEmpty(), "a thread died of an uncaught exception: " + uncaught);
        checkCanary();
        checkBoundedWork();
        assertEquals(witnessCountersAtStart, witness.core().counters().total(),
            "the witness device refused something: " + witness.core().counters());
    }

    private void checkCanary()
    {
        // bound: the canary ranges, each compared in chunks of CANARY_CHUNK bytes
        for (final long[] range : canaryRanges(Math.max(allocatedTopAtStart, allocatedTop())))
        {
            for (long at = range[0]; at < range[1]; at += CANARY_CHUNK)
            {
                final long length = Math.min(CANARY_CHUNK, range[1] - at);
                final long mismatch = memory.slice(at, length).mismatch(canaryChunk.asSlice(0, length));
                if (mismatch >= 0)
                {
                    final long gpa = firstForeignWrite(at, length);
                    if (gpa >= 0)
                    {
                        fail("guest ram outside the areas set up was written: gpa=0x" + Long.toHexString(gpa)
                            + ", value=0x" + Integer.toHexString(memory.getByte(gpa) & 0xFF));
                    }
                }
            }
        }
    }

    /** @return the first byte in the chunk that lost the canary outside the declared ranges, or -1. */
    private long firstForeignWrite(final long from, final long length)
    {
        // bound: one pass over one chunk
        for (long gpa = from; gpa < from + length; gpa++)
        {
            if (memory.getByte(gpa) != CANARY && !declared(gpa))
            {
                return gpa;
            }
        }
        return -1;
    }

    private boolean declared(final long gpa)
    {
        // bound: the ranges the test declared
        for (final long[] range : mayWrite)
        {
            if (Long.compareUnsigned(gpa, range[0]) >= 0 && Long.compareUnsigned(gpa, range[1]) < 0)
            {
                return true;
            }
        }
        return false;
    }

    private void checkBoundedWork()
    {
        // bound: the devices attached before watch, each with its fixed queue count
        for (int d = 0; d < watched.size(); d++)
        {
            final TransportCore core = watched.get(d).core();
            for (int q = 0; q < poppedAtStart[d].length; q++)
            {
                final SplitQueue queue = core.queue(q);
                final long popped = queue.counters().get(QueueCounter.CHAINS_POPPED) - poppedAtStart[d][q];
                final long bound = popBound >= 0 ? popBound : 2L * Math.max(queue.size(), core.queueMaxSize(q));
                assertTrue(popped <= bound, "a queue did more work than the guest gave it: device=" + d
                    + ", queue=" + q + ", popped=" + popped + ", bound=" + bound);
                assertTrue(queue.inFlight() <= queue.size(), "more chains in flight than the queue holds: device="
                    + d + ", queue=" + q + ", inFlight=" + queue.inFlight() + ", size=" + queue.size());
            }
        }
    }

    /**
     * One round trip through a {@link LoopbackDevice} queue the driver set up: a payload out, the same bytes back,
     * checked byte for byte. Polls the used ring (interrupts of other devices on vCPU 0 are left alone).
     *
     * @param device a loopback device attached to the watched machine, at DRIVER_OK with {@code queue} set up.
     * @param queue  the queue index.
     */
    public void loopbackRoundTrip(final AttachedDevice device, final int queue)
    {
        final SplitQueueDriver ring = device.driver().queue(queue);
        assertTrue(ring != null, "the queue was not set up: queue=" + queue);
        final byte[] payload = new byte[64];
        payloadSeed++;
        // bound: 64 bytes
        for (int i = 0; i < payload.length; i++)
        {
            payload[i] = (byte)(payloadSeed * 31 + i);
        }
        final GuestAddressSpace space = machine.vm().guestAddressSpace();
        final long out = space.allocate(payload.length, 64);
        final long in = space.allocate(payload.length, 64);
        memory.copyIn(out, payload, 0, payload.length);
        final int head = ring.post(new long[] {out, in}, new long[] {payload.length, payload.length}, 1, 1);
        assertTrue(head != SplitQueueDriver.NO_SPACE, "no room for a round trip: queue=" + queue);
        device.driver().kick(queue);
        int used = SplitQueueDriver.NOTHING_USED;
        // bound: MAX_POLLS polls, a failure timeout
        for (int i = 0; i < MAX_POLLS && used == SplitQueueDriver.NOTHING_USED; i++)
        {
            used = ring.reap();
            if (used == SplitQueueDriver.NOTHING_USED)
            {
                LockSupport.parkNanos(POLL_NANOS);
            }
        }
        assertEquals(head, used, "no round trip: queue=" + queue + ", counters=" + device.core().counters());
        final byte[] back = new byte[payload.length];
        memory.copyOut(in, back, 0, back.length);
        assertTrue(Arrays.equals(payload, back), "round trip bytes differ: queue=" + queue);
    }

    /**
     * Resets a {@link LoopbackDevice} through its driver, sets it up again with both queues and checks a round trip
     * on each: the recovery a NEEDS_RESET outcome requires.
     *
     * @param device a loopback device attached to the watched machine.
     * @param size   the queue size to set up.
     */
    public void loopbackRoundTripAfterReset(final AttachedDevice device, final int size)
    {
        device.driver().initialize(0);
        device.driver().setupQueue(0, size).disableInterrupts();
        device.driver().setupQueue(1, size).disableInterrupts();
        device.driver().driverOk();
        loopbackRoundTrip(device, 0);
        loopbackRoundTrip(device, 1);
    }

    /** @return the witness device the watch attached. */
    public AttachedDevice witness()
    {
        return witness;
    }

    private long allocatedTop()
    {
        final GuestRegion first = memory.regions().getFirst();
        final long allocEnd = first.guestBase() + first.size() - GuestAddressSpace.RESERVED_BYTES;
        return allocEnd - machine.vm().guestAddressSpace().free();
    }

    /** @return [from, to) ranges of RAM no ring or buffer was allocated in, given the allocator's top. */
    private List<long[]> canaryRanges(final long top)
    {
        final List<long[]> ranges = new ArrayList<>();
        final List<GuestRegion> regions = memory.regions();
        final GuestRegion first = regions.getFirst();
        final long allocEnd = first.guestBase() + first.size() - GuestAddressSpace.RESERVED_BYTES;
        if (first.guestBase() < LOW_MEMORY)
        {
            ranges.add(new long[] {first.guestBase(), Math.min(LOW_MEMORY, allocEnd)});
        }
        if (top < allocEnd)
        {
            ranges.add(new long[] {top, allocEnd});
        }
        // bound: the VM's RAM regions
        for (int i = 1; i < regions.size(); i++)
        {
            ranges.add(new long[] {regions.get(i).guestBase(), regions.get(i).guestBase() + regions.get(i).size()});
        }
        return ranges;
    }

    /** Restores the default uncaught exception handler. */
    @Override
    public void close()
    {
        Thread.setDefaultUncaughtExceptionHandler(previousHandler);
        arena.close();
    }
}
