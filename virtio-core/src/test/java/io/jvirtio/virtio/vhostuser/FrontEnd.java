package io.jvirtio.virtio.vhostuser;

import io.jvirtio.bus.event.LinuxEventFd;
import io.jvirtio.bus.linux.Libc;
import io.jvirtio.bus.linux.UnixSocket;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.queue.SplitQueueConfig;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.HEADER_LENGTH;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.NEED_REPLY;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.VERSION;

/**
 * A vhost-user front-end written for the tests, as QEMU plays it: guest RAM in a memfd shared by fd, ring addresses
 * given in its own "user" address space ({@link #USER_BASE} plus the guest-physical address), real eventfds for kicks
 * and calls, and raw access to the wire for the hostile cases.
 * <p>
 * Thread safety: one test thread.
 */
final class FrontEnd implements AutoCloseable
{
    /** Guest RAM size: 1 MiB at guest-physical 0. */
    static final long RAM = 1 << 20;
    /** Where the front-end "maps" guest RAM in its own address space. */
    static final long USER_BASE = 0x7f00_0000_0000L;
    /** How long {@link #isClosedByBackEnd()} waits for the close: a failure timeout, never a measurement. */
    private static final int CLOSE_TIMEOUT_MS = 10_000;
    /** Bit 30 of GET_FEATURES. */
    static final long PROTOCOL_FEATURES_BIT =
        VirtioFeatures.bit(VhostUserProtocolFeature.VHOST_USER_F_PROTOCOL_FEATURES);

    final UnixSocket socket;
    final GuestRegion region;
    final GuestMemory memory;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment out = arena.allocate(HEADER_LENGTH + VhostUserMessageLayout.MAX_PAYLOAD, 8);
    private final MemorySegment in = arena.allocate(HEADER_LENGTH + VhostUserMessageLayout.MAX_PAYLOAD, 8);
    /** One {@code struct pollfd}: fd, events, revents. */
    private final MemorySegment pollFd = arena.allocate(8, 4);

    FrontEnd(final Path path) throws IOException
    {
        socket = UnixSocket.connect(path);
        region = GuestRegion.memfd(0, RAM, "guest-ram");
        memory = GuestMemory.of(region);
    }

    /** Sends a raw message: any request, flags and size field, {@code payload} bytes as given, and fds. */
    long sendRaw(final int request, final int flags, final int sizeField, final byte[] payload, final int... fds)
    {
        out.set(ValueLayout.JAVA_INT_UNALIGNED, 0, request);
        out.set(ValueLayout.JAVA_INT_UNALIGNED, 4, flags);
        out.set(ValueLayout.JAVA_INT_UNALIGNED, 8, sizeField);
        MemorySegment.copy(payload, 0, out, ValueLayout.JAVA_BYTE, HEADER_LENGTH, payload.length);
        return socket.send(out, 0, HEADER_LENGTH + payload.length, fds, fds.length);
    }

    /** Sends a well-formed message with NEED_REPLY. */
    void send(final int request, final byte[] payload, final int... fds)
    {
        final long sent = sendRaw(request, VERSION | NEED_REPLY, payload.length, payload, fds);
        if (sent < 0)
        {
            throw new IllegalStateException("send failed: errno=" + -sent);
        }
    }

    /** @return the reply's payload; fails if the connection ended. */
    byte[] reply(final int request)
    {
        final long n = socket.receiveFully(in, 0, HEADER_LENGTH);
        if (n != HEADER_LENGTH)
        {
            throw new IllegalStateException("no reply: read=" + n + ", request=" + VhostUserRequest.name(request));
        }
        final int size = in.get(ValueLayout.JAVA_INT_UNALIGNED, 8);
        if (in.get(ValueLayout.JAVA_INT_UNALIGNED, 0) != request)
        {
            throw new IllegalStateException("reply to another request: " + in.get(ValueLayout.JAVA_INT_UNALIGNED, 0));
        }
        socket.receiveFully(in, HEADER_LENGTH, size);
        return in.asSlice(HEADER_LENGTH, size).toArray(ValueLayout.JAVA_BYTE);
    }

    /** A message with NEED_REPLY that has no reply of its own: the REPLY_ACK status must be 0. */
    void call(final int request, final byte[] payload, final int... fds)
    {
        send(request, payload, fds);
        final long status = u64(reply(request));
        if (status != 0)
        {
            throw new IllegalStateException("refused: request=" + VhostUserRequest.name(request));
        }
    }

    long getU64(final int request)
    {
        send(request, new byte[0]);
        return u64(reply(request));
    }

    /** @return true once the back-end closed the connection (end of stream, after any pending reply). */
    boolean isClosedByBackEnd()
    {
        // bound: a refused message gets at most one REPLY_ACK before the close
        for (int i = 0; i < 2; i++)
        {
            // a back-end that accepted the message sends nothing more: fail after the timeout instead of hanging
            pollFd.set(ValueLayout.JAVA_INT, 0, socket.fd());
            pollFd.set(ValueLayout.JAVA_SHORT, 4, (short)Libc.POLLIN);
            pollFd.set(ValueLayout.JAVA_SHORT, 6, (short)0);
            if (Libc.poll(pollFd, 1, CLOSE_TIMEOUT_MS) <= 0)
            {
                return false;
            }
            final long n = socket.receive(in, 0, HEADER_LENGTH + 8);
            if (n <= 0)
            {
                return true;
            }
        }
        return false;
    }

    /** GET_FEATURES, GET/SET_PROTOCOL_FEATURES (all offered), SET_OWNER, SET_FEATURES (all offered). */
    long negotiate()
    {
        final long features = getU64(VhostUserRequest.GET_FEATURES);
        final long protocol = getU64(VhostUserRequest.GET_PROTOCOL_FEATURES);
        // without NEED_REPLY, as QEMU sends it: REPLY_ACK is not negotiated before this message
        sendRaw(VhostUserRequest.SET_PROTOCOL_FEATURES, VERSION, 8, u64(protocol));
        call(VhostUserRequest.SET_OWNER, new byte[0]);
        call(VhostUserRequest.SET_FEATURES, u64(features));
        return features;
    }

    /** SET_MEM_TABLE with one region: guest RAM at gpa 0, user address {@link #USER_BASE}. */
    void setMemTable()
    {
        call(VhostUserRequest.SET_MEM_TABLE, memTable(new long[] {0}, new long[] {RAM}, new long[] {USER_BASE},
            new long[] {0}), region.fd());
    }

    /** Sets up and starts ring {@code index} with the given configuration, kick and call; enables it. */
    void startRing(final int index, final SplitQueueConfig config, final LinuxEventFd kick, final LinuxEventFd call)
    {
        call(VhostUserRequest.SET_VRING_NUM, state(index, config.size()));
        call(VhostUserRequest.SET_VRING_BASE, state(index, 0));
        call(VhostUserRequest.SET_VRING_ADDR, addr(index, USER_BASE + config.descTable(),
            USER_BASE + config.usedRing(), USER_BASE + config.availRing()));
        call(VhostUserRequest.SET_VRING_CALL, u64(index), call.fd());
        call(VhostUserRequest.SET_VRING_KICK, u64(index), kick.fd());
        call(VhostUserRequest.SET_VRING_ENABLE, state(index, 1));
    }

    /** @return GET_VRING_BASE's answer for ring {@code index}. */
    int getVringBase(final int index)
    {
        send(VhostUserRequest.GET_VRING_BASE, state(index, 0));
        final byte[] reply = reply(VhostUserRequest.GET_VRING_BASE);
        return MemorySegment.ofArray(reply).get(ValueLayout.JAVA_INT_UNALIGNED, 4);
    }

    static byte[] u64(final long value)
    {
        final byte[] bytes = new byte[8];
        MemorySegment.ofArray(bytes).set(ValueLayout.JAVA_LONG_UNALIGNED, 0, value);
        return bytes;
    }

    static long u64(final byte[] bytes)
    {
        return MemorySegment.ofArray(bytes).get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
    }

    static byte[] state(final int index, final int num)
    {
        final byte[] bytes = new byte[VhostUserMessageLayout.STATE_LENGTH];
        final MemorySegment s = MemorySegment.ofArray(bytes);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 0, index);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 4, num);
        return bytes;
    }

    static byte[] addr(final int index, final long desc, final long used, final long avail)
    {
        final byte[] bytes = new byte[VhostUserMessageLayout.ADDR_LENGTH];
        final MemorySegment s = MemorySegment.ofArray(bytes);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, VhostUserMessageLayout.ADDR_INDEX_OFFSET, index);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, VhostUserMessageLayout.ADDR_DESC_OFFSET, desc);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, VhostUserMessageLayout.ADDR_USED_OFFSET, used);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, VhostUserMessageLayout.ADDR_AVAIL_OFFSET, avail);
        return bytes;
    }

    static byte[] memTable(final long[] gpas, final long[] sizes, final long[] userAddrs, final long[] offsets)
    {
        final byte[] bytes = new byte[VhostUserMessageLayout.memoryLength(gpas.length)];
        final MemorySegment s = MemorySegment.ofArray(bytes);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 0, gpas.length);
        for (int i = 0; i < gpas.length; i++)
        {
            final long at =
                VhostUserMessageLayout.MEMORY_REGIONS_OFFSET + (long)i * VhostUserMessageLayout.REGION_LENGTH;
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, at, gpas[i]);
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, at + 8, sizes[i]);
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, at + 16, userAddrs[i]);
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, at + 24, offsets[i]);
        }
        return bytes;
    }

    @Override
    public void close()
    {
        socket.close();
        memory.close();
        arena.close();
    }
}
