package io.jvirtio.samples.guest;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes a cpio archive in the "new ASCII" (newc) format the Linux kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst): per entry the magic {@code 070701}, thirteen 8-digit
 * hex fields, the NUL-terminated name padded to 4 bytes, the data padded to 4 bytes; a {@code TRAILER!!!} entry ends
 * the archive. Several archives may be concatenated (each gzip'd on its own); the kernel unpacks them in order.
 * <p>
 * Thread safety: one thread per writer.
 */
final class CpioWriter implements AutoCloseable
{
    private static final int S_IFDIR = 0040000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFLNK = 0120000;
    private static final int S_IFCHR = 0020000;

    private final OutputStream out;
    private long written;
    private int inode = 1;

    /** @param out where the archive goes; {@link #close} writes the trailer and closes it. */
    CpioWriter(final OutputStream out)
    {
        this.out = out;
    }

    /** A directory, mode e.g. {@code 0755}. */
    void directory(final String name, final int mode) throws IOException
    {
        entry(name, S_IFDIR | mode, 2, 0, 0, new byte[0]);
    }

    /** A regular file, mode e.g. {@code 0755}. */
    void file(final String name, final int mode, final byte[] data) throws IOException
    {
        entry(name, S_IFREG | mode, 1, 0, 0, data);
    }

    /** A symbolic link to {@code target}. */
    void symlink(final String name, final String target) throws IOException
    {
        entry(name, S_IFLNK | 0777, 1, 0, 0, target.getBytes(StandardCharsets.UTF_8));
    }

    /** A character device node. */
    void characterDevice(final String name, final int mode, final int major, final int minor) throws IOException
    {
        entry(name, S_IFCHR | mode, 1, major, minor, new byte[0]);
    }

    private void entry(final String name, final int mode, final int links, final int rdevMajor, final int rdevMinor,
        final byte[] data) throws IOException
    {
        final byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        final StringBuilder header = new StringBuilder(110).append("070701");
        final int[] fields = {inode++, mode, 0, 0, links, 0, data.length, 0, 0, rdevMajor, rdevMinor,
            nameBytes.length + 1, 0};
        // bound: thirteen header fields
        for (final int field : fields)
        {
            header.append(String.format("%08x", field));
        }
        write(header.toString().getBytes(StandardCharsets.US_ASCII));
        write(nameBytes);
        write(new byte[1]);
        pad();
        write(data);
        pad();
    }

    private void write(final byte[] bytes) throws IOException
    {
        out.write(bytes);
        written += bytes.length;
    }

    private void pad() throws IOException
    {
        final int padding = (int)(-written & 3);
        write(new byte[padding]);
    }

    /** Writes the trailer entry and closes the stream. */
    @Override
    public void close() throws IOException
    {
        try (out)
        {
            entry("TRAILER!!!", 0, 1, 0, 0, new byte[0]);
        }
    }
}
