package io.jvirtio.net.capture;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * Writes a capture's frames to a classic libpcap file (the format of pcap-savefile(5)): a 24-byte global header
 * (magic 0xA1B2C3D4 for microsecond timestamps, version 2.4, snaplen 65535, link type 1 LINKTYPE_ETHERNET), then
 * per frame a 16-byte record header (ts_sec, ts_usec, incl_len, orig_len) and the frame's first incl_len bytes.
 * Everything is little-endian, which readers detect from the magic. The virtio_net_hdr is not exported: the link
 * type is plain Ethernet. A frame longer than the snaplen is cut to it, its orig_len keeping the full length.
 * <p>
 * Thread safety: stateless; any thread.
 */
public final class PcapExport
{
    /** pcap-savefile(5) magic for microsecond timestamps, written in the file's byte order. */
    public static final int MAGIC_MICROSECONDS = 0xA1B2C3D4;
    /** The format's major version. */
    public static final int VERSION_MAJOR = 2;
    /** The format's minor version. */
    public static final int VERSION_MINOR = 4;
    /** The most bytes kept per frame. */
    public static final int SNAPLEN = 65_535;
    /** LINKTYPE_ETHERNET: IEEE 802.3 frames without preamble or FCS. */
    public static final int LINKTYPE_ETHERNET = 1;
    /** The global header's length. */
    public static final int GLOBAL_HEADER_LENGTH = 24;
    /** A record header's length. */
    public static final int RECORD_HEADER_LENGTH = 16;

    private PcapExport()
    {
    }

    /**
     * Exports the frames of {@code directions} from a capture, in recorded order.
     *
     * @param captureDirectory a directory written by {@link CapturingBackend}.
     * @param pcapFile         the file to write (replaced if it exists).
     * @param directions       which frames to export.
     * @return the number of frames written.
     * @throws UncheckedIOException if the file cannot be written.
     */
    public static long export(final Path captureDirectory, final Path pcapFile, final Set<CaptureDirection> directions)
    {
        final ByteBuffer header = ByteBuffer.allocate(GLOBAL_HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(pcapFile)))
        {
            header.putInt(MAGIC_MICROSECONDS).putShort((short)VERSION_MAJOR).putShort((short)VERSION_MINOR)
                .putInt(0).putInt(0).putInt(SNAPLEN).putInt(LINKTYPE_ETHERNET);
            out.write(header.array());
            final long[] written = new long[1];
            final ByteBuffer record = ByteBuffer.allocate(RECORD_HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
            CaptureReader.read(captureDirectory, frame ->
            {
                if (directions.contains(frame.direction()))
                {
                    writeRecord(out, record, frame);
                    written[0]++;
                }
            });
            return written[0];
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot write pcap file: file=" + pcapFile, e);
        }
    }

    private static void writeRecord(final OutputStream out, final ByteBuffer record, final CapturedFrame frame)
    {
        final byte[] bytes = frame.frame();
        final int included = Math.min(bytes.length, SNAPLEN);
        final long micros = Math.floorDiv(frame.timeNanos(), 1_000L);
        record.clear();
        record.putInt((int)Math.floorDiv(micros, 1_000_000L)).putInt((int)Math.floorMod(micros, 1_000_000L))
            .putInt(included).putInt(bytes.length);
        try
        {
            out.write(record.array());
            out.write(bytes, 0, included);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot write pcap record: length=" + bytes.length, e);
        }
    }
}
