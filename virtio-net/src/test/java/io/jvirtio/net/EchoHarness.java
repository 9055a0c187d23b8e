package io.jvirtio.net;

import io.jvirtio.bus.event.IdleStrategy;
import io.jvirtio.net.backend.EchoBackend;
import io.jvirtio.net.backend.NetBackend;
import io.jvirtio.net.driver.NetQueuePairDriver;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.queue.SplitQueueDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import static io.jvirtio.net.NetFeatures.bit;

/**
 * A running {@link NetDevice} with the echo backend and its workers, and a guest driver per queue pair on the test
 * thread: frames of mixed sizes go out on TX and are checked byte for byte and in order when they come back on RX.
 * The loop allocates nothing, so the allocation test can use it too.
 */
final class EchoHarness implements AutoCloseable
{
    static final int QUEUE_SIZE = 256;
    static final int MAX_OUTSTANDING = 128;
    static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(60);

    final NetRig rig;
    final NetDevice device;
    final EchoBackend echo = EchoBackend.plain();
    final NetQueuePairDriver[] drivers;
    final int pairs;
    final long[] sent;
    final long[] received;
    private final MemorySegment src = Arena.ofAuto().allocate(2048);
    private final MemorySegment dst = Arena.ofAuto().allocate(NetQueuePair.MAX_FRAME);

    EchoHarness(final int pairs, final boolean mergeable, final boolean eventIdx, final IdleStrategy idle)
    {
        this(pairs, mergeable, eventIdx, idle, false);
    }

    EchoHarness(final int pairs, final boolean mergeable, final boolean eventIdx, final IdleStrategy idle,
        final boolean sharedKick)
    {
        this(pairs, mergeable, eventIdx, idle, sharedKick, UnaryOperator.identity());
    }

    /** @param wrap turns the echo backend into the device's backend (a decorator around it, or itself). */
    EchoHarness(final int pairs, final boolean mergeable, final boolean eventIdx, final IdleStrategy idle,
        final boolean sharedKick, final UnaryOperator<NetBackend> wrap)
    {
        this.pairs = pairs;
        long features = VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1) | bit(NetFeatures.VIRTIO_NET_F_MTU)
            | bit(NetFeatures.VIRTIO_NET_F_MAC) | bit(NetFeatures.VIRTIO_NET_F_STATUS)
            | bit(NetFeatures.VIRTIO_NET_F_CTRL_VQ) | bit(NetFeatures.VIRTIO_NET_F_MQ);
        if (mergeable)
        {
            features |= bit(NetFeatures.VIRTIO_NET_F_MRG_RXBUF);
        }
        if (eventIdx)
        {
            features |= VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_EVENT_IDX);
        }
        rig = new NetRig(2 * pairs + 1, QUEUE_SIZE, features, sharedKick);
        device = new NetDevice(NetConfig.defaults().withQueuePairs(pairs), wrap.apply(echo), idle);
        device.attach(rig.host);
        device.activate(rig.context());
        drivers = new NetQueuePairDriver[pairs];
        sent = new long[pairs];
        received = new long[pairs];
        for (int p = 0; p < pairs; p++)
        {
            drivers[p] = rig.pairDriver(p, mergeable ? 512 : 1526, 1514, mergeable);
            drivers[p].fillRx();
            if (drivers[p].rxNeedsKick())
            {
                rig.kicks[2 * p].signal();
            }
        }
        if (pairs > 1)
        {
            setQueuePairs(pairs);
        }
    }

    /** Sends VQ_PAIRS_SET through the control queue and waits for the answer. */
    void setQueuePairs(final int count)
    {
        final int ctrl = 2 * pairs;
        final SplitQueueDriver driver = rig.drivers[ctrl];
        final long cmd = rig.put(new byte[] {ControlLayout.VIRTIO_NET_CTRL_MQ,
            ControlLayout.VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, (byte)count, 0});
        final long ack = rig.put(new byte[] {(byte)0xFF});
        driver.post(new long[] {cmd, ack}, new long[] {4, 1}, 1, 1);
        driver.publish();
        if (driver.needsKick())
        {
            rig.kicks[ctrl].signal();
        }
        final long deadline = System.nanoTime() + TIMEOUT_NANOS;
        while (driver.reap() == SplitQueueDriver.NOTHING_USED)
        {
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("control command not answered");
            }
            Thread.onSpinWait();
        }
        if (rig.memory.getByte(ack) != ControlLayout.VIRTIO_NET_OK)
        {
            throw new AssertionError("VQ_PAIRS_SET refused: count=" + count);
        }
    }

    static int frameLength(final long seq)
    {
        // 60 to 1514 bytes, mixed: the minimum Ethernet frame to a full MTU-sized one
        return 60 + (int)((seq * 97) % 1455);
    }

    /** @return the byte at offset {@code i} of frame {@code seq} on pair {@code pair}. */
    static byte pattern(final int pair, final long seq, final int i)
    {
        return (byte)(seq * 31 + i * 7 + pair * 13);
    }

    /**
     * Runs until every pair has sent and got back {@code frames} more frames, each checked.
     *
     * @return frames checked in all.
     */
    long run(final long frames)
    {
        final long[] target = new long[pairs];
        for (int p = 0; p < pairs; p++)
        {
            target[p] = received[p] + frames;
        }
        final long deadline = System.nanoTime() + TIMEOUT_NANOS;
        long checked = 0;
        boolean done = false;
        while (!done)
        {
            done = true;
            for (int p = 0; p < pairs; p++)
            {
                checked += step(p, target[p]);
                done &= received[p] == target[p];
            }
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("echo did not complete: pair0 received=" + received[0] + " of "
                    + target[0]);
            }
        }
        return checked;
    }

    private int step(final int p, final long target)
    {
        final NetQueuePairDriver d = drivers[p];
        // bound: at most MAX_OUTSTANDING frames in flight per pair, so the echo ring never overflows
        while (sent[p] < target && sent[p] - received[p] < MAX_OUTSTANDING)
        {
            final int length = frameLength(sent[p]);
            for (int i = 0; i < length; i++)
            {
                src.set(ValueLayout.JAVA_BYTE, i, pattern(p, sent[p], i));
            }
            if (!d.send(src, 0, length))
            {
                break;
            }
            sent[p]++;
        }
        if (d.txNeedsKick())
        {
            rig.kicks[2 * p + 1].signal();
        }
        d.reapTx();
        int checked = 0;
        // bound: at most the frames in flight
        for (int n = d.receive(dst, 0); n != NetQueuePairDriver.NO_FRAME; n = d.receive(dst, 0))
        {
            final long seq = received[p];
            if (n != frameLength(seq))
            {
                throw new AssertionError("frame out of order or truncated: pair=" + p + ", seq=" + seq
                    + ", length=" + n);
            }
            for (int i = 0; i < n; i++)
            {
                if (dst.get(ValueLayout.JAVA_BYTE, i) != pattern(p, seq, i))
                {
                    throw new AssertionError("echo differs: pair=" + p + ", seq=" + seq + ", offset=" + i);
                }
            }
            received[p]++;
            checked++;
        }
        if (d.fillRx() > 0 && d.rxNeedsKick())
        {
            rig.kicks[2 * p].signal();
        }
        return checked;
    }

    @Override
    public void close()
    {
        device.reset();
        rig.close();
    }
}
