package io.jvirtio.blk.backend;

import io.jvirtio.blk.VirtioBlk;

import java.nio.charset.StandardCharsets;

/** The GET_ID string rule shared by the backends. */
final class BackendIds
{
    private BackendIds()
    {
    }

    /**
     * @param id a device ID string, ASCII, at most 20 bytes.
     * @return its bytes.
     * @throws IllegalArgumentException if it is longer than 20 bytes.
     */
    static byte[] encode(final String id)
    {
        final byte[] bytes = id.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length > VirtioBlk.VIRTIO_BLK_ID_BYTES)
        {
            throw new IllegalArgumentException("device id longer than 20 bytes: id=" + id);
        }
        return bytes;
    }
}
