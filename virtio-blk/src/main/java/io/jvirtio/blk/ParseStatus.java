package io.jvirtio.blk;

/**
 * What {@link BlockRequestParser#parse} found in a chain's framing. A chain that is not {@link #OK} has nowhere safe
 * to put a status byte (conformance checklist item 26, "broken framing").
 * <p>
 * Thread safety: immutable constants; any thread.
 */
public enum ParseStatus
{
    /** Header and status byte found; the request may still be invalid in content (that is a status, not framing). */
    OK,
    /** Fewer than 16 device-readable bytes: no {@code virtio_blk_req} header (also a header in writable buffers). */
    NO_HEADER,
    /** No device-writable byte: nowhere to write the status. */
    NO_STATUS
}
