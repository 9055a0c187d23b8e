package io.jvirtio.blk.backend;

import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.bus.linux.Libc;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A disk in a raw image file, read and written with pread(2)/pwrite(2) straight between the file and guest memory
 * (the guest's own pages are the I/O buffer; no heap copy, and nothing is allocated per request).
 * <ul>
 *     <li>The image is never truncated or resized: {@link #create} makes a new sparse file of the given size (it fails
 *     if the file exists), {@link #open} takes the file as it is, and a size that is not a whole number of sectors, or
 *     that differs from the size the caller expects, is an error.</li>
 *     <li>A writable image takes an exclusive lock ({@link FileChannel#tryLock}) so that a second writer, in this
 *     process or another, is refused; a read-only image is opened for reading only and takes a shared lock. The
 *     channel holds the lock; a second descriptor, opened with open(2), carries the data.</li>
 *     <li>Short reads and writes are continued from where they stopped and EINTR is retried; any other failure, or
 *     the file ending early, is counted in {@link #errors()} and thrown, and the device answers IOERR.</li>
 *     <li>FLUSH is fdatasync(2): it returns, and the device reports OK, only after fdatasync returned 0, so every
 *     write completed before it, and the file size needed to read it back, is on the disk. The size never changes
 *     after {@link #create}, so no other metadata matters.</li>
 *     <li>DISCARD and WRITE_ZEROES both write zeroes over the range (no hole is punched), so the range reads back as
 *     zeroes in both cases.</li>
 * </ul>
 * Thread safety: as {@link BlockBackend}; pread and pwrite on one descriptor are safe from several threads.
 */
public final class FileBlockBackend implements BlockBackend
{
    private static final long ZERO_CHUNK = 64 * 1024;
    /** A source of zeroes for WRITE_ZEROES, never written. */
    private static final MemorySegment ZEROES = Arena.global().allocate(ZERO_CHUNK, 4096);
    /**
     * Interrupted calls in a row before giving up: EINTR comes from a signal to this thread, so a long run of them
     * means something keeps signalling it and the request fails instead of spinning.
     */
    private static final int MAX_EINTR_RETRIES = 1000;

    private final Path path;
    private final FileChannel channel;
    private final FileLock lock;
    private final int fd;
    private final long capacity;
    private final boolean readOnly;
    private final byte[] id;
    private final AtomicLong forces = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    /** Host addresses of the regions of the guest memory last seen; replaced whole when the memory changes. */
    private volatile RegionTable table;

    private FileBlockBackend(
        final Path path, final FileChannel channel, final FileLock lock, final int fd, final long capacity,
        final boolean readOnly, final byte[] id)
    {
        this.path = path;
        this.channel = channel;
        this.lock = lock;
        this.fd = fd;
        this.capacity = capacity;
        this.readOnly = readOnly;
        this.id = id;
    }

    /** Opens the data descriptor of an image whose channel is open and locked. */
    private static int openFd(final Path path, final boolean readOnly) throws BlockBackendException
    {
        if (!Libc.isAvailable())
        {
            throw new BlockBackendException("file images need linux system calls: reason=" + Libc.unavailableReason());
        }
        final int fd = Libc.open(path.toAbsolutePath().toString(),
            (readOnly ? Libc.O_RDONLY : Libc.O_RDWR) | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new BlockBackendException("cannot open image: path=" + path + ", errno=" + -fd);
        }
        return fd;
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
            return new FileBlockBackend(path, channel, lock, openFd(path, false), sectors, false, idBytes);
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
            return new FileBlockBackend(path, channel, lock, openFd(path, readOnly), sectors, readOnly, idBytes);
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

    /** @return times fdatasync(2) returned 0 (FLUSH requests and writethrough writes). */
    public long forces()
    {
        return forces.get();
    }

    /** @return host failures: failed or interrupted-too-often calls, an image that ended early, a range not in RAM. */
    public long errors()
    {
        return errors.get();
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
        if (length == 0)
        {
            return;
        }
        final long address = hostAddress(memory, gpa, length);
        long done = 0;
        int interrupted = 0;
        // bound: every pass moves on by at least one byte, ends the loop with an error, or is one of at most
        // MAX_EINTR_RETRIES interrupted calls in a row
        while (done < length)
        {
            final long n = Libc.pread(fd, address + done, length - done, position + done);
            if (n > 0)
            {
                done += n;
                interrupted = 0;
            }
            else if (n == -Libc.EINTR && ++interrupted <= MAX_EINTR_RETRIES)
            {
                continue;
            }
            else
            {
                throw ioError(n == 0 ? "image ended before the read did" : "pread failed", n, position + done);
            }
        }
    }

    @Override
    public void write(final long position, final GuestMemory memory, final long gpa, final long length)
        throws IOException
    {
        checkWritable();
        if (length == 0)
        {
            return;
        }
        writeFrom(hostAddress(memory, gpa, length), position, length);
    }

    /** pwrite(2) of {@code length} bytes at a checked host address, looping over short writes and EINTR. */
    private void writeFrom(final long address, final long position, final long length) throws BlockBackendException
    {
        long done = 0;
        int interrupted = 0;
        // bound: every pass moves on by at least one byte, ends the loop with an error, or is one of at most
        // MAX_EINTR_RETRIES interrupted calls in a row
        while (done < length)
        {
            final long n = Libc.pwrite(fd, address + done, length - done, position + done);
            if (n > 0)
            {
                done += n;
                interrupted = 0;
            }
            else if (n == -Libc.EINTR && ++interrupted <= MAX_EINTR_RETRIES)
            {
                continue;
            }
            else
            {
                throw ioError(n == 0 ? "pwrite made no progress" : "pwrite failed", n, position + done);
            }
        }
    }

    @Override
    public void flush() throws IOException
    {
        int interrupted = 0;
        int ret;
        // bound: at most MAX_EINTR_RETRIES interrupted calls in a row
        while ((ret = Libc.fdatasync(fd)) == -Libc.EINTR && ++interrupted <= MAX_EINTR_RETRIES)
        {
            Thread.onSpinWait();
        }
        if (ret != 0)
        {
            throw ioError("fdatasync failed", ret, 0);
        }
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
        // bound: length / 64 KiB chunks
        for (long done = 0; done < length; )
        {
            final long chunk = Math.min(ZERO_CHUNK, length - done);
            writeFrom(ZEROES.address(), position + done, chunk);
            done += chunk;
        }
    }

    /**
     * The host address of a guest range, from the table of the last guest memory seen (rebuilt only when the memory
     * changes, so the data path allocates nothing).
     */
    private long hostAddress(final GuestMemory memory, final long gpa, final long length) throws BlockBackendException
    {
        RegionTable t = table;
        if (t == null || t.memory != memory)
        {
            t = new RegionTable(memory);
            table = t;
        }
        final long address = t.hostAddress(gpa, length);
        if (address == 0)
        {
            errors.getAndIncrement();
            throw new BlockBackendException("guest range is not inside one ram region: gpa=0x" + Long.toHexString(gpa)
                + ", length=" + length);
        }
        return address;
    }

    private BlockBackendException ioError(final String what, final long ret, final long position)
    {
        errors.getAndIncrement();
        return new BlockBackendException(what + ": path=" + path + ", errno=" + -ret + ", position=" + position);
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
        // the data descriptor goes first: closing any descriptor of the file drops this process's fcntl locks on it
        Libc.close(fd);
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

    /** Guest-physical bases, sizes and host addresses of one guest memory's RAM regions; immutable. */
    private static final class RegionTable
    {
        private final GuestMemory memory;
        private final long[] bases;
        private final long[] sizes;
        private final long[] addresses;

        RegionTable(final GuestMemory memory)
        {
            final List<GuestRegion> regions = memory.regions();
            this.memory = memory;
            this.bases = new long[regions.size()];
            this.sizes = new long[regions.size()];
            this.addresses = new long[regions.size()];
            for (int i = 0; i < bases.length; i++)
            {
                final GuestRegion region = regions.get(i);
                bases[i] = region.guestBase();
                sizes[i] = region.size();
                addresses[i] = region.segment().address();
            }
        }

        /** @return the host address of {@code [gpa, gpa + length)}, or 0 if no one region holds all of it. */
        long hostAddress(final long gpa, final long length)
        {
            if (length < 0)
            {
                return 0;
            }
            // bound: one pass over the fixed, small region array
            for (int i = 0; i < bases.length; i++)
            {
                final long offset = gpa - bases[i];
                if (Long.compareUnsigned(offset, sizes[i]) < 0)
                {
                    return Long.compareUnsigned(length, sizes[i] - offset) <= 0 ? addresses[i] + offset : 0;
                }
            }
            return 0;
        }
    }
}
