package io.jvirtio.virtio.vhostuser;

/**
 * The wire layout of vhost-user messages (QEMU docs/interop/vhost-user.rst "Message Specification"): a 12-byte
 * header, then {@code size} bytes of payload, all in the host's byte order (little-endian on x86-64).
 * <pre>
 *   0        4        8        12
 *   +--------+--------+--------+-------------------------+
 *   |request | flags  | size   | payload (size bytes)    |
 *   +--------+--------+--------+-------------------------+
 *   flags: bits 0-1 version (0x1), bit 2 reply, bit 3 need_reply
 * </pre>
 * Payloads used here:
 * <pre>
 *   u64                    features, protocol features, queue number; the ring index (bits 0-7) and the
 *                          "no fd" flag (bit 8) of SET_VRING_KICK/CALL/ERR; the REPLY_ACK status
 *   vring state   (8)      u32 index, u32 num
 *   vring address (40)     u32 index, u32 flags, u64 descriptor, u64 used, u64 available, u64 log
 *   memory        (8+32n)  u32 nregions, u32 padding, then n x {u64 guest_addr, u64 size, u64 user_addr,
 *                          u64 mmap_offset}, one fd per region
 *   config        (12+n)   u32 offset, u32 size, u32 flags, n bytes of configuration space
 * </pre>
 * Thread safety: constants only.
 */
public final class VhostUserMessageLayout
{
    public static final long REQUEST_OFFSET = 0;
    public static final long FLAGS_OFFSET = REQUEST_OFFSET + Integer.BYTES;
    public static final long SIZE_OFFSET = FLAGS_OFFSET + Integer.BYTES;
    public static final int HEADER_LENGTH = (int)SIZE_OFFSET + Integer.BYTES;

    /** The only protocol version: flags bits 0-1. */
    public static final int VERSION = 0x1;
    public static final int VERSION_MASK = 0x3;
    /** Set in every reply from the back-end. */
    public static final int REPLY = 0x4;
    /** The front-end wants a REPLY_ACK status for a message that has no reply of its own. */
    public static final int NEED_REPLY = 0x8;

    /** The largest payload accepted: 4 KiB, as rust-vmm's vhost crate bounds it; every real payload is smaller. */
    public static final int MAX_PAYLOAD = 4096;

    public static final int U64_LENGTH = Long.BYTES;

    public static final long STATE_INDEX_OFFSET = 0;
    public static final long STATE_NUM_OFFSET = 4;
    public static final int STATE_LENGTH = 8;

    public static final long ADDR_INDEX_OFFSET = 0;
    public static final long ADDR_FLAGS_OFFSET = 4;
    public static final long ADDR_DESC_OFFSET = 8;
    public static final long ADDR_USED_OFFSET = 16;
    public static final long ADDR_AVAIL_OFFSET = 24;
    public static final long ADDR_LOG_OFFSET = 32;
    public static final int ADDR_LENGTH = 40;

    /** Bits 0-7 of a SET_VRING_KICK/CALL/ERR payload: the ring index. */
    public static final long FILE_INDEX_MASK = 0xFF;
    /** Bit 8 of a SET_VRING_KICK/CALL/ERR payload: no descriptor comes (polling, or no notification). */
    public static final long FILE_NOFD = 0x100;

    /** VHOST_MEMORY_BASELINE_NREGIONS: the most regions one SET_MEM_TABLE carries. */
    public static final int MAX_REGIONS = 8;
    public static final long MEMORY_NREGIONS_OFFSET = 0;
    public static final long MEMORY_REGIONS_OFFSET = 8;
    public static final long REGION_GUEST_ADDR_OFFSET = 0;
    public static final long REGION_SIZE_OFFSET = 8;
    public static final long REGION_USER_ADDR_OFFSET = 16;
    public static final long REGION_MMAP_OFFSET_OFFSET = 24;
    public static final int REGION_LENGTH = 32;

    public static final long CONFIG_OFFSET_OFFSET = 0;
    public static final long CONFIG_SIZE_OFFSET = 4;
    public static final long CONFIG_FLAGS_OFFSET = 8;
    public static final int CONFIG_HEADER_LENGTH = 12;
    /** VHOST_USER_MAX_CONFIG_SIZE: the configuration space a GET_CONFIG or SET_CONFIG may address. */
    public static final int MAX_CONFIG_SIZE = 256;

    private VhostUserMessageLayout()
    {
    }

    /** @return the payload length of a SET_MEM_TABLE with {@code regions} regions. */
    public static int memoryLength(final int regions)
    {
        return (int)MEMORY_REGIONS_OFFSET + regions * REGION_LENGTH;
    }
}
