/**
 * The virtio-blk device (virtio-v1.2 §5.2, device ID 2): {@link io.jvirtio.blk.BlockDevice} is the control plane,
 * {@link io.jvirtio.blk.BlockRequestParser} turns a descriptor chain into a {@link io.jvirtio.blk.BlockRequest}
 * without side effects, and a per-queue data plane checks and executes requests on a
 * {@link io.jvirtio.blk.backend.BlockBackend}.
 * <p>
 * Policies where the spec leaves a choice: broken framing (no 16-byte header, no writable status byte) completes the
 * chain with used len 0, writes nothing and counts it; the used len of a request is the bytes really written, status
 * included (data + 1 on a successful IN or GET_ID, else 1); FLUSH with a sector other than 0 or with data, GET_ID
 * whose data is not 20 bytes, and data in the wrong direction are IOERR; more ranges than {@code max_*_seg} and
 * reserved or discard-unmap flags are UNSUPP; the status byte is the last writable byte, so a zero-length last
 * descriptor moves it into the one before. {@code size_max} is advertised but not policed (a longer segment is
 * served). Capacity is fixed for the life of a backend, so no capacity-change notification is ever sent.
 */
package io.jvirtio.blk;
