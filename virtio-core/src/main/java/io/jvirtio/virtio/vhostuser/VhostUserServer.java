package io.jvirtio.virtio.vhostuser;

import io.jvirtio.bus.linux.UnixServerSocket;
import io.jvirtio.bus.linux.UnixSocket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.FLAGS_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.HEADER_LENGTH;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.MAX_PAYLOAD;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.REPLY;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.REQUEST_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.SIZE_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.U64_LENGTH;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.VERSION;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.VERSION_MASK;

/**
 * Serves one {@link VhostUserBackend} over a Unix-domain socket, one front-end connection at a time, on its own
 * thread: it listens at a path (QEMU's chardev without {@code server=on} connects to it) or connects to a front-end
 * that listens ({@code server=on}). When a connection ends, for any reason, the back-end is reset (device stopped,
 * memory unmapped, fds closed) and the server waits for the next one: QEMU may restart and reconnect.
 * <p>
 * A message is read into one reusable native buffer: the 12-byte header (its fds arrive with it), checked
 * (version 0x1, no reply flag, size at most {@value VhostUserMessageLayout#MAX_PAYLOAD}), then exactly
 * {@code size} bytes of payload. Any refused message, and any truncated one, ends the connection with one warning
 * line on the {@link System.Logger} and a {@link VhostUserCounter}; if the front-end asked for a REPLY_ACK it gets a
 * failure status first. Fds that a message brought and the back-end did not take are closed after each message.
 * <p>
 * Thread safety: {@link #start()} and {@link #close()} from any one control thread; {@link #counters()} from any
 * thread; the listener is called on the server's thread.
 */
public final class VhostUserServer implements AutoCloseable
{
    /** Told what happens to connections, on the server thread. */
    public interface Listener
    {
        /** A listener that does nothing. */
        Listener NONE = new Listener()
        {
        };

        /** @param connection the connection's number, from 1. */
        default void connected(final int connection)
        {
        }

        /**
         * A message arrived (its header checked, before it is served), for tracing what the front-end sends.
         *
         * @param connection the connection's number.
         * @param request    the request code ({@link VhostUserRequest#name(int)} names it).
         * @param size       the payload size.
         * @param fds        the fds that came with it.
         */
        default void message(final int connection, final int request, final int size, final int fds)
        {
        }

        /**
         * The device was activated.
         *
         * @param connection       the connection's number.
         * @param features         the negotiated virtio features.
         * @param protocolFeatures the negotiated protocol features.
         */
        default void activated(final int connection, final long features, final long protocolFeatures)
        {
        }

        /**
         * @param connection the connection's number.
         * @param reason     null when the front-end closed the socket, else why the back-end closed it.
         */
        default void disconnected(final int connection, final String reason)
        {
        }
    }

    private static final System.Logger LOG = System.getLogger(VhostUserServer.class.getName());
    private static final long RECONNECT_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final VhostUserBackend backend;
    private final Path path;
    private final boolean connectMode;
    private final Listener listener;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment in;
    private final MemorySegment out;
    private UnixServerSocket server;
    private Thread thread;
    private volatile UnixSocket current;
    private volatile boolean closed;
    private int connections;

    private VhostUserServer(final VhostUserBackend backend, final Path path, final boolean connectMode,
        final Listener listener)
    {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.path = Objects.requireNonNull(path, "path");
        this.connectMode = connectMode;
        this.listener = Objects.requireNonNull(listener, "listener");
        this.in = arena.allocate(HEADER_LENGTH + MAX_PAYLOAD, 8);
        this.out = arena.allocate(HEADER_LENGTH + MAX_PAYLOAD, 8);
    }

    /**
     * A server that listens at {@code path} (bound at once, so a front-end may connect as soon as this returns).
     *
     * @throws IOException if the socket cannot be bound.
     */
    public static VhostUserServer listen(final VhostUserBackend backend, final Path path, final Listener listener)
        throws IOException
    {
        final VhostUserServer vhost = new VhostUserServer(backend, path, false, listener);
        vhost.server = UnixServerSocket.bind(path, 1);
        return vhost;
    }

    /** A server that connects to a front-end listening at {@code path}, and again after each disconnect. */
    public static VhostUserServer connect(final VhostUserBackend backend, final Path path, final Listener listener)
    {
        return new VhostUserServer(backend, path, true, listener);
    }

    /** @return the back-end served. */
    public VhostUserBackend backend()
    {
        return backend;
    }

    /** @return the counters of the back-end. */
    public VhostUserCounters counters()
    {
        return backend.counters();
    }

    /** Starts the server thread. */
    public synchronized void start()
    {
        if (thread != null)
        {
            throw new IllegalStateException("server already started: path=" + path);
        }
        thread = new Thread(this::run, "vhost-user-" + path.getFileName());
        thread.setDaemon(true);
        thread.start();
    }

    private void run()
    {
        // bound: one pass per connection, until close()
        while (!closed)
        {
            final UnixSocket socket = nextConnection();
            if (socket == null)
            {
                continue;
            }
            current = socket;
            final int connection = ++connections;
            backend.counters().increment(VhostUserCounter.CONNECTIONS);
            listener.connected(connection);
            String reason = null;
            try
            {
                serve(socket, connection);
            }
            catch (final VhostUserException ex)
            {
                backend.counters().increment(ex.counter());
                reason = ex.getMessage();
            }
            catch (final RuntimeException ex)
            {
                backend.counters().increment(VhostUserCounter.SOCKET_ERROR);
                reason = "unexpected error: cause=" + ex;
            }
            finally
            {
                current = null;
                backend.disconnect();
                socket.close();
                backend.counters().increment(VhostUserCounter.DISCONNECTIONS);
            }
            if (reason != null)
            {
                LOG.log(System.Logger.Level.WARNING, "vhost-user connection closed: " + reason);
            }
            listener.disconnected(connection, reason);
        }
    }

    private UnixSocket nextConnection()
    {
        if (!connectMode)
        {
            try
            {
                return server.accept();
            }
            catch (final IOException ex)
            {
                LOG.log(System.Logger.Level.WARNING, "vhost-user accept failed: " + ex.getMessage());
                LockSupport.parkNanos(RECONNECT_PAUSE_NANOS);
                return null;
            }
        }
        try
        {
            return UnixSocket.connect(path);
        }
        catch (final IOException ex)
        {
            LockSupport.parkNanos(RECONNECT_PAUSE_NANOS);
            return null;
        }
    }

    private void serve(final UnixSocket socket, final int connection)
    {
        boolean wasActive = false;
        // bound: one pass per message, until the front-end closes or a message is refused
        while (!closed)
        {
            final long headerRead = socket.receiveFully(in, 0, HEADER_LENGTH);
            if (headerRead == 0)
            {
                return;
            }
            if (headerRead < 0)
            {
                throw new VhostUserException(VhostUserCounter.SOCKET_ERROR, "socket read failed: errno="
                    + -headerRead);
            }
            if (headerRead < HEADER_LENGTH)
            {
                throw new VhostUserException(VhostUserCounter.TRUNCATED_MESSAGE, "stream ended inside a header: "
                    + "read=" + headerRead + ", expected=" + HEADER_LENGTH);
            }
            final int request = in.get(ValueLayout.JAVA_INT_UNALIGNED, REQUEST_OFFSET);
            final int flags = in.get(ValueLayout.JAVA_INT_UNALIGNED, FLAGS_OFFSET);
            final int size = in.get(ValueLayout.JAVA_INT_UNALIGNED, SIZE_OFFSET);
            try
            {
                checkHeader(request, flags, size);
                final long payloadRead = size == 0 ? 0 : socket.receiveFully(in, HEADER_LENGTH, size);
                if (payloadRead < 0)
                {
                    throw new VhostUserException(VhostUserCounter.SOCKET_ERROR, "socket read failed: errno="
                        + -payloadRead);
                }
                if (payloadRead < size)
                {
                    throw new VhostUserException(VhostUserCounter.TRUNCATED_MESSAGE, "stream ended inside a payload: "
                        + "request=" + VhostUserRequest.name(request) + ", read=" + payloadRead + ", size=" + size);
                }
                listener.message(connection, request, size, socket.receivedFdCount());
                final int replyLength = backend.handle(request, flags, in.asSlice(HEADER_LENGTH, size), socket,
                    out.asSlice(HEADER_LENGTH, MAX_PAYLOAD));
                if (replyLength >= 0)
                {
                    reply(socket, request, replyLength);
                }
                else if (backend.wantsAck(flags))
                {
                    out.set(ValueLayout.JAVA_LONG_UNALIGNED, HEADER_LENGTH, 0L);
                    reply(socket, request, U64_LENGTH);
                }
            }
            catch (final VhostUserException ex)
            {
                if (backend.wantsAck(flags))
                {
                    out.set(ValueLayout.JAVA_LONG_UNALIGNED, HEADER_LENGTH, 1L);
                    socketSend(socket, request, U64_LENGTH);
                }
                throw ex;
            }
            finally
            {
                socket.closeReceivedFds();
            }
            final boolean active = backend.isActive();
            if (active && !wasActive)
            {
                listener.activated(connection, backend.activeFeatures(), backend.protocolFeatures());
            }
            wasActive = active;
        }
    }

    private static void checkHeader(final int request, final int flags, final int size)
    {
        if ((flags & VERSION_MASK) != VERSION || (flags & REPLY) != 0)
        {
            throw new VhostUserException(VhostUserCounter.MALFORMED_HEADER, "malformed header: request="
                + VhostUserRequest.name(request) + ", flags=0x" + Integer.toHexString(flags));
        }
        if (size < 0 || size > MAX_PAYLOAD)
        {
            throw new VhostUserException(VhostUserCounter.OVERSIZED_PAYLOAD, "payload size above the maximum: "
                + "request=" + VhostUserRequest.name(request) + ", size=" + Integer.toUnsignedString(size) + ", max="
                + MAX_PAYLOAD);
        }
    }

    private void reply(final UnixSocket socket, final int request, final int length)
    {
        final long sent = socketSend(socket, request, length);
        if (sent < 0)
        {
            throw new VhostUserException(VhostUserCounter.SOCKET_ERROR, "socket write failed: errno=" + -sent
                + ", request=" + VhostUserRequest.name(request));
        }
    }

    private long socketSend(final UnixSocket socket, final int request, final int length)
    {
        out.set(ValueLayout.JAVA_INT_UNALIGNED, REQUEST_OFFSET, request);
        out.set(ValueLayout.JAVA_INT_UNALIGNED, FLAGS_OFFSET, VERSION | REPLY);
        out.set(ValueLayout.JAVA_INT_UNALIGNED, SIZE_OFFSET, length);
        return socket.send(out, 0, HEADER_LENGTH + length, null, 0);
    }

    /**
     * Stops serving: the current connection is shut down (the back-end resets), the listening socket closed and its
     * path removed, and the server thread joined.
     */
    @Override
    public void close()
    {
        final Thread running;
        synchronized (this)
        {
            if (closed)
            {
                return;
            }
            closed = true;
            running = thread;
        }
        if (server != null)
        {
            server.close();
        }
        final UnixSocket socket = current;
        if (socket != null)
        {
            socket.shutdown();
        }
        if (running != null)
        {
            try
            {
                running.join();
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        arena.close();
    }
}
