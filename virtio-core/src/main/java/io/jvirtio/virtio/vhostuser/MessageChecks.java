package io.jvirtio.virtio.vhostuser;

import io.jvirtio.bus.linux.UnixSocket;

/**
 * The framing checks every front-end message passes before its payload is read: the payload size its request fixes
 * and the number of file descriptors it carries (CVE-2020-10726, CVE-2022-0669: a message with the wrong size or
 * stray descriptors closes the connection, and the server closes every descriptor nobody took).
 * <p>
 * Thread safety: stateless; the connection thread.
 */
final class MessageChecks
{
    private MessageChecks()
    {
    }

    /** Refuses a payload that is not {@code length} bytes or that came with other than {@code fdCount} fds. */
    static void expect(final int request, final long size, final int length, final UnixSocket fds, final int fdCount)
    {
        expectSize(request, size, length);
        expectFds(request, fds, fdCount);
    }

    /** Refuses a payload that is not {@code length} bytes. */
    static void expectSize(final int request, final long size, final int length)
    {
        if (size != length)
        {
            throw new VhostUserException(VhostUserCounter.BAD_PAYLOAD_SIZE, "payload size does not fit request: "
                + "request=" + VhostUserRequest.name(request) + ", size=" + size + ", expected=" + length);
        }
    }

    /** Refuses a message that came with other than {@code fdCount} fds, or with more than the socket could take. */
    static void expectFds(final int request, final UnixSocket fds, final int fdCount)
    {
        if (fds.receivedFdCount() != fdCount || fds.fdsTruncated())
        {
            throw new VhostUserException(VhostUserCounter.WRONG_FD_COUNT, "wrong number of fds: request="
                + VhostUserRequest.name(request) + ", fds=" + fds.receivedFdCount() + ", truncated="
                + fds.fdsTruncated() + ", expected=" + fdCount);
        }
    }
}
