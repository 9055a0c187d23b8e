package io.jvirtio.virtio.vhostuser;

import io.jvirtio.bus.linux.UnixSocket;
import io.jvirtio.virtio.VirtioDevice;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.CONFIG_HEADER_LENGTH;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.CONFIG_OFFSET_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.CONFIG_SIZE_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.MAX_CONFIG_SIZE;

/**
 * GET_CONFIG and SET_CONFIG (QEMU docs/interop/vhost-user.rst, with VHOST_USER_PROTOCOL_F_CONFIG): the device
 * configuration space through a 256-byte window, every offset and size checked against the window and the payload.
 * <p>
 * Thread safety: stateless; called on the connection thread.
 */
final class ConfigSpace
{
    private ConfigSpace()
    {
    }

    /**
     * GET_CONFIG: copies the header and reads {@code size} bytes of the device's configuration space (zeros past
     * its end, as the front-end may ask for a whole {@code struct virtio_blk_config} the device keeps shorter).
     *
     * @return the reply payload's length.
     */
    static int read(final VirtioDevice device, final MemorySegment payload, final UnixSocket fds,
        final MemorySegment reply)
    {
        final int size = configRequest(VhostUserRequest.GET_CONFIG, payload, fds);
        final int offset = payload.get(ValueLayout.JAVA_INT_UNALIGNED, CONFIG_OFFSET_OFFSET);
        MemorySegment.copy(payload, 0, reply, 0, CONFIG_HEADER_LENGTH);
        final int configSize = device.configSize();
        // bound: at most MAX_CONFIG_SIZE bytes
        for (int i = 0; i < size; i++)
        {
            final int at = offset + i;
            final byte value = at < configSize ? (byte)device.readConfig(at, 1) : 0;
            reply.set(ValueLayout.JAVA_BYTE, CONFIG_HEADER_LENGTH + i, value);
        }
        return CONFIG_HEADER_LENGTH + size;
    }

    /** SET_CONFIG: writes the bytes, in one access when the size and alignment allow one. */
    static void write(final VirtioDevice device, final MemorySegment payload, final UnixSocket fds)
    {
        final int size = configRequest(VhostUserRequest.SET_CONFIG, payload, fds);
        final int offset = payload.get(ValueLayout.JAVA_INT_UNALIGNED, CONFIG_OFFSET_OFFSET);
        if (offset + size > device.configSize())
        {
            throw new VhostUserException(VhostUserCounter.BAD_CONFIG_ACCESS, "config write past the device's "
                + "config space: offset=" + offset + ", size=" + size + ", configSize=" + device.configSize());
        }
        if ((size == 1 || size == 2 || size == 4 || size == 8) && offset % size == 0)
        {
            long value = 0;
            // bound: at most 8 bytes
            for (int i = size - 1; i >= 0; i--)
            {
                value = (value << 8) | (payload.get(ValueLayout.JAVA_BYTE, CONFIG_HEADER_LENGTH + i) & 0xFF);
            }
            device.writeConfig(offset, size, value);
            return;
        }
        // bound: at most MAX_CONFIG_SIZE bytes
        for (int i = 0; i < size; i++)
        {
            device.writeConfig(offset + i, 1, payload.get(ValueLayout.JAVA_BYTE, CONFIG_HEADER_LENGTH + i) & 0xFF);
        }
    }

    /** Checks a config message's header against its payload and the config window; returns its size. */
    private static int configRequest(final int request, final MemorySegment payload, final UnixSocket fds)
    {
        final long length = payload.byteSize();
        if (length < CONFIG_HEADER_LENGTH)
        {
            throw new VhostUserException(VhostUserCounter.BAD_PAYLOAD_SIZE, "config payload shorter than its header:"
                + " request=" + VhostUserRequest.name(request) + ", size=" + length);
        }
        MessageChecks.expectFds(request, fds, 0);
        final int offset = payload.get(ValueLayout.JAVA_INT_UNALIGNED, CONFIG_OFFSET_OFFSET);
        final int size = payload.get(ValueLayout.JAVA_INT_UNALIGNED, CONFIG_SIZE_OFFSET);
        if (size < 0 || offset < 0 || size > MAX_CONFIG_SIZE || offset > MAX_CONFIG_SIZE - size)
        {
            throw new VhostUserException(VhostUserCounter.BAD_CONFIG_ACCESS, "config access outside the config "
                + "window: request=" + VhostUserRequest.name(request) + ", offset=" + Integer.toUnsignedString(offset)
                + ", size=" + Integer.toUnsignedString(size));
        }
        if (length != CONFIG_HEADER_LENGTH + size)
        {
            throw new VhostUserException(VhostUserCounter.BAD_PAYLOAD_SIZE, "config payload size does not fit its "
                + "size field: request=" + VhostUserRequest.name(request) + ", size=" + length + ", expected="
                + (CONFIG_HEADER_LENGTH + size));
        }
        return size;
    }
}
