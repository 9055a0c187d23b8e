package io.jvirtio.virtio.vhostuser;

import io.jvirtio.virtio.transport.LoopbackDevice;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A vhost-user server over a {@link LoopbackDevice} with one ring, listening in a test's directory, and the check
 * every hostile front-end message must pass: the connection closed, its named counter incremented, the device
 * inactive, no fd leaked, the next connection served.
 * <p>
 * Thread safety: one test thread; the server runs on its own.
 */
final class VhostUserRig implements AutoCloseable
{
    final LoopbackDevice device;
    final VhostUserServer server;
    final Path path;

    /** Starts the server on {@code dir/vhost.sock}. */
    VhostUserRig(final Path dir) throws IOException
    {
        device = new LoopbackDevice();
        path = dir.resolve("vhost.sock");
        server = VhostUserServer.listen(new VhostUserBackend(device, 1, 1, new VhostUserCounters()), path,
            VhostUserServer.Listener.NONE);
        server.start();
    }

    /** @return the number of fds this process has open. */
    static long openFds() throws IOException
    {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd")))
        {
            return fds.count();
        }
    }

    /**
     * Connects, runs {@code hostile}, and checks the outcome.
     *
     * @param counter the counter the message must increment.
     * @param hostile the front-end's actions; the last one is refused.
     */
    void assertRefused(final VhostUserCounter counter, final Consumer<FrontEnd> hostile) throws Exception
    {
        final VhostUserCounters counters = server.counters();
        final long before = counters.get(counter);
        final long disconnections = counters.get(VhostUserCounter.DISCONNECTIONS);
        final long fds;
        try (FrontEnd front = new FrontEnd(path))
        {
            // one answered message first, so that the server holds its end of the connection when fds are counted
            front.getU64(VhostUserRequest.GET_FEATURES);
            fds = openFds();
            hostile.accept(front);
            assertTrue(front.isClosedByBackEnd(), "the back-end closes the connection");
        }
        VhostUserBackendTest.awaitDisconnections(counters, disconnections + 1);
        assertEquals(before + 1, counters.get(counter), counter + " in " + counters);
        assertFalse(server.backend().isActive());
        try (FrontEnd next = new FrontEnd(path))
        {
            assertTrue(next.getU64(VhostUserRequest.GET_FEATURES) != 0, "the server serves the next connection");
            assertEquals(fds, openFds(), "every fd the hostile messages brought was closed");
        }
        VhostUserBackendTest.awaitDisconnections(counters, disconnections + 2);
    }

    @Override
    public void close()
    {
        server.close();
    }
}
