package io.jvirtio.bus.linux;

import io.jvirtio.bus.event.LinuxEventFd;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Bytes and descriptors over Unix-domain sockets: SCM_RIGHTS round trips, a received eventfd that still works,
 * short reads at end of stream, more descriptors than fit, and a listening socket at a path.
 */
class UnixSocketTest
{
    @BeforeEach
    void requireLinux()
    {
        assumeTrue(Libc.isAvailable(), Libc.unavailableReason());
    }

    private static boolean isOpen(final int fd)
    {
        final int copy = Libc.dup(fd);
        if (copy >= 0)
        {
            Libc.close(copy);
            return true;
        }
        return false;
    }

    @Test
    void shouldCarryBytesAndDescriptorsWhenSentTogether() throws IOException
    {
        final UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]; Arena arena = Arena.ofConfined();
            LinuxEventFd kick = LinuxEventFd.create(false))
        {
            final MemorySegment out = arena.allocate(16);
            for (int i = 0; i < 16; i++)
            {
                out.set(ValueLayout.JAVA_BYTE, i, (byte)(i * 7));
            }
            assertEquals(16, a.send(out, 0, 16, new int[] {kick.fd()}, 1));
            final MemorySegment in = arena.allocate(16);
            assertEquals(16, b.receiveFully(in, 0, 16));
            assertEquals(-1, in.mismatch(out));
            assertEquals(1, b.receivedFdCount());
            assertFalse(b.fdsTruncated());
            try (LinuxEventFd received = LinuxEventFd.adopt(b.takeFd(0)))
            {
                received.signal();
                received.signal();
                assertEquals(2, kick.tryRead(), "a signal through the received descriptor reaches the original");
            }
            b.closeReceivedFds();
            assertEquals(0, b.receivedFdCount());
        }
    }

    @Test
    void shouldReturnShortCountWhenPeerClosesMidMessage() throws IOException
    {
        final UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket b = pair[1]; Arena arena = Arena.ofConfined())
        {
            try (UnixSocket a = pair[0])
            {
                final MemorySegment out = arena.allocate(5).fill((byte)1);
                assertEquals(5, a.send(out, 0, 5, new int[0], 0));
            }
            final MemorySegment in = arena.allocate(12);
            assertEquals(5, b.receiveFully(in, 0, 12), "truncated: 5 of 12 bytes, then end of stream");
            assertEquals(0, b.receive(in, 0, 12), "end of stream");
        }
    }

    @Test
    void shouldCloseUntakenDescriptorsWhenAskedAndDropThoseThatDoNotFit() throws IOException
    {
        final UnixSocket[] pair = UnixSocket.pair();
        final int[] eventFds = new int[UnixSocket.MAX_FDS];
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]; Arena arena = Arena.ofConfined())
        {
            for (int i = 0; i < eventFds.length; i++)
            {
                eventFds[i] = Libc.eventfd(0, Libc.EFD_CLOEXEC);
            }
            final MemorySegment out = arena.allocate(4).fill((byte)2);
            assertEquals(4, a.send(out, 0, 4, eventFds, eventFds.length));
            final MemorySegment in = arena.allocate(4);
            assertEquals(4, b.receiveFully(in, 0, 4));
            assertEquals(UnixSocket.MAX_FDS, b.receivedFdCount());
            final int[] received = new int[UnixSocket.MAX_FDS];
            for (int i = 0; i < received.length; i++)
            {
                received[i] = b.takeFd(i);
            }
            for (final int fd : received)
            {
                Libc.close(fd);
            }
            b.closeReceivedFds();

            assertEquals(4, a.send(out, 0, 4, eventFds, 3));
            assertEquals(4, b.receiveFully(in, 0, 4));
            final int kept = b.takeFd(1);
            final int dropped = peekFd(b, 0);
            b.closeReceivedFds();
            assertTrue(isOpen(kept), "a taken descriptor stays open");
            assertFalse(isOpen(dropped), "an untaken descriptor is closed");
            Libc.close(kept);
            assertThrows(IllegalArgumentException.class, () -> b.takeFd(0));
        }
        finally
        {
            for (final int fd : eventFds)
            {
                Libc.close(fd);
            }
        }
    }

    /** The descriptor at {@code index}, by taking it and handing its number back to be closed by the test. */
    private static int peekFd(final UnixSocket socket, final int index)
    {
        final int fd = socket.takeFd(index);
        Libc.close(fd);
        return fd;
    }

    @Test
    void shouldMarkTruncatedWhenTwoMessagesBringMoreThanEightDescriptors() throws IOException
    {
        final UnixSocket[] pair = UnixSocket.pair();
        final int[] eventFds = new int[UnixSocket.MAX_FDS];
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]; Arena arena = Arena.ofConfined())
        {
            for (int i = 0; i < eventFds.length; i++)
            {
                eventFds[i] = Libc.eventfd(0, Libc.EFD_CLOEXEC);
            }
            final MemorySegment out = arena.allocate(2).fill((byte)3);
            assertEquals(1, a.send(out, 0, 1, eventFds, 6));
            assertEquals(1, a.send(out, 1, 1, eventFds, 6));
            final MemorySegment in = arena.allocate(2);
            assertEquals(2, b.receiveFully(in, 0, 2));
            assertEquals(UnixSocket.MAX_FDS, b.receivedFdCount());
            assertTrue(b.fdsTruncated(), "12 descriptors arrived for 8 places");
            b.closeReceivedFds();
            assertFalse(b.fdsTruncated());
        }
        finally
        {
            for (final int fd : eventFds)
            {
                Libc.close(fd);
            }
        }
    }

    @Test
    void shouldAcceptConnectionAtPathAndRemoveItWhenClosed(@TempDir final Path dir) throws Exception
    {
        final Path path = dir.resolve("vhost.sock");
        Files.writeString(path, "stale");
        try (UnixServerSocket server = UnixServerSocket.bind(path, 1); Arena arena = Arena.ofConfined())
        {
            final CompletableFuture<UnixSocket> accepted = CompletableFuture.supplyAsync(() ->
            {
                try
                {
                    return server.accept();
                }
                catch (final IOException ex)
                {
                    throw new IllegalStateException(ex);
                }
            });
            try (UnixSocket client = UnixSocket.connect(path); UnixSocket peer = accepted.get(10, TimeUnit.SECONDS))
            {
                assertNotNull(peer);
                final MemorySegment out = arena.allocate(3).fill((byte)9);
                assertEquals(3, client.send(out, 0, 3, new int[0], 0));
                final MemorySegment in = arena.allocate(3);
                assertEquals(3, peer.receiveFully(in, 0, 3));
                assertEquals(-1, in.mismatch(out));
            }
            final CompletableFuture<UnixSocket> pending = CompletableFuture.supplyAsync(() ->
            {
                try
                {
                    return server.accept();
                }
                catch (final IOException ex)
                {
                    throw new IllegalStateException(ex);
                }
            });
            server.close();
            assertNull(pending.get(10, TimeUnit.SECONDS), "close wakes a blocked accept");
        }
        assertFalse(Files.exists(path), "the socket file is removed on close");
    }

    @Test
    void shouldRefuseConnectWhenNobodyListens(@TempDir final Path dir)
    {
        assertThrows(IOException.class, () -> UnixSocket.connect(dir.resolve("absent.sock")));
    }
}
