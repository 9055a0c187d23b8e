package io.jvirtio.samples.guest;

import java.nio.file.Path;

/**
 * A vhost-user back-end serving one device to a QEMU guest: it listens on {@link #socket()}, QEMU connects to it
 * ({@link QemuGuest#netVhostUser}, {@link QemuGuest#blkVhostUser}), and it runs until closed. The real-guest tests
 * depend only on this, so where the back-end runs (a child process, or in this JVM) is one binding
 * ({@link ProgramBackend} for {@code ./jvirtio vhost-user}).
 * <p>
 * Thread safety: start, query and close on the test's thread.
 */
public interface GuestBackend extends AutoCloseable
{
    /** @return the Unix socket the back-end listens on. */
    Path socket();

    /** @return what the back-end printed so far (connections, negotiated features), for failure messages. */
    String output();

    /** Stops the back-end and waits for it to end. */
    @Override
    void close() throws InterruptedException;
}
