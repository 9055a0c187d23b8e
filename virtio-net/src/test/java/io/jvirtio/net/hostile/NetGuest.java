package io.jvirtio.net.hostile;

import io.jvirtio.bus.event.BackoffIdleStrategy;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.net.NetConfig;
import io.jvirtio.net.NetCounter;
import io.jvirtio.net.NetDevice;
import io.jvirtio.net.NetFeatures;
import io.jvirtio.net.NetHeaderLayout;
import io.jvirtio.net.backend.NetBackend;
import io.jvirtio.virtio.driver.VirtioDriver;
import io.jvirtio.virtio.machine.AttachedDevice;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.machine.VirtioMachine;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.testkit.HostHealth;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A hostile guest in front of a {@link NetDevice} on a real transport: a {@link VirtioMachine}, the device with a
 * {@link HostileBackend}, the guest driver at DRIVER_OK with queue pair 0 (every pair with MQ) and the control queue
 * when CTRL_VQ is negotiated, and a {@link HostHealth} watch started once the rings exist. Every kick and register
 * access is a vCPU exit; what goes into the rings is whatever the test writes.
 * <p>
 * Thread safety: the test thread, which plays the guest on vCPU 0.
 */
final class NetGuest implements AutoCloseable
{
    /** Queue Size of every queue. */
    static final int QUEUE_SIZE = 64;
    /** The header every frame carries: {@code virtio_net_hdr} with {@code num_buffers}, 12 bytes. */
    static final int HEADER = NetHeaderLayout.LENGTH;
    /** Polls before a wait fails; each parks {@link #POLL_NANOS}: a failure timeout, never a measurement. */
    private static final int MAX_POLLS = 200_000;
    private static final long POLL_NANOS = 50_000;

    final VirtioMachine machine;
    final GuestMemory memory;
    final NetDevice device;
    final HostileBackend backend = new HostileBackend();
    final AttachedDevice attached;
    final VirtioDriver driver;
    final SplitQueueDriver rx;
    final SplitQueueDriver tx;
    final SplitQueueDriver ctrl;
    final int ctrlIndex;
    final long features;
    final HostHealth health;

    /** @param wanted the features the driver accepts (VERSION_1 is added; the offer limits the rest). */
    NetGuest(final TransportKind kind, final long wanted)
    {
        this(kind, wanted, NetConfig.defaults().withQueueSize(QUEUE_SIZE));
    }

    NetGuest(final TransportKind kind, final long wanted, final NetConfig config)
    {
        machine = VirtioMachine.create(VmConfig.defaults());
        memory = machine.vm().memory();
        device = new NetDevice(config, backend, new BackoffIdleStrategy());
        attached = machine.attach(device, kind);
        driver = attached.driver();
        features = driver.initialize(wanted);
        final int pairs = NetFeatures.has(features, NetFeatures.VIRTIO_NET_F_MQ) ? config.maxQueuePairs() : 1;
        // bound: the device's pairs, at most 64
        for (int q = 0; q < 2 * pairs; q++)
        {
            driver.setupQueue(q, QUEUE_SIZE).disableInterrupts();
        }
        rx = driver.queue(0);
        tx = driver.queue(1);
        if (NetFeatures.has(features, NetFeatures.VIRTIO_NET_F_CTRL_VQ))
        {
            ctrlIndex = 2 * pairs;
            ctrl = driver.setupQueue(ctrlIndex, QUEUE_SIZE);
            ctrl.disableInterrupts();
        }
        else
        {
            ctrlIndex = -1;
            ctrl = null;
        }
        driver.driverOk();
        health = HostHealth.watch(machine);
    }

    /** @return the guest-physical address of a fresh copy of {@code bytes}. */
    long put(final byte[] bytes)
    {
        final long gpa = machine.vm().guestAddressSpace().allocate(Math.max(1, bytes.length), 8);
        memory.copyIn(gpa, bytes, 0, bytes.length);
        return gpa;
    }

    /** @return the guest-physical address of {@code length} fresh bytes for the device to write. */
    long buffer(final long length)
    {
        return machine.vm().guestAddressSpace().allocate(Math.max(1, length), 8);
    }

    /** Posts a chain on {@code queue} and kicks it (a notify exit when the device wants one). */
    int post(final int queue, final long[] addrs, final long[] lens, final int readable, final int writable)
    {
        final int head = driver.queue(queue).post(addrs, lens, readable, writable);
        assertNotEquals(SplitQueueDriver.NO_SPACE, head, "the ring is full");
        driver.kick(queue);
        return head;
    }

    /** Waits until the device used {@code head} on {@code queue}. @return the used length. */
    long awaitUsed(final int queue, final int head)
    {
        final SplitQueueDriver ring = driver.queue(queue);
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
        assertEquals(head, used, "the device did not use the chain: queue=" + queue + ", counters=" + counters());
        return ring.reapedLength();
    }

    /** Waits until {@code condition} holds; fails with {@code what} after the failure timeout. */
    void await(final BooleanSupplier condition, final String what)
    {
        // bound: MAX_POLLS polls, a failure timeout
        for (int i = 0; i < MAX_POLLS; i++)
        {
            if (condition.getAsBoolean())
            {
                return;
            }
            LockSupport.parkNanos(POLL_NANOS);
        }
        throw new AssertionError("timed out waiting: " + what + ", counters=" + counters());
    }

    /** @return the device's count of {@code counter}. */
    long count(final NetCounter counter)
    {
        return device.counters().get(counter);
    }

    /** Waits until {@code counter} reaches {@code value}. */
    void awaitCount(final NetCounter counter, final long value)
    {
        await(() -> count(counter) >= value, counter + " >= " + value);
    }

    /**
     * Transmits one packet made of {@code parts}, each in its own readable descriptor, and waits for its completion.
     *
     * @return the used length (TX chains are always completed with 0).
     */
    long transmit(final byte[]... parts)
    {
        final long[] addrs = new long[parts.length];
        final long[] lens = new long[parts.length];
        // bound: the parts the test gave
        for (int i = 0; i < parts.length; i++)
        {
            addrs[i] = put(parts[i]);
            lens[i] = parts[i].length;
        }
        return awaitUsed(1, post(1, addrs, lens, parts.length, 0));
    }

    /**
     * Sends a control command made of the readable {@code parts} followed by a writable ack of {@code ackLength}.
     *
     * @return {ack byte (or -1 if the device wrote none), used length}.
     */
    long[] command(final int ackLength, final byte[]... parts)
    {
        final int n = parts.length + (ackLength > 0 ? 1 : 0);
        final long[] addrs = new long[n];
        final long[] lens = new long[n];
        // bound: the parts the test gave
        for (int i = 0; i < parts.length; i++)
        {
            addrs[i] = put(parts[i]);
            lens[i] = parts[i].length;
        }
        long ack = 0;
        if (ackLength > 0)
        {
            ack = buffer(ackLength);
            memory.putByte(ack, (byte)0x7F);
            addrs[parts.length] = ack;
            lens[parts.length] = ackLength;
        }
        final long used = awaitUsed(ctrlIndex, post(ctrlIndex, addrs, lens, parts.length, ackLength > 0 ? 1 : 0));
        final int written = ackLength > 0 ? memory.getByte(ack) & 0xFF : -1;
        return new long[] {written == 0x7F ? -1 : written, used};
    }

    /** @return the device's counters, for failure messages. */
    String counters()
    {
        final StringBuilder text = new StringBuilder();
        for (final NetCounter counter : NetCounter.values())
        {
            if (device.counters().get(counter) != 0)
            {
                text.append(counter).append('=').append(device.counters().get(counter)).append(' ');
            }
        }
        return text.toString();
    }

    /**
     * The device's own traffic still flows both ways: a frame out reaches the backend intact, a frame in lands in a
     * fresh RX buffer intact. Then the host-health checks (worker and vCPU exceptions, canary, bounded work, witness).
     */
    void checkHealthy()
    {
        final byte[] frame = frame(60, 0x33);
        final int sentBefore = backend.transmitted.size();
        transmit(header(0, 0, 0, 0, 0, 0), frame);
        await(() -> backend.transmitted.size() > sentBefore, "a good frame reaching the backend");
        final byte[] sent = backend.transmitted.stream().skip(sentBefore).findFirst().orElseThrow();
        assertArrayEquals(frame, Arrays.copyOfRange(sent, HEADER, sent.length), "the frame out differs");
        final byte[] in = frame(60, 0x44);
        final long rxBuffer = buffer(HEADER + 1514);
        final int head = post(0, new long[] {rxBuffer}, new long[] {HEADER + 1514}, 0, 1);
        backend.offer(packet(in));
        final long used = awaitUsed(0, head);
        assertEquals(HEADER + in.length, used, "the frame in has the wrong length");
        final byte[] back = new byte[in.length];
        memory.copyOut(rxBuffer + HEADER, back, 0, back.length);
        assertArrayEquals(in, back, "the frame in differs");
        assertEquals(0, device.workerErrors(0), "the device's worker caught an exception");
        health.checkHealthy();
    }

    /** @return a 12-byte {@code virtio_net_hdr} with the given fields, little-endian. */
    static byte[] header(final int flags, final int gsoType, final int hdrLen, final int gsoSize,
        final int csumStart, final int csumOffset)
    {
        return header(flags, gsoType, hdrLen, gsoSize, csumStart, csumOffset, 0);
    }

    static byte[] header(final int flags, final int gsoType, final int hdrLen, final int gsoSize,
        final int csumStart, final int csumOffset, final int numBuffers)
    {
        return ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN).put((byte)flags).put((byte)gsoType)
            .putShort((short)hdrLen).putShort((short)gsoSize).putShort((short)csumStart).putShort((short)csumOffset)
            .putShort((short)numBuffers).array();
    }

    /** @return an Ethernet frame of {@code length} patterned bytes. */
    static byte[] frame(final int length, final int seed)
    {
        final byte[] frame = new byte[length];
        // bound: the frame's length
        for (int i = 0; i < length; i++)
        {
            frame[i] = (byte)(seed + i * 7);
        }
        return frame;
    }

    /** @return a packet for the backend to offer: a zero header, then {@code frame}. */
    static byte[] packet(final byte[] frame)
    {
        final byte[] packet = new byte[NetBackend.FRAME_OFFSET + frame.length];
        System.arraycopy(frame, 0, packet, NetBackend.FRAME_OFFSET, frame.length);
        return packet;
    }

    /** @return {@code bytes} as one array, concatenated. */
    static byte[] concat(final byte[]... bytes)
    {
        final ByteBuffer all = ByteBuffer.allocate(Arrays.stream(bytes).mapToInt(b -> b.length).sum());
        for (final byte[] part : bytes)
        {
            all.put(part);
        }
        return all.array();
    }

    /** @return true if the device's offer has feature {@code bit}. */
    boolean offered(final int bit)
    {
        return NetFeatures.has(driver.transport().readDeviceFeatures(), bit);
    }

    @Override
    public void close()
    {
        health.close();
        machine.close();
        assertTrue(device.activeWorkers() == 0, "the device's workers outlived the machine");
    }
}
