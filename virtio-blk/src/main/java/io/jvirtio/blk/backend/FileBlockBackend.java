package io.jvirtio.blk.backend;

import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.bus.memory.GuestMemory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A disk in a raw image file, read and written with positional {@link FileChannel} I/O straight between the file and
 * guest memory (a view of guest RAM is the I/O buffer; no heap copy).
 * <ul>
 *     <li>The image is never truncated or resized: {@link #create} makes a new sparse file of the given size (it fails
 *     if the file exists), {@link #open} takes the file as it is, and a size that is not a whole number of sectors, or
 *     that differs from the size the caller expects, is an error.</li>
 *     <li>A writable image takes an exclusive lock ({@link FileChannel#tryLock}) so that a second writer, in this
 *     process or another, is refused; a read-only image is opened for reading only and takes a shared lock.</li>
 *     <li>FLUSH is {@link FileChannel#force(boolean) force(true)}: it returns, and the device reports OK, only after
 *     the data and metadata are on the disk.</li>
 *     <li>DISCARD and WRITE_ZEROES both write zeroes over the range (no hole is punched), so the range reads back as
 *     zeroes in both cases.</li>
 * </ul>
 * Thread safety: as {@link BlockBackend}; positional I/O on one channel is safe from several threads.
 */
public final class FileBlockBackend implements BlockBackend
{
    /** Largest piece of one transfer: a {@link ByteBuffer} view holds at most 2^31 - 1 bytes. */
    private static final long MAX_PIECE = 1L << 30;
    private static final int ZERO_CHUNK = 64 * 1024;
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();

    private final Path path;
    private final FileChannel channel;
    private final FileLock lock;
    private final long capacity;
    private final boolean readOnly;
    private final byte[] id;
    private final AtomicLong forces = new AtomicLong();

    private FileBlockBackend(
        final Path path, final FileChannel channel, final FileLock lock, final long capacity, final boolean readOnly,
        final byte[] id)
    {
        this.path = path;
        this.channel = channel;
        this.lock = lock;
        this.capacity = capacity;
        this.readOnly = readOnly;
        this.id = id;
    }

    /**
     * Creates a new, sparse image of {@code sectors} sectors and opens it for writing.
     *
     * @param path    the image; must not exist.
     * @param sectors size in 512-byte sectors, greater than 0.
     * @param id      the GET_ID string, ASCII, at most 20 bytes.
     * @return the backend.
     * @throws IOException if the file exists or cannot be created or locked.
     */
    public static FileBlockBackend create(final Path path, final long sectors, final String id) throws IOException
    {
        if (sectors <= 0 || sectors > Long.MAX_VALUE >> VirtioBlk.SECTOR_SHIFT)
        {
            throw new IllegalArgumentException("disk size must be positive: sectors=" + sectors);
        }
        final byte[] idBytes = BackendIds.encode(id);
        final FileChannel channel = FileChannel.open(
            path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try
        {
            final FileLock lock = lock(path, channel, false);
            // one byte at the very end sets the size and leaves the rest a hole where the filesystem allows
            channel.write(ByteBuffer.allocate(1), (sectors << VirtioBlk.SECTOR_SHIFT) - 1);
            return new FileBlockBackend(path, channel, lock, sectors, false, idBytes);
        }
        catch (final IOException | RuntimeException ex)
        {
            channel.close();
            throw ex;
        }
    }

    /**
     * Opens an existing image at its current size.
     *
     * @param path     the image.
     * @param readOnly open it read-only with a shared lock; otherwise read-write with an exclusive lock.
     * @param id       the GET_ID string, ASCII, at most 20 bytes.
     * @return the backend.
     * @throws IOException if the file cannot be opened or locked, or its size is not a positive whole number of
     *                     sectors.
     */
    public static FileBlockBackend open(final Path path, final boolean readOnly, final String id) throws IOException
    {
        return open(path, -1, readOnly, id);
    }

    /**
     * Opens an existing image that must have exactly {@code expectedSectors} sectors.
     *
     * @param path            the image.
     * @param expectedSectors the size the caller expects, or -1 for whatever the file holds.
     * @param readOnly        open it read-only with a shared lock; otherwise read-write with an exclusive lock.
     * @param id              the GET_ID string, ASCII, at most 20 bytes.
     * @return the backend.
     * @throws IOException if the file cannot be opened or locked, or its size is wrong; the file is left unchanged.
     */
    public static FileBlockBackend open(
        final Path path, final long expectedSectors, final boolean readOnly, final String id) throws IOException
    {
        final byte[] idBytes = BackendIds.encode(id);
        final FileChannel channel = readOnly
            ? FileChannel.open(path, StandardOpenOption.READ)
            : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try
        {
            final FileLock lock = lock(path, channel, readOnly);
            final long size = channel.size();
            if (size <= 0 || (size & (VirtioBlk.SECTOR_SIZE - 1)) != 0)
            {
                throw new BlockBackendException("image size is not a positive whole number of sectors: path=" + path
                    + ", size=" + size);
            }
            final long sectors = size >> VirtioBlk.SECTOR_SHIFT;
            if (expectedSectors >= 0 && sectors != expectedSectors)
            {
                throw new BlockBackendException("image size does not match: path=" + path + ", sectors=" + sectors
                    + ", expectedSectors=" + expectedSectors);
            }
            return new FileBlockBackend(path, channel, lock, sectors, readOnly, idBytes);
        }
        catch (final IOException | RuntimeException ex)
        {
            channel.close();
            throw ex;
        }
    }

    private static FileLock lock(final Path path, final FileChannel channel, final boolean shared) throws IOException
    {
        final FileLock lock;
        try
        {
            lock = channel.tryLock(0, Long.MAX_VALUE, shared);
        }
        catch (final OverlappingFileLockException ex)
        {
            throw new BlockBackendException("image is locked by this process: path=" + path + ", shared=" + shared);
        }
        if (lock == null)
        {
            throw new BlockBackendException("image is locked by another process: path=" + path + ", shared=" + shared);
        }
        return lock;
    }

    /** @return the image file. */
    public Path path()
    {
        return path;
    }

    /** @return times {@link FileChannel#force(boolean)} returned (FLUSH requests and writethrough writes). */
    public long forces()
    {
        return forces.get();
    }

    @Override
    public long capacity()
    {
        return capacity;
    }

    @Override
    public boolean isReadOnly()
    {
        return readOnly;
    }

    @Override
    public byte[] id()
    {
        return id.clone();
    }

    @Override
    public void read(final long position, final GuestMemory memory, final long gpa, final long length)
        throws IOException
    {
        // bound: length / 1 GiB pieces, each read until full; a read returning -1 ends it with an error
        for (long done = 0; done < length; )
        {
            final long piece = Math.min(MAX_PIECE, length - done);
            final ByteBuffer buffer = memory.slice(gpa + done, piece).asByteBuffer();
            // bound: every read moves the buffer on by at least one byte or ends the loop with -1
            while (buffer.hasRemaining())
            {
                final int n = channel.read(buffer, position + done + buffer.position());
                if (n < 0)
                {
                    throw new BlockBackendException("image ended before the read did: path=" + path
                        + ", position=" + (position + done + buffer.position()));
                }
            }
            done += piece;
        }
    }

    @Override
    public void write(final long position, final GuestMemory memory, final long gpa, final long length)
        throws IOException
    {
        checkWritable();
        // bound: length / 1 GiB pieces, each written until empty (a positional write always makes progress)
        for (long done = 0; done < length; )
        {
            final long piece = Math.min(MAX_PIECE, length - done);
            final ByteBuffer buffer = memory.slice(gpa + done, piece).asByteBuffer();
            // bound: a blocking positional write moves the buffer on by at least one byte
            while (buffer.hasRemaining())
            {
                channel.write(buffer, position + done + buffer.position());
            }
            done += piece;
        }
    }

    @Override
    public void flush() throws IOException
    {
        channel.force(true);
        forces.getAndIncrement();
    }

    @Override
    public void discard(final long position, final long length) throws IOException
    {
        writeZeroes(position, length, true);
    }

    @Override
    public void writeZeroes(final long position, final long length, final boolean unmap) throws IOException
    {
        checkWritable();
        final ByteBuffer zeroes = ZEROES.duplicate();
        // bound: length / 64 KiB chunks
        for (long done = 0; done < length; )
        {
            final int chunk = (int)Math.min(ZERO_CHUNK, length - done);
            zeroes.clear().limit(chunk);
            // bound: a blocking positional write moves the buffer on by at least one byte
            while (zeroes.hasRemaining())
            {
                channel.write(zeroes, position + done + zeroes.position());
            }
            done += chunk;
        }
    }

    private void checkWritable() throws BlockBackendException
    {
        if (readOnly)
        {
            throw new BlockBackendException("write to a read-only image: path=" + path);
        }
    }

    @Override
    public void close() throws IOException
    {
        try
        {
            if (lock.isValid())
            {
                lock.release();
            }
        }
        finally
        {
            channel.close();
        }
    }
}
