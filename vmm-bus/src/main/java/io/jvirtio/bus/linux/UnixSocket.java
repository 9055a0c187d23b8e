package io.jvirtio.bus.linux;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A connected Unix-domain stream socket (unix(7)) that carries bytes and file descriptors (SCM_RIGHTS), as a
 * vhost-user connection does: every message may bring up to {@value #MAX_FDS} descriptors with its first bytes.
 * <p>
 * <b>Receiving.</b> {@link #receive} reads into the caller's native buffer with recvmsg(2) (MSG_CMSG_CLOEXEC) through
 * a {@code struct msghdr} and a control buffer held by this socket, so a receive allocates nothing. Descriptors that
 * arrive are kept in this socket: the caller takes the ones it wants with {@link #takeFd(int)} (ownership passes to
 * it) and calls {@link #closeReceivedFds()} to close the rest, so none leaks. More than {@value #MAX_FDS} descriptors
 * on one read do not fit the control buffer: the kernel closes the excess and {@link #fdsTruncated()} says so.
 * <p>
 * <b>Closing.</b> {@link #shutdown()} may be called from any thread and wakes a thread blocked in {@link #receive};
 * {@link #close()} releases the descriptor and must be called by the thread that reads, or after it stopped.
 * <p>
 * Thread safety: one reading thread and one writing thread at a time (they may differ); {@link #shutdown()} from any
 * thread.
 */
public final class UnixSocket implements AutoCloseable
{
    /** {@code struct msghdr} on x86-64: name, namelen, iov, iovlen, control, controllen, flags. */
    private static final long MSGHDR_SIZE = 56;
    private static final long MSGHDR_NAME_OFFSET = 0;
    private static final long MSGHDR_NAMELEN_OFFSET = 8;
    private static final long MSGHDR_IOV_OFFSET = 16;
    private static final long MSGHDR_IOVLEN_OFFSET = 24;
    private static final long MSGHDR_CONTROL_OFFSET = 32;
    private static final long MSGHDR_CONTROLLEN_OFFSET = 40;
    private static final long MSGHDR_FLAGS_OFFSET = 48;
    /** {@code struct iovec} on x86-64: base pointer, then size_t length. */
    private static final long IOVEC_SIZE = 16;
    /** {@code struct cmsghdr} on x86-64: size_t len, int level, int type, then the data (CMSG_DATA). */
    private static final long CMSGHDR_SIZE = 16;
    private static final long CMSG_LEVEL_OFFSET = 8;
    private static final long CMSG_TYPE_OFFSET = 12;
    /** The most descriptors one read accepts: VHOST_MEMORY_BASELINE_NREGIONS, the largest vhost-user fd count. */
    public static final int MAX_FDS = 8;

    private static final long FD_BYTES = Integer.BYTES;
    /** CMSG_SPACE(MAX_FDS * 4): the header, then the descriptors, padded to 8. */
    private static final long CONTROL_SIZE = CMSGHDR_SIZE + ((MAX_FDS * FD_BYTES + 7) & ~7L);

    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment receiveHeader;
    private final MemorySegment receiveIov;
    private final MemorySegment receiveControl;
    private final MemorySegment sendHeader;
    private final MemorySegment sendIov;
    private final MemorySegment sendControl;
    private final int[] receivedFds = new int[MAX_FDS];
    private int receivedCount;
    private boolean truncated;
    private volatile boolean closed;

    private UnixSocket(final int fd)
    {
        this.fd = fd;
        receiveHeader = arena.allocate(MSGHDR_SIZE, 8);
        receiveIov = arena.allocate(IOVEC_SIZE, 8);
        receiveControl = arena.allocate(CONTROL_SIZE, 8);
        sendHeader = arena.allocate(MSGHDR_SIZE, 8);
        sendIov = arena.allocate(IOVEC_SIZE, 8);
        sendControl = arena.allocate(CONTROL_SIZE, 8);
    }

    /**
     * Takes ownership of a connected socket descriptor (from accept4 or socketpair).
     *
     * @param fd a connected AF_UNIX SOCK_STREAM descriptor.
     * @return the socket; closing it closes {@code fd}.
     */
    public static UnixSocket adopt(final int fd)
    {
        if (fd < 0)
        {
            throw new IllegalArgumentException("socket descriptor must not be negative: fd=" + fd);
        }
        return new UnixSocket(fd);
    }

    /**
     * Connects to a listening socket at {@code path}.
     *
     * @param path the socket's path.
     * @return the connected socket.
     * @throws IOException if the socket cannot be made or the connection is refused.
     */
    public static UnixSocket connect(final Path path) throws IOException
    {
        final int fd = Libc.socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new IOException("socket failed: errno=" + -fd);
        }
        try (Arena local = Arena.ofConfined())
        {
            final MemorySegment address = socketAddress(local, path);
            final int ret = Libc.connect(fd, address, (int)Libc.SOCKADDR_UN_SIZE);
            if (ret < 0)
            {
                Libc.close(fd);
                throw new IOException("connect failed: errno=" + -ret + ", path=" + path);
            }
        }
        return new UnixSocket(fd);
    }

    /**
     * A connected pair of sockets (socketpair(2)), for tests and for in-process peers.
     *
     * @return the two ends.
     * @throws IOException if socketpair fails.
     */
    public static UnixSocket[] pair() throws IOException
    {
        try (Arena local = Arena.ofConfined())
        {
            final MemorySegment fds = local.allocate(2 * FD_BYTES, 4);
            final int ret = Libc.socketpair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, fds);
            if (ret < 0)
            {
                throw new IOException("socketpair failed: errno=" + -ret);
            }
            return new UnixSocket[] {
                new UnixSocket(fds.get(ValueLayout.JAVA_INT, 0)),
                new UnixSocket(fds.get(ValueLayout.JAVA_INT, FD_BYTES))};
        }
    }

    /** Builds a {@code struct sockaddr_un} for {@code path}, refusing a path that does not fit {@code sun_path}. */
    static MemorySegment socketAddress(final Arena arena, final Path path) throws IOException
    {
        final byte[] bytes = path.toString().getBytes(StandardCharsets.UTF_8);
        if (bytes.length >= Libc.SUN_PATH_MAX)
        {
            throw new IOException("socket path too long for sun_path: length=" + bytes.length + ", max="
                + (Libc.SUN_PATH_MAX - 1) + ", path=" + path);
        }
        final MemorySegment address = arena.allocate(Libc.SOCKADDR_UN_SIZE, 8);
        address.set(ValueLayout.JAVA_SHORT, 0, (short)Libc.AF_UNIX);
        MemorySegment.copy(bytes, 0, address, ValueLayout.JAVA_BYTE, Short.BYTES, bytes.length);
        return address;
    }

    /** @return the socket's descriptor. */
    public int fd()
    {
        return fd;
    }

    /**
     * One recvmsg(2) of at most {@code length} bytes into {@code buffer} at {@code offset}. Descriptors that come
     * with the bytes are added to the received set (see the class comment); the set is not cleared here.
     *
     * @param buffer a native segment.
     * @param offset where in {@code buffer} to write.
     * @param length the most bytes to read, at least 1.
     * @return bytes read, 0 at end of stream (the peer closed or {@link #shutdown()} was called), or -errno.
     */
    public long receive(final MemorySegment buffer, final long offset, final long length)
    {
        final MemorySegment target = buffer.asSlice(offset, length);
        receiveIov.set(ValueLayout.ADDRESS, 0, target);
        receiveIov.set(ValueLayout.JAVA_LONG, 8, length);
        receiveHeader.fill((byte)0);
        receiveHeader.set(ValueLayout.ADDRESS, MSGHDR_IOV_OFFSET, receiveIov);
        receiveHeader.set(ValueLayout.JAVA_LONG, MSGHDR_IOVLEN_OFFSET, 1L);
        receiveHeader.set(ValueLayout.ADDRESS, MSGHDR_CONTROL_OFFSET, receiveControl);
        receiveHeader.set(ValueLayout.JAVA_LONG, MSGHDR_CONTROLLEN_OFFSET, CONTROL_SIZE);
        long ret;
        // bound: retried only when a signal interrupted the call
        do
        {
            ret = Libc.recvmsg(fd, receiveHeader, Libc.MSG_CMSG_CLOEXEC);
        }
        while (ret == -Libc.EINTR);
        if (ret < 0)
        {
            return ret;
        }
        if ((receiveHeader.get(ValueLayout.JAVA_INT, MSGHDR_FLAGS_OFFSET) & Libc.MSG_CTRUNC) != 0)
        {
            truncated = true;
        }
        collectFds(receiveHeader.get(ValueLayout.JAVA_LONG, MSGHDR_CONTROLLEN_OFFSET));
        return ret;
    }

    /**
     * Reads exactly {@code length} bytes unless the stream ends or fails first, gathering descriptors from every
     * read.
     *
     * @return {@code length}, fewer at end of stream, or -errno.
     */
    public long receiveFully(final MemorySegment buffer, final long offset, final long length)
    {
        long done = 0;
        // bound: each pass reads at least one byte or returns
        while (done < length)
        {
            final long n = receive(buffer, offset + done, length - done);
            if (n < 0)
            {
                return n;
            }
            if (n == 0)
            {
                return done;
            }
            done += n;
        }
        return done;
    }

    private void collectFds(final long controlLength)
    {
        long at = 0;
        // bound: the control buffer is CONTROL_SIZE bytes and each header advances by at least CMSGHDR_SIZE
        while (at + CMSGHDR_SIZE <= controlLength)
        {
            final long cmsgLength = receiveControl.get(ValueLayout.JAVA_LONG, at);
            if (cmsgLength < CMSGHDR_SIZE || at + cmsgLength > controlLength)
            {
                return;
            }
            final int level = receiveControl.get(ValueLayout.JAVA_INT, at + CMSG_LEVEL_OFFSET);
            final int type = receiveControl.get(ValueLayout.JAVA_INT, at + CMSG_TYPE_OFFSET);
            if (level == Libc.SOL_SOCKET && type == Libc.SCM_RIGHTS)
            {
                final long count = (cmsgLength - CMSGHDR_SIZE) / FD_BYTES;
                // bound: the descriptors in one control message, at most MAX_FDS by CONTROL_SIZE
                for (long i = 0; i < count; i++)
                {
                    final int received =
                        receiveControl.get(ValueLayout.JAVA_INT, at + CMSGHDR_SIZE + i * FD_BYTES);
                    if (receivedCount < MAX_FDS)
                    {
                        receivedFds[receivedCount++] = received;
                    }
                    else
                    {
                        truncated = true;
                        Libc.close(received);
                    }
                }
            }
            at += (cmsgLength + 7) & ~7L;
        }
    }

    /** @return how many descriptors were received since {@link #closeReceivedFds()} (taken ones included). */
    public int receivedFdCount()
    {
        return receivedCount;
    }

    /** @return true if descriptors were dropped since {@link #closeReceivedFds()} because more came than fit. */
    public boolean fdsTruncated()
    {
        return truncated;
    }

    /**
     * Takes a received descriptor: the caller now owns it and this socket will not close it.
     *
     * @param index 0 to {@link #receivedFdCount()} - 1.
     * @return the descriptor.
     * @throws IllegalArgumentException if there is no such descriptor or it was already taken.
     */
    public int takeFd(final int index)
    {
        if (index < 0 || index >= receivedCount || receivedFds[index] < 0)
        {
            throw new IllegalArgumentException("no received descriptor to take: index=" + index + ", received="
                + receivedCount);
        }
        final int taken = receivedFds[index];
        receivedFds[index] = -1;
        return taken;
    }

    /** Closes every received descriptor not taken and starts a new set. */
    public void closeReceivedFds()
    {
        // bound: at most MAX_FDS entries
        for (int i = 0; i < receivedCount; i++)
        {
            if (receivedFds[i] >= 0)
            {
                Libc.close(receivedFds[i]);
                receivedFds[i] = -1;
            }
        }
        receivedCount = 0;
        truncated = false;
    }

    /**
     * Sends all {@code length} bytes of {@code buffer} from {@code offset}, the first sendmsg(2) carrying
     * {@code fdCount} descriptors of {@code fds} (which stay the caller's).
     *
     * @return {@code length}, or -errno (EPIPE when the peer has gone).
     * @throws IllegalArgumentException if more than {@value #MAX_FDS} descriptors are given.
     */
    public long send(final MemorySegment buffer, final long offset, final long length, final int[] fds,
        final int fdCount)
    {
        if (fdCount < 0 || fdCount > MAX_FDS)
        {
            throw new IllegalArgumentException("too many descriptors for one message: fdCount=" + fdCount + ", max="
                + MAX_FDS);
        }
        long done = 0;
        boolean withFds = fdCount > 0;
        // bound: each pass sends at least one byte or returns
        while (done < length || withFds)
        {
            sendIov.set(ValueLayout.ADDRESS, 0, buffer.asSlice(offset + done, length - done));
            sendIov.set(ValueLayout.JAVA_LONG, 8, length - done);
            sendHeader.fill((byte)0);
            sendHeader.set(ValueLayout.ADDRESS, MSGHDR_IOV_OFFSET, sendIov);
            sendHeader.set(ValueLayout.JAVA_LONG, MSGHDR_IOVLEN_OFFSET, 1L);
            if (withFds)
            {
                final long cmsgLength = CMSGHDR_SIZE + fdCount * FD_BYTES;
                sendControl.fill((byte)0);
                sendControl.set(ValueLayout.JAVA_LONG, 0, cmsgLength);
                sendControl.set(ValueLayout.JAVA_INT, CMSG_LEVEL_OFFSET, Libc.SOL_SOCKET);
                sendControl.set(ValueLayout.JAVA_INT, CMSG_TYPE_OFFSET, Libc.SCM_RIGHTS);
                // bound: at most MAX_FDS descriptors
                for (int i = 0; i < fdCount; i++)
                {
                    sendControl.set(ValueLayout.JAVA_INT, CMSGHDR_SIZE + i * FD_BYTES, fds[i]);
                }
                sendHeader.set(ValueLayout.ADDRESS, MSGHDR_CONTROL_OFFSET, sendControl);
                sendHeader.set(ValueLayout.JAVA_LONG, MSGHDR_CONTROLLEN_OFFSET, (cmsgLength + 7) & ~7L);
            }
            final long n = Libc.sendmsg(fd, sendHeader, Libc.MSG_NOSIGNAL);
            if (n == -Libc.EINTR)
            {
                continue;
            }
            if (n < 0)
            {
                return n;
            }
            withFds = false;
            done += n;
        }
        return length;
    }

    /** Ends both directions: a thread blocked in {@link #receive} returns 0, the peer reads end of stream. */
    public void shutdown()
    {
        if (!closed)
        {
            Libc.shutdown(fd, Libc.SHUT_RDWR);
        }
    }

    /** Closes untaken received descriptors and the socket. */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        closeReceivedFds();
        Libc.close(fd);
        arena.close();
    }

    @Override
    public String toString()
    {
        return "UnixSocket{fd=" + fd + '}';
    }
}
