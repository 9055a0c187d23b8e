package io.jvirtio.samples.guest;

import io.jvirtio.net.backend.NetBackend;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Puts a jvirtio {@link NetBackend} on the far side of QEMU's own virtio-net through QEMU's UDP socket netdev
 * ({@link QemuGuest#netUdp}): each datagram from QEMU is a frame the guest sent, handed to the backend's
 * {@link NetBackend#transmit}; every frame the backend then has for the guest ({@link NetBackend#receive}) goes back
 * as one datagram. So the responder and echo backends face a real Linux guest before the vhost-user back-end exists.
 * <p>
 * One bridge thread plays the worker of queue pair 0, as the {@link NetBackend} contract wants.
 * <p>
 * Thread safety: construct and close on one thread; counters from any thread.
 */
final class UdpFrameBridge implements AutoCloseable
{
    private static final int POLL_MILLIS = 100;
    private static final int MAX_DATAGRAM = 65_535;
    /** The most replies drained per incoming frame: more than any backend here makes for one frame. */
    private static final int MAX_REPLIES_PER_FRAME = 64;

    private final NetBackend backend;
    private final DatagramSocket socket;
    private final int qemuPort;
    private final Thread thread;
    private final AtomicLong fromGuest = new AtomicLong();
    private final AtomicLong toGuest = new AtomicLong();
    private volatile boolean running = true;

    UdpFrameBridge(final NetBackend backend) throws IOException
    {
        this.backend = backend;
        this.socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        socket.setSoTimeout(POLL_MILLIS);
        try (DatagramSocket probe = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)))
        {
            // a free port for QEMU to bind: closed again at once, so another process could take it first (rare)
            qemuPort = probe.getLocalPort();
        }
        backend.start(1, (final int pair) ->
        {
        });
        thread = Thread.ofPlatform().name("udp-frame-bridge").daemon().start(this::pump);
    }

    /** @return the port this bridge receives the guest's frames on. */
    int hostPort()
    {
        return socket.getLocalPort();
    }

    /** @return the port QEMU is to receive frames for the guest on. */
    int qemuPort()
    {
        return qemuPort;
    }

    /** @return frames the guest sent that reached the backend. */
    long fromGuest()
    {
        return fromGuest.get();
    }

    /** @return frames the backend sent back to the guest. */
    long toGuest()
    {
        return toGuest.get();
    }

    private void pump()
    {
        final byte[] tx = new byte[NetBackend.FRAME_OFFSET + MAX_DATAGRAM];
        final byte[] rx = new byte[NetBackend.FRAME_OFFSET + MAX_DATAGRAM];
        final MemorySegment txPacket = MemorySegment.ofArray(tx);
        final MemorySegment rxPacket = MemorySegment.ofArray(rx);
        final DatagramPacket in = new DatagramPacket(tx, NetBackend.FRAME_OFFSET, MAX_DATAGRAM);
        final InetSocketAddress qemu = new InetSocketAddress(InetAddress.getLoopbackAddress(), qemuPort);
        // bound: runs until close()
        while (running)
        {
            try
            {
                in.setData(tx, NetBackend.FRAME_OFFSET, MAX_DATAGRAM);
                socket.receive(in);
                Arrays.fill(tx, 0, NetBackend.FRAME_OFFSET, (byte)0);
                backend.transmit(0, txPacket, in.getLength());
                fromGuest.getAndIncrement();
                // bound: MAX_REPLIES_PER_FRAME frames per incoming frame
                for (int i = 0; i < MAX_REPLIES_PER_FRAME; i++)
                {
                    final int length = backend.receive(0, rxPacket);
                    if (length == NetBackend.NO_FRAME)
                    {
                        break;
                    }
                    socket.send(new DatagramPacket(rx, NetBackend.FRAME_OFFSET, length, qemu));
                    toGuest.getAndIncrement();
                }
            }
            catch (final SocketTimeoutException e)
            {
                // nothing from the guest within the poll interval: look at running again
            }
            catch (final IOException e)
            {
                if (running)
                {
                    throw new UncheckedIOException("udp frame bridge failed: port=" + hostPort(), e);
                }
            }
        }
    }

    @Override
    public void close() throws InterruptedException
    {
        running = false;
        thread.join();
        socket.close();
        backend.stop();
    }
}
