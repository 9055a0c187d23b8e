package io.jvirtio.net.driver;

import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.net.NetHeaderLayout;
import io.jvirtio.virtio.queue.DescriptorChain;
import io.jvirtio.virtio.queue.PopStatus;
import io.jvirtio.virtio.queue.QueueBrokenListener;
import io.jvirtio.virtio.queue.SplitQueue;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The guest driver against the device side of the rings, played by hand: the chains it builds, the header it sends,
 * and how it reassembles and checks what the device returns.
 */
class NetQueuePairDriverTest
{
    private static final int SIZE = 8;

    private final GuestMemory memory = GuestMemory.anonymous(8L << 20);
    private final SplitQueue rxQueue = new SplitQueue(memory, SIZE, QueueBrokenListener.NONE);
    private final SplitQueue txQueue = new SplitQueue(memory, SIZE, QueueBrokenListener.NONE);
    private final DescriptorChain chain = new DescriptorChain(SIZE);
    private final MemorySegment frame = MemorySegment.ofArray(new byte[4096]);

    @AfterEach
    void tearDown()
    {
        memory.close();
    }

    private NetQueuePairDriver driver(final int rxBufferSize, final boolean mergeable)
    {
        final SplitQueueConfig rxConfig = SplitQueueConfig.contiguous(0x1000, SIZE, false, false);
        final SplitQueueConfig txConfig = SplitQueueConfig.contiguous(0x3000, SIZE, false, false);
        rxQueue.activate(rxConfig);
        txQueue.activate(txConfig);
        return new NetQueuePairDriver(memory, new SplitQueueDriver(memory, rxConfig),
            new SplitQueueDriver(memory, txConfig), 0x10_0000, rxBufferSize, 1514, mergeable);
    }

    @Test
    void shouldSendHeaderAndFrameAsOneReadableBufferAndClearStagedHeader()
    {
        final NetQueuePairDriver d = driver(1526, false);
        for (int i = 0; i < 100; i++)
        {
            frame.set(ValueLayout.JAVA_BYTE, i, (byte)i);
        }
        d.txHeader().flags(NetHeaderLayout.VIRTIO_NET_HDR_F_NEEDS_CSUM).csumStart(34).csumOffset(6);
        assertTrue(d.send(frame, 0, 100));
        assertTrue(d.txNeedsKick());
        assertEquals(PopStatus.CHAIN, txQueue.pop(chain));
        assertEquals(1, chain.readableSegments());
        assertEquals(112, chain.readableBytes());
        final byte[] packet = new byte[112];
        chain.read(0, packet, 0, 112);
        assertEquals(1, packet[0]);
        assertEquals(34, packet[NetHeaderLayout.CSUM_START_OFFSET]);
        assertEquals(99, packet[111]);
        txQueue.complete(chain, 0);
        txQueue.publish();
        assertEquals(1, d.reapTx());
        assertEquals(0, d.txHeader().flags(), "the staged header is cleared after send");
    }

    @Test
    void shouldReportFullWhenEverySlotIsInFlight()
    {
        final NetQueuePairDriver d = driver(1526, false);
        for (int i = 0; i < SIZE; i++)
        {
            assertTrue(d.send(frame, 0, 60));
        }
        assertFalse(d.send(frame, 0, 60));
        assertThrows(IllegalArgumentException.class, () -> d.send(frame, 0, 1515));
    }

    @Test
    void shouldReassembleMergedBuffersInOrder()
    {
        final NetQueuePairDriver d = driver(64, true);
        assertEquals(SIZE, d.fillRx());
        final byte[] packet = new byte[12 + 100];
        packet[NetHeaderLayout.NUM_BUFFERS_OFFSET] = 2;
        for (int i = 0; i < 100; i++)
        {
            packet[12 + i] = (byte)(i + 1);
        }
        final DescriptorChain second = new DescriptorChain(SIZE);
        rxQueue.pop(chain);
        rxQueue.pop(second);
        chain.write(0, packet, 0, 64);
        second.write(0, packet, 64, 48);
        rxQueue.complete(chain);
        rxQueue.complete(second);
        assertEquals(NetQueuePairDriver.NO_FRAME, d.receive(frame, 0), "nothing published yet");
        rxQueue.publish();
        assertEquals(100, d.receive(frame, 0));
        final byte[] expected = new byte[100];
        System.arraycopy(packet, 12, expected, 0, 100);
        assertArrayEquals(expected, frame.asSlice(0, 100).toArray(ValueLayout.JAVA_BYTE));
        assertEquals(2, d.rxHeader().numBuffers());
        assertEquals(2, d.rxBuffersFree());
    }

    @Test
    void shouldRefuseNumBuffersAboveOneWithoutMergeable()
    {
        final NetQueuePairDriver d = driver(1526, false);
        d.fillRx();
        final byte[] packet = new byte[12 + 10];
        packet[NetHeaderLayout.NUM_BUFFERS_OFFSET] = 2;
        rxQueue.pop(chain);
        chain.write(0, packet, 0, packet.length);
        rxQueue.complete(chain);
        rxQueue.publish();
        assertThrows(IllegalStateException.class, () -> d.receive(frame, 0));
    }
}
