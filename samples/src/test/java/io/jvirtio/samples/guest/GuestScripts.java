package io.jvirtio.samples.guest;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The guest-side test scripts (busybox sh) the real-guest tests share, and the host's side of what they compute, so
 * a test over QEMU's own devices and the same test over a vhost-user back-end run the very same guest commands.
 * Every script prints its findings as {@code JV-RESULT key=value} lines.
 * <p>
 * Thread safety: stateless; any thread.
 */
public final class GuestScripts
{
    /** The guest's address on every test network. */
    public static final String GUEST_IP = "10.0.2.15";
    /** The address the far end answers on: QEMU's slirp gateway, and the responder back-end's address. */
    public static final String PEER_IP = "10.0.2.2";
    /** The responder back-end's MAC. */
    public static final String PEER_MAC = "52:54:00:12:34:02";
    /** The line the block pattern repeats: 32 bytes. */
    public static final String PATTERN_LINE = "jvirtio-guest-tier-pattern-0123\n";
    /** The pattern's length: 4 MiB. */
    public static final int PATTERN_BYTES = 4 << 20;
    /** Where the pattern goes on the disk: 1 MiB in, so offsets are exercised and the first MiB stays zero. */
    public static final int PATTERN_OFFSET = 1 << 20;
    /** The test disk's size: 8 MiB. */
    public static final int DISK_BYTES = 8 << 20;

    private static final int BLOCK = 65_536;

    private GuestScripts()
    {
    }

    /** Brings eth0 up with {@link #GUEST_IP}/24 and prints its MAC. */
    public static String netUp()
    {
        return """
            ip link set lo up
            ip addr add %s/24 dev eth0
            ip link set eth0 up
            echo "JV-RESULT eth0_mac=$(cat /sys/class/net/eth0/address) eth0_mtu=$(cat /sys/class/net/eth0/mtu)"
            """.formatted(GUEST_IP);
    }

    /**
     * Pings {@link #PEER_IP} {@code count} times with {@code size} data bytes, the next as soon as a reply comes,
     * and prints {@code <key>_transmitted} and {@code <key>_received}.
     */
    public static String ping(final String key, final int count, final int size)
    {
        return """
            ping -A -c %d -s %d -W 5 %s > /tmp/%s.out 2>&1
            sed -n 's/^\\([0-9]*\\) packets transmitted, \\([0-9]*\\) packets received.*/\
            JV-RESULT %s_transmitted=\\1 %s_received=\\2/p' /tmp/%s.out
            """.formatted(count, size, PEER_IP, key, key, key, key);
    }

    /** Runs the raw-frame echo tool: prints {@code sent}, {@code received}, {@code bad}, {@code lost}. */
    public static String rawEcho(final int frames)
    {
        return "rawecho -i eth0 -n " + frames + " -t 3000\n";
    }

    /**
     * Writes the pattern to /dev/vda at {@link #PATTERN_OFFSET} with {@code dd}, flushes it (fsync and sync), drops
     * the page cache, reads it back, and prints the checksums of what it wrote and what it read back
     * ({@code written_sha256}, {@code read_sha256}) and the disk's size in 512-byte sectors ({@code disk_sectors}).
     */
    public static String blkPattern()
    {
        return """
            echo "JV-RESULT disk_sectors=$(cat /sys/block/vda/size) disk_ro=$(cat /sys/block/vda/ro)"
            yes '%s' | head -c %d > /tmp/pattern
            echo "JV-RESULT written_sha256=$(sha256sum < /tmp/pattern | cut -d' ' -f1)"
            dd if=/tmp/pattern of=/dev/vda bs=%d seek=%d conv=fsync 2>/dev/null
            echo "JV-RESULT dd_status=$?"
            sync
            echo 3 > /proc/sys/vm/drop_caches
            dd if=/dev/vda bs=%d skip=%d count=%d 2>/dev/null > /tmp/back
            echo "JV-RESULT read_sha256=$(sha256sum < /tmp/back | cut -d' ' -f1)"
            """.formatted(PATTERN_LINE.strip(), PATTERN_BYTES, BLOCK, PATTERN_OFFSET / BLOCK,
            BLOCK, PATTERN_OFFSET / BLOCK, PATTERN_BYTES / BLOCK);
    }

    /**
     * Tries to write a read-only /dev/vda and prints {@code disk_ro} (the kernel's view, from VIRTIO_BLK_F_RO),
     * {@code ro_write_status} (dd's exit status, non-zero when refused) and {@code ro_first_sha256} (the first 64 KiB
     * after the attempt, read past the page cache).
     */
    public static String blkReadOnly()
    {
        return """
            echo "JV-RESULT disk_ro=$(cat /sys/block/vda/ro)"
            yes '%s' | head -c %d > /tmp/pattern
            dd if=/tmp/pattern of=/dev/vda bs=%d conv=fsync 2>/dev/null
            echo "JV-RESULT ro_write_status=$?"
            echo 3 > /proc/sys/vm/drop_caches
            echo "JV-RESULT ro_first_sha256=$(dd if=/dev/vda bs=%d count=1 2>/dev/null | sha256sum \
            | cut -d' ' -f1)"
            """.formatted(PATTERN_LINE.strip(), BLOCK, BLOCK, BLOCK);
    }

    /** @return the pattern's bytes as the guest's {@code yes | head -c} makes them. */
    public static byte[] pattern()
    {
        final byte[] line = PATTERN_LINE.getBytes(StandardCharsets.US_ASCII);
        final byte[] bytes = new byte[PATTERN_BYTES];
        // bound: PATTERN_BYTES bytes
        for (int i = 0; i < bytes.length; i++)
        {
            bytes[i] = line[i % line.length];
        }
        return bytes;
    }

    /** @return the lower-case hex SHA-256 of {@code bytes}, as sha256sum prints it. */
    public static String sha256(final byte[] bytes)
    {
        try
        {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        }
        catch (final NoSuchAlgorithmException e)
        {
            throw new IllegalStateException("sha-256 missing from the jdk", e);
        }
    }

    /**
     * @param features the sysfs {@code features} string: one '0' or '1' per feature bit, bit 0 first.
     * @return whether bit {@code bit} is set.
     */
    public static boolean hasFeature(final String features, final int bit)
    {
        return features != null && features.length() > bit && features.charAt(bit) == '1';
    }
}
