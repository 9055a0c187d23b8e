package io.jvirtio.net.capture;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a classic libpcap file (pcap-savefile(5)) of either byte order, microsecond or nanosecond magic: enough to
 * check what {@link PcapExport} writes, and to read what other tools write. The file is untrusted: every length is
 * checked against the snaplen and the bytes left before anything is copied.
 * <p>
 * Thread safety: immutable; any thread.
 *
 * @param linkType the global header's link type.
 * @param snaplen  the global header's snapshot length.
 * @param records  the records, in file order.
 */
public record PcapReader(int linkType, int snaplen, List<Record> records)
{
    private static final int MAGIC_NANOSECONDS = 0xA1B23C4D;

    /**
     * One packet record.
     *
     * @param seconds        ts_sec.
     * @param subseconds     ts_usec (or nanoseconds for a nanosecond file).
     * @param originalLength orig_len, the frame's length on the wire.
     * @param data           the incl_len bytes kept.
     */
    public record Record(long seconds, long subseconds, long originalLength, byte[] data)
    {
    }

    /**
     * @param file a pcap file.
     * @return its contents.
     * @throws IllegalArgumentException if the file is not a well-formed classic pcap file.
     * @throws UncheckedIOException     if it cannot be read.
     */
    public static PcapReader read(final Path file)
    {
        final ByteBuffer in;
        try
        {
            in = ByteBuffer.wrap(Files.readAllBytes(file));
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot read pcap file: file=" + file, e);
        }
        if (in.remaining() < PcapExport.GLOBAL_HEADER_LENGTH)
        {
            throw new IllegalArgumentException("pcap file shorter than its header: file=" + file + ", length="
                + in.remaining());
        }
        in.order(ByteOrder.LITTLE_ENDIAN);
        final int magic = in.getInt(0);
        if (magic != PcapExport.MAGIC_MICROSECONDS && magic != MAGIC_NANOSECONDS)
        {
            in.order(ByteOrder.BIG_ENDIAN);
            final int swapped = in.getInt(0);
            if (swapped != PcapExport.MAGIC_MICROSECONDS && swapped != MAGIC_NANOSECONDS)
            {
                throw new IllegalArgumentException("not a pcap file: file=" + file + ", magic="
                    + Integer.toHexString(magic));
            }
        }
        in.position(Integer.BYTES + 2 * Short.BYTES + 2 * Integer.BYTES);
        final int snaplen = in.getInt();
        final int linkType = in.getInt();
        final List<Record> records = new ArrayList<>();
        // bound: each pass consumes at least a record header of the finite file
        while (in.remaining() > 0)
        {
            if (in.remaining() < PcapExport.RECORD_HEADER_LENGTH)
            {
                throw new IllegalArgumentException("pcap record header cut short: file=" + file + ", record="
                    + records.size());
            }
            final long seconds = Integer.toUnsignedLong(in.getInt());
            final long subseconds = Integer.toUnsignedLong(in.getInt());
            final long included = Integer.toUnsignedLong(in.getInt());
            final long original = Integer.toUnsignedLong(in.getInt());
            if (included > Integer.toUnsignedLong(snaplen) || included > in.remaining())
            {
                throw new IllegalArgumentException("pcap record longer than the snaplen or the file: file=" + file
                    + ", record=" + records.size() + ", inclLen=" + included);
            }
            final byte[] data = new byte[(int)included];
            in.get(data);
            records.add(new Record(seconds, subseconds, original, data));
        }
        return new PcapReader(linkType, snaplen, List.copyOf(records));
    }
}
