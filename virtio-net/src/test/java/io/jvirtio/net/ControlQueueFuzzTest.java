package io.jvirtio.net;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jvirtio.bus.testing.FuzzInput;
import io.jvirtio.bus.testing.FuzzSeeds;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static io.jvirtio.net.ControlLayout.HEADER_LENGTH;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MAC;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_MQ;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_CTRL_RX;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_ERR;
import static io.jvirtio.net.ControlLayout.VIRTIO_NET_OK;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_CTRL_RX;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_CTRL_VQ;
import static io.jvirtio.net.NetFeatures.VIRTIO_NET_F_MQ;
import static io.jvirtio.net.NetFeatures.bit;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coverage-guided fuzzing of the virtio-net control-queue parser (§5.1.6.5) with one arbitrary command per input:
 * features (CTRL_RX, MQ), class, command and payload, spread over up to four readable descriptors, and an ack
 * buffer of 0 to 4 writable bytes.
 * <p>
 * Invariants: nothing throws; the chain is completed once; a well-framed command (two header bytes readable, one
 * byte writable) is answered with exactly one ack byte that is VIRTIO_NET_OK or VIRTIO_NET_ERR, and OK is counted
 * in CTRL_OK; a badly framed one is completed with length 0, counted in CTRL_MISSING_HEADER, and its buffers are
 * not written; the receive filter and the active queue pairs change only when the ack is OK; the readable buffers
 * are never written.
 * <p>
 * Seeds live in {@code ControlQueueFuzzTestInputs/command}, written by {@link #seeds()}. Thread safety: JUnit's
 * thread only.
 */
class ControlQueueFuzzTest
{
    private static final int MAX_PAIRS = 4;
    private static final int QUEUE_SIZE = 8;
    /** Bound on the payload: the largest MAC table pair the filter keeps, plus room to overflow it. */
    private static final int MAX_PAYLOAD = 2 * (4 + 6 * (RxFilter.MAC_TABLE_ENTRIES + 2));
    private static final int MAX_PARTS = 4;
    private static final int[] CLASSES = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MQ};
    private static final byte ACK_SENTINEL = 0x5A;

    @FuzzTest(maxDuration = "0s", maxExecutions = 100_000)
    void command(final FuzzedDataProvider data)
    {
        final long features = bit(VIRTIO_NET_F_CTRL_VQ) | (data.consumeBoolean() ? bit(VIRTIO_NET_F_CTRL_RX) : 0)
            | (data.consumeBoolean() ? bit(VIRTIO_NET_F_MQ) : 0);
        final int commandClass = data.consumeBoolean() ? CLASSES[data.consumeInt(0, CLASSES.length - 1)]
            : data.consumeInt(0, 0xFF);
        final int command = data.consumeBoolean() ? data.consumeInt(0, 2) : data.consumeInt(0, 0xFF);
        final int headerBytes = data.consumeBoolean() ? HEADER_LENGTH : data.consumeInt(0, HEADER_LENGTH);
        final int ackBytes = data.consumeBoolean() ? 1 : data.consumeInt(0, 4);
        final int parts = data.consumeInt(1, MAX_PARTS);
        final byte[] payload = data.consumeBytes(MAX_PAYLOAD);

        final byte[] message = new byte[headerBytes + payload.length];
        final byte[] header = {(byte)commandClass, (byte)command};
        System.arraycopy(header, 0, message, 0, headerBytes);
        System.arraycopy(payload, 0, message, headerBytes, payload.length);

        try (NetRig rig = new NetRig(1, QUEUE_SIZE, features))
        {
            final NetCounters counters = new NetCounters();
            final RxFilter filter = new RxFilter();
            final AtomicInteger activePairs = new AtomicInteger(1);
            final ControlQueue control = new ControlQueue(rig.queues[0], 0, features, MAX_PAIRS, activePairs, filter,
                counters, rig.interrupt, rig.host);
            final SplitQueueDriver driver = rig.drivers[0];

            final long[] addrs = new long[MAX_PARTS + 1];
            final long[] lens = new long[MAX_PARTS + 1];
            final int used = split(rig, message, parts, addrs, lens);
            final long ack = rig.put(new byte[] {ACK_SENTINEL, ACK_SENTINEL, ACK_SENTINEL, ACK_SENTINEL});
            int writable = 0;
            if (ackBytes > 0)
            {
                addrs[used] = ack;
                lens[used] = ackBytes;
                writable = 1;
            }
            final int head = driver.post(Arrays.copyOf(addrs, used + writable), Arrays.copyOf(lens, used + writable),
                used, writable);
            driver.publish();

            final String before = state(filter, activePairs);
            control.process(QUEUE_SIZE);

            assertEquals(head, driver.reap(), "the command is completed");
            final byte answer = rig.memory.getByte(ack);
            // framing is the chain's: two readable bytes however the driver split them, and one writable byte
            final boolean framed = message.length >= HEADER_LENGTH && ackBytes >= 1;
            if (framed)
            {
                assertEquals(1, driver.reapedLength(), "one ack byte");
                assertTrue(answer == VIRTIO_NET_OK || answer == VIRTIO_NET_ERR, "ack is OK or ERR: " + answer);
                assertEquals(answer == VIRTIO_NET_OK ? 1 : 0, counters.get(NetCounter.CTRL_OK), "OK counted");
            }
            else
            {
                assertEquals(0, driver.reapedLength(), "nothing written for a badly framed command");
                assertEquals(ACK_SENTINEL, answer, "the ack buffer is untouched");
                assertEquals(1, counters.get(NetCounter.CTRL_MISSING_HEADER), "counted as missing header");
            }
            if (!framed || answer != VIRTIO_NET_OK)
            {
                assertEquals(before, state(filter, activePairs), "state changes only on OK");
            }
            final byte[] readBack = new byte[message.length];
            int at = 0;
            for (int i = 0; i < used; i++)
            {
                rig.memory.copyOut(addrs[i], readBack, at, (int)lens[i]);
                at += (int)lens[i];
            }
            assertArrayEquals(message, readBack, "readable buffers never written");
        }
    }

    /** Spreads {@code message} over {@code parts} readable descriptors; returns how many it used (at least one). */
    private static int split(final NetRig rig, final byte[] message, final int parts, final long[] addrs,
        final long[] lens)
    {
        if (message.length == 0)
        {
            addrs[0] = rig.put(new byte[1]);
            lens[0] = 0;
            return 1;
        }
        final int count = Math.min(parts, message.length);
        final int chunk = (message.length + count - 1) / count;
        int used = 0;
        // bound: at most MAX_PARTS descriptors
        for (int from = 0; from < message.length; from += chunk)
        {
            final byte[] part = Arrays.copyOfRange(message, from, Math.min(message.length, from + chunk));
            addrs[used] = rig.put(part);
            lens[used] = part.length;
            used++;
        }
        return used;
    }

    private static String state(final RxFilter filter, final AtomicInteger activePairs)
    {
        final StringBuilder s = new StringBuilder().append(filter.promiscuous()).append(filter.allMulticast())
            .append(filter.unicastCount()).append(filter.multicastCount()).append(filter.unicastOverflow())
            .append(filter.multicastOverflow()).append(activePairs.get());
        for (int i = 0; i < filter.unicastCount(); i++)
        {
            s.append(',').append(filter.unicast(i));
        }
        for (int i = 0; i < filter.multicastCount(); i++)
        {
            s.append(';').append(filter.multicast(i));
        }
        return s.toString();
    }

    @Test
    void shouldMatchCheckedInSeeds()
    {
        FuzzSeeds.check(ControlQueueFuzzTest.class, "command", seeds());
    }

    /** @return the seed inputs by file name. */
    static Map<String, byte[]> seeds()
    {
        final byte[] macTables = {2, 0, 0, 0, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x54, 0, 0x12, 0x34, 0x57,
            1, 0, 0, 0, 0x01, 0, 0x5E, 0, 0, 1};
        return Map.of(
            "rx-promisc-off", seed(true, false, 0, 0, 1, new byte[] {0}),
            "rx-allmulti-bad-length", seed(true, false, 0, 1, 2, new byte[] {1, 1}),
            "mac-table-set", seed(true, false, 1, 0, 3, macTables),
            "mac-table-count-past-payload", seed(true, false, 1, 0, 1, new byte[] {(byte)0xFF, (byte)0xFF, 0, 0}),
            "mq-pairs-set", seed(false, true, 2, 0, 1, new byte[] {2, 0}),
            "mq-pairs-zero", seed(false, true, 2, 0, 1, new byte[] {0, 0}),
            "rx-without-feature", seed(false, false, 0, 0, 1, new byte[] {1}));
    }

    private static byte[] seed(final boolean ctrlRx, final boolean mq, final int classIndex, final int command,
        final int parts, final byte[] payload)
    {
        return new FuzzInput().bool(ctrlRx).bool(mq).bool(true).integer(classIndex, 0, CLASSES.length - 1)
            .bool(true).integer(command, 0, 2).bool(true).bool(true).integer(parts, 1, MAX_PARTS).rest(payload)
            .toBytes();
    }
}
