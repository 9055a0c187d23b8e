package io.jvirtio.bus.memory;

import io.jvirtio.bus.linux.Libc;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One contiguous range of guest-physical RAM, backed by a {@link MemorySegment} with a real native address (so that
 * /dev/kvm or another process could map the same pages).
 * <p>
 * Three backings, as a VMM offers them:
 * <ul>
 *     <li>{@link #anonymous(long, long)}: private anonymous memory, zero-filled on first touch;</li>
 *     <li>{@link #memfd(long, long, String)}: a memfd, shareable by passing {@link #fd()} to another process
 *     (vhost-user) or to {@code KVM_SET_USER_MEMORY_REGION};</li>
 *     <li>{@link #file(long, long, Path)}: a shared mapping of a file, which is grown to the size if shorter;</li>
 *     <li>{@link #adopt(long, long, int, long)}: a shared mapping of a descriptor another process passed (the
 *     regions of a vhost-user SET_MEM_TABLE), which the region owns from then on.</li>
 * </ul>
 * The segment belongs to a shared arena: after {@link #close()} any access fails with {@link IllegalStateException}
 * instead of touching unmapped memory.
 * <p>
 * Thread safety: immutable after construction; {@link #close()} may be called from any thread, once all users are
 * done.
 */
public final class GuestRegion implements AutoCloseable
{
    /** Page alignment required of a region's base and size (4 KiB, the x86 base page). */
    public static final long PAGE_SIZE = 4096;

    private static final int MAP_ANONYMOUS = 0x20;

    /** How a region's memory is provided. */
    public enum Backing
    {
        ANONYMOUS,
        MEMFD,
        FILE,
        /** A descriptor received from another process (vhost-user), mapped shared at an offset. */
        ADOPTED
    }

    private final long guestBase;
    private final long size;
    private final MemorySegment segment;
    private final Arena arena;
    private final Backing backing;
    private final int fd;

    private GuestRegion(
        final long guestBase,
        final long size,
        final MemorySegment segment,
        final Arena arena,
        final Backing backing,
        final int fd)
    {
        this.guestBase = guestBase;
        this.size = size;
        this.segment = segment;
        this.arena = arena;
        this.backing = backing;
        this.fd = fd;
    }

    private static void checkGeometry(final long guestBase, final long size)
    {
        if (size <= 0 || (size & (PAGE_SIZE - 1)) != 0)
        {
            throw new IllegalArgumentException("region size must be a positive multiple of 4096: size=" + size);
        }
        if ((guestBase & (PAGE_SIZE - 1)) != 0)
        {
            throw new IllegalArgumentException(
                "region base must be 4096-aligned: base=0x" + Long.toHexString(guestBase));
        }
        if (Long.compareUnsigned(guestBase + size - 1, guestBase) < 0)
        {
            throw new IllegalArgumentException(
                "region wraps past 2^64: base=0x" + Long.toHexString(guestBase) + ", size=" + size);
        }
    }

    /**
     * Private anonymous memory: mmap(MAP_PRIVATE | MAP_ANONYMOUS) on Linux, so untouched pages cost nothing; an
     * arena allocation elsewhere.
     *
     * @param guestBase guest-physical address of the first byte, 4 KiB aligned.
     * @param size      size in bytes, a multiple of 4 KiB.
     * @return the region.
     */
    public static GuestRegion anonymous(final long guestBase, final long size)
    {
        checkGeometry(guestBase, size);
        final Arena arena = Arena.ofShared();
        if (!Libc.isAvailable())
        {
            return new GuestRegion(guestBase, size, arena.allocate(size, PAGE_SIZE), arena, Backing.ANONYMOUS, -1);
        }
        final MemorySegment raw = Libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE,
            Libc.MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (raw.byteSize() == 0)
        {
            arena.close();
            throw new IllegalStateException("mmap of anonymous guest memory failed: errno=" + -raw.address()
                + ", size=" + size);
        }
        final MemorySegment segment = raw.reinterpret(size, arena, unused -> Libc.munmap(raw));
        return new GuestRegion(guestBase, size, segment, arena, Backing.ANONYMOUS, -1);
    }

    /**
     * A memfd of {@code size} bytes mapped shared; {@link #fd()} names it for another process or /dev/kvm.
     *
     * @param guestBase guest-physical address of the first byte, 4 KiB aligned.
     * @param size      size in bytes, a multiple of 4 KiB.
     * @param name      the memfd's name, as /proc shows it.
     * @return the region.
     * @throws UnsupportedOperationException where memfd does not exist (not Linux).
     */
    public static GuestRegion memfd(final long guestBase, final long size, final String name)
    {
        checkGeometry(guestBase, size);
        final int fd = Libc.memfdCreate(name, Libc.MFD_CLOEXEC);
        if (fd < 0)
        {
            throw new IllegalStateException("memfd_create failed: errno=" + -fd + ", name=" + name);
        }
        final int truncated = Libc.ftruncate(fd, size);
        if (truncated < 0)
        {
            Libc.close(fd);
            throw new IllegalStateException("ftruncate of memfd failed: errno=" + -truncated + ", size=" + size);
        }
        final MemorySegment raw = Libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        if (raw.byteSize() == 0)
        {
            Libc.close(fd);
            throw new IllegalStateException("mmap of memfd failed: errno=" + -raw.address() + ", size=" + size);
        }
        final Arena arena = Arena.ofShared();
        final MemorySegment segment = raw.reinterpret(size, arena, unused ->
        {
            Libc.munmap(raw);
            Libc.close(fd);
        });
        return new GuestRegion(guestBase, size, segment, arena, Backing.MEMFD, fd);
    }

    /**
     * A shared mapping of {@code path}, created if missing and grown to {@code size} if shorter (never shrunk).
     *
     * @param guestBase guest-physical address of the first byte, 4 KiB aligned.
     * @param size      size in bytes, a multiple of 4 KiB.
     * @param path      the backing file.
     * @return the region.
     * @throws IOException if the file cannot be opened or mapped.
     */
    public static GuestRegion file(final long guestBase, final long size, final Path path) throws IOException
    {
        checkGeometry(guestBase, size);
        final Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path,
            StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            final MemorySegment segment = channel.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            return new GuestRegion(guestBase, size, segment, arena, Backing.FILE, -1);
        }
        catch (final IOException | RuntimeException ex)
        {
            arena.close();
            throw ex;
        }
    }

    /**
     * Maps {@code size} bytes of a descriptor another process passed, from {@code offset}, shared and writable, as
     * the region at {@code guestBase}: what a vhost-user back-end does with each region of SET_MEM_TABLE
     * (docs/interop/vhost-user.rst "Memory regions description": guest address, size, user address, mmap offset).
     * The front-end chooses the geometry, so neither base nor size need be page-aligned: the mapping starts at the
     * page that holds {@code offset} and the region is the exact slice. From this call on the region owns
     * {@code fd}, on success and on failure: it is closed when the region is, or before the exception.
     *
     * @param guestBase guest-physical address of the first byte.
     * @param size      size in bytes, positive.
     * @param fd        the descriptor (a memfd or a file), adopted.
     * @param offset    offset in the descriptor of the first byte, not negative.
     * @return the region.
     * @throws GuestMemoryException if the size is not positive, the offset is negative, or the guest range or the
     *                              file range wraps 2^64.
     * @throws IOException          if the descriptor is shorter than {@code offset + size} (fstat), not mappable
     *                              or not open: a shared mapping past the end of a file raises SIGBUS on access.
     */
    public static GuestRegion adopt(final long guestBase, final long size, final int fd, final long offset)
        throws IOException
    {
        final long pageOffset = offset & (PAGE_SIZE - 1);
        final long mapLength = size + pageOffset;
        if (size <= 0 || offset < 0)
        {
            Libc.close(fd);
            throw new GuestMemoryException(GuestMemoryException.Reason.BAD_LENGTH, guestBase, size);
        }
        if (Long.compareUnsigned(guestBase + size - 1, guestBase) < 0 || offset + size < 0 || mapLength < 0)
        {
            Libc.close(fd);
            throw new GuestMemoryException(GuestMemoryException.Reason.WRAPS, guestBase, size);
        }
        final long fileSize = fileSize(fd);
        if (fileSize < offset + size)
        {
            Libc.close(fd);
            throw new IOException("adopted descriptor is shorter than the region (an access past its end would "
                + "raise SIGBUS): fileSize=" + fileSize + ", offset=" + offset + ", size=" + size);
        }
        final MemorySegment raw = Libc.mmap(mapLength, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd,
            offset - pageOffset);
        if (raw.byteSize() == 0)
        {
            Libc.close(fd);
            throw new IOException("mmap of adopted descriptor failed: errno=" + -raw.address() + ", fd=" + fd
                + ", size=" + size + ", offset=" + offset);
        }
        final Arena arena = Arena.ofShared();
        final MemorySegment mapping = raw.reinterpret(mapLength, arena, unused ->
        {
            Libc.munmap(raw);
            Libc.close(fd);
        });
        return new GuestRegion(guestBase, size, mapping.asSlice(pageOffset, size), arena, Backing.ADOPTED, fd);
    }

    /** @return the size fstat(2) reports for {@code fd}, or -errno. */
    private static long fileSize(final int fd)
    {
        try (Arena local = Arena.ofConfined())
        {
            final MemorySegment stat = local.allocate(Libc.STAT_SIZE, 8);
            final int ret = Libc.fstat(fd, stat);
            return ret < 0 ? ret : stat.get(ValueLayout.JAVA_LONG, Libc.STAT_ST_SIZE_OFFSET);
        }
    }

    /** @return guest-physical address of the first byte. */
    public long guestBase()
    {
        return guestBase;
    }

    /** @return size in bytes. */
    public long size()
    {
        return size;
    }

    /** @return guest-physical address of the last byte (inclusive, so it cannot overflow). */
    public long lastAddress()
    {
        return guestBase + size - 1;
    }

    /** @return the host memory behind the region, exactly {@link #size()} bytes. */
    public MemorySegment segment()
    {
        return segment;
    }

    /** @return how the memory is provided. */
    public Backing backing()
    {
        return backing;
    }

    /** @return the descriptor behind a {@link Backing#MEMFD} or {@link Backing#ADOPTED} region, or -1. */
    public int fd()
    {
        return fd;
    }

    /**
     * @param other another region.
     * @return true if the two share any guest-physical address.
     */
    public boolean overlaps(final GuestRegion other)
    {
        return Long.compareUnsigned(guestBase, other.lastAddress()) <= 0
            && Long.compareUnsigned(other.guestBase, lastAddress()) <= 0;
    }

    /** Unmaps the memory; later accesses fail with {@link IllegalStateException}. */
    @Override
    public void close()
    {
        if (arena.scope().isAlive())
        {
            arena.close();
        }
    }

    @Override
    public String toString()
    {
        return "GuestRegion{base=0x" + Long.toHexString(guestBase) + ", size=" + size + ", backing=" + backing + '}';
    }
}
