package io.jvirtio.bus.linux;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * A listening Unix-domain stream socket at a path (unix(7)), the server end of a vhost-user connection when the
 * front-end connects (QEMU's {@code -chardev socket,path=...} without {@code server=on}).
 * <p>
 * A stale socket file at the path is unlinked before bind (as QEMU and most backends do), and unlinked again on
 * {@link #close()}.
 * <p>
 * Thread safety: one thread calls {@link #accept()}; {@link #close()} may be called from any thread and wakes it.
 */
public final class UnixServerSocket implements AutoCloseable
{
    private final int fd;
    private final Path path;
    private volatile boolean closed;

    private UnixServerSocket(final int fd, final Path path)
    {
        this.fd = fd;
        this.path = path;
    }

    /**
     * Binds and listens at {@code path}.
     *
     * @param path    where the socket appears; an existing file there is removed first.
     * @param backlog listen(2) backlog.
     * @return the listening socket.
     * @throws IOException if the path is too long, or socket, bind or listen fails.
     */
    public static UnixServerSocket bind(final Path path, final int backlog) throws IOException
    {
        final String name = path.toString();
        final int fd = Libc.socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new IOException("socket failed: errno=" + -fd);
        }
        try (Arena local = Arena.ofConfined())
        {
            final MemorySegment address = UnixSocket.socketAddress(local, path);
            Libc.unlink(name);
            final int bound = Libc.bind(fd, address, (int)Libc.SOCKADDR_UN_SIZE);
            if (bound < 0)
            {
                throw new IOException("bind failed: errno=" + -bound + ", path=" + path);
            }
            final int listening = Libc.listen(fd, backlog);
            if (listening < 0)
            {
                throw new IOException("listen failed: errno=" + -listening + ", path=" + path);
            }
        }
        catch (final IOException ex)
        {
            Libc.close(fd);
            throw ex;
        }
        return new UnixServerSocket(fd, path);
    }

    /** @return the path the socket listens at. */
    public Path path()
    {
        return path;
    }

    /**
     * Waits for the next connection.
     *
     * @return the connected socket, or null once {@link #close()} was called.
     * @throws IOException if accept fails for another reason.
     */
    public UnixSocket accept() throws IOException
    {
        // bound: retried only when a signal interrupted the call
        while (!closed)
        {
            final int client = Libc.accept4(fd, Libc.SOCK_CLOEXEC);
            if (client >= 0)
            {
                if (closed)
                {
                    Libc.close(client);
                    return null;
                }
                return UnixSocket.adopt(client);
            }
            if (closed)
            {
                return null;
            }
            if (client != -Libc.EINTR)
            {
                throw new IOException("accept failed: errno=" + -client + ", path=" + path);
            }
        }
        return null;
    }

    /** Stops listening (a blocked {@link #accept()} returns null), closes the socket and removes its path. */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        Libc.shutdown(fd, Libc.SHUT_RDWR);
        Libc.close(fd);
        Libc.unlink(path.toString());
    }

    @Override
    public String toString()
    {
        return "UnixServerSocket{path=" + path + '}';
    }
}
