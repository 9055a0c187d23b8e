package io.jvirtio.net.backend;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A backend that carries one Ethernet frame per UDP datagram, as QEMU's {@code -netdev dgram} does, so a QEMU guest
 * or any UDP program can be the peer. The virtio header does not travel: TX drops it (the device does not segment or
 * checksum, so a frame that still needs either is sent as it is), and RX frames arrive with an all-zero header.
 * <p>
 * Netty runs the socket on one event-loop thread, with native epoll where available and NIO otherwise. Received
 * datagrams go into a bounded single-producer, single-consumer ring of {@code slots} frames; a datagram that finds
 * the ring full, or is longer than a slot, is dropped and counted. All received frames are offered to pair 0 (the
 * one receive queue every driver uses after reset, virtio-v1.2 §5.1.6.5.6). TX copies the frame into a pooled Netty
 * buffer and hands it to the event loop; when the socket's write buffer is above its high-water mark the frame is
 * dropped and counted, so a slow peer never makes memory grow. Netty's API needs a buffer and a datagram object per
 * sent frame: this backend, unlike the device and the echo backend, allocates on TX.
 * <p>
 * Thread safety: as {@link NetBackend}; {@link #remote(InetSocketAddress)}, the counters and {@link #close()} from any
 * thread.
 */
public final class UdpBackend implements NetBackend, AutoCloseable
{
    /** Frames the receive ring holds unless configured. */
    public static final int DEFAULT_SLOTS = 256;
    /** Bytes per receive slot unless configured: a full 1500-byte MTU Ethernet frame, rounded up. */
    public static final int DEFAULT_SLOT_BYTES = 2048;
    private static final long CLOSE_TIMEOUT_SECONDS = 10;

    private final EventLoopGroup group;
    private final Channel channel;
    private final int slotBytes;
    private final int slots;
    private final MemorySegment ring;
    private final int[] lengths;
    private final AtomicLong head = new AtomicLong();
    private final AtomicLong tail = new AtomicLong();
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong txDropped = new AtomicLong();
    private final AtomicLong rxDropped = new AtomicLong();
    private volatile InetSocketAddress remote;
    private volatile RxWakeup wakeup;
    private volatile boolean started;

    /**
     * Binds the socket.
     *
     * @param local     the address to bind; port 0 for any free port.
     * @param remote    where frames are sent, or null until {@link #remote(InetSocketAddress)} is called.
     * @param slots     frames the receive ring holds, at least 1.
     * @param slotBytes the largest received frame, 60..65550 bytes.
     * @throws IllegalStateException if the socket cannot be bound.
     */
    public UdpBackend(final InetSocketAddress local, final InetSocketAddress remote, final int slots,
        final int slotBytes)
    {
        if (slots < 1 || slotBytes < 60 || slotBytes > 65_550)
        {
            throw new IllegalArgumentException("bad receive ring: slots=" + slots + ", slotBytes=" + slotBytes);
        }
        this.slots = slots;
        this.slotBytes = slotBytes;
        this.remote = remote;
        this.ring = Arena.ofAuto().allocate((long)slots * slotBytes, Long.BYTES);
        this.lengths = new int[slots];
        final boolean epoll = Epoll.isAvailable();
        final IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        final Class<? extends DatagramChannel> type = epoll ? EpollDatagramChannel.class : NioDatagramChannel.class;
        group = new MultiThreadIoEventLoopGroup(1, io);
        try
        {
            channel = new Bootstrap().group(group).channel(type).handler(new Receiver()).bind(local).sync().channel();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            group.shutdownGracefully(0, CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            throw new IllegalStateException("interrupted while binding udp socket: local=" + local, ex);
        }
        catch (final RuntimeException ex)
        {
            group.shutdownGracefully(0, CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            throw new IllegalStateException("cannot bind udp socket: local=" + local, ex);
        }
    }

    /**
     * @param remote where frames are sent, or null until {@link #remote(InetSocketAddress)} is called.
     * @return a backend bound to a free port on 127.0.0.1 with the default ring.
     */
    public static UdpBackend loopback(final InetSocketAddress remote)
    {
        return new UdpBackend(new InetSocketAddress("127.0.0.1", 0), remote, DEFAULT_SLOTS, DEFAULT_SLOT_BYTES);
    }

    /** @return the bound local address (its port is the real one when port 0 was asked for). */
    public InetSocketAddress localAddress()
    {
        return (InetSocketAddress)channel.localAddress();
    }

    /** @param address where frames are sent from now on. */
    public void remote(final InetSocketAddress address)
    {
        remote = address;
    }

    /** @return true if the socket runs on native epoll, false on NIO. */
    public static boolean nativeTransport()
    {
        return Epoll.isAvailable();
    }

    @Override
    public void start(final int queuePairs, final RxWakeup rxWakeup)
    {
        wakeup = rxWakeup;
        started = true;
        if (head.get() != tail.get())
        {
            rxWakeup.framesAvailable(0);
        }
    }

    @Override
    public void transmit(final int pair, final MemorySegment packet, final int frameLength)
    {
        final InetSocketAddress to = remote;
        if (to == null || !channel.isWritable())
        {
            txDropped.getAndIncrement();
            return;
        }
        final ByteBuf buf = channel.alloc().directBuffer(frameLength);
        buf.writeBytes(packet.asSlice(FRAME_OFFSET, frameLength).asByteBuffer());
        channel.writeAndFlush(new DatagramPacket(buf, to), channel.voidPromise());
        sent.getAndIncrement();
    }

    @Override
    public int receive(final int pair, final MemorySegment packet)
    {
        if (pair != 0)
        {
            return NO_FRAME;
        }
        final long h = head.get();
        // acquire: the frame and its length, written before the producer's release of tail, are visible
        if (h == tail.getAcquire())
        {
            return NO_FRAME;
        }
        final int slot = (int)(h % slots);
        final int length = lengths[slot];
        if (FRAME_OFFSET + length > packet.byteSize())
        {
            rxDropped.getAndIncrement();
            head.setRelease(h + 1);
            return NO_FRAME;
        }
        // no offload metadata arrives over UDP: an all-zero header
        packet.asSlice(0, FRAME_OFFSET).fill((byte)0);
        MemorySegment.copy(ring, (long)slot * slotBytes, packet, FRAME_OFFSET, length);
        // release: the slot is free for the event loop only after it was copied
        head.setRelease(h + 1);
        return length;
    }

    @Override
    public void stop()
    {
        started = false;
        head.set(tail.get());
    }

    /** Closes the socket and its event loop. */
    @Override
    public void close()
    {
        channel.close().awaitUninterruptibly(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        group.shutdownGracefully(0, CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    /** @return frames handed to the socket. */
    public long sent()
    {
        return sent.get();
    }

    /** @return frames taken into the receive ring. */
    public long received()
    {
        return received.get();
    }

    /** @return TX frames dropped: no remote, or the socket's write buffer full. */
    public long txDropped()
    {
        return txDropped.get();
    }

    /** @return received datagrams dropped: ring full, longer than a slot, or the device not started. */
    public long rxDropped()
    {
        return rxDropped.get();
    }

    /** The event loop's side: each datagram becomes one frame in the ring. */
    private final class Receiver extends SimpleChannelInboundHandler<DatagramPacket>
    {
        @Override
        protected void channelRead0(final ChannelHandlerContext ctx, final DatagramPacket datagram)
        {
            final ByteBuf content = datagram.content();
            final int length = content.readableBytes();
            final long t = tail.get();
            // acquire: a slot the consumer released has been copied out before it is overwritten
            if (!started || length > slotBytes || t - head.getAcquire() == slots)
            {
                rxDropped.getAndIncrement();
                return;
            }
            final int slot = (int)(t % slots);
            content.getBytes(content.readerIndex(), ring.asSlice((long)slot * slotBytes, length).asByteBuffer());
            lengths[slot] = length;
            // release: the frame and its length are visible before the consumer sees the new tail
            tail.setRelease(t + 1);
            received.getAndIncrement();
            final RxWakeup w = wakeup;
            if (w != null)
            {
                w.framesAvailable(0);
            }
        }
    }
}
