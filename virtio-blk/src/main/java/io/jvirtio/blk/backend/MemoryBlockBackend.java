package io.jvirtio.blk.backend;

import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.bus.memory.GuestMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A disk held in native memory. Reads and writes are single copies between the disk segment and guest memory; FLUSH
 * has nothing to persist and returns at once; DISCARD and WRITE_ZEROES both set the range to zeroes.
 * <p>
 * Thread safety: as {@link BlockBackend}; concurrent transfers to overlapping ranges may interleave, as they may on a
 * real disk.
 */
public final class MemoryBlockBackend implements BlockBackend
{
    private final Arena arena;
    private final MemorySegment disk;
    private final long capacity;
    private final boolean readOnly;
    private final byte[] id;

    /**
     * @param sectors  disk size in 512-byte sectors, greater than 0.
     * @param readOnly refuse writes.
     * @param id       the GET_ID string, ASCII, at most 20 bytes.
     */
    public MemoryBlockBackend(final long sectors, final boolean readOnly, final String id)
    {
        if (sectors <= 0 || sectors > Long.MAX_VALUE >> VirtioBlk.SECTOR_SHIFT)
        {
            throw new IllegalArgumentException("disk size must be positive: sectors=" + sectors);
        }
        this.id = BackendIds.encode(id);
        this.arena = Arena.ofShared();
        this.disk = arena.allocate(sectors << VirtioBlk.SECTOR_SHIFT, VirtioBlk.SECTOR_SIZE);
        this.capacity = sectors;
        this.readOnly = readOnly;
    }

    /** @return the disk itself, for tests and for filling it before use (not while a device runs). */
    public MemorySegment segment()
    {
        return disk;
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
    {
        memory.copyIn(gpa, disk, position, length);
    }

    @Override
    public void write(final long position, final GuestMemory memory, final long gpa, final long length)
        throws BlockBackendException
    {
        checkWritable();
        memory.copyOut(gpa, disk, position, length);
    }

    @Override
    public void flush()
    {
        // nothing outlives the process: every completed write is as durable as this disk gets
    }

    @Override
    public void discard(final long position, final long length) throws BlockBackendException
    {
        checkWritable();
        disk.asSlice(position, length).fill((byte)0);
    }

    @Override
    public void writeZeroes(final long position, final long length, final boolean unmap) throws BlockBackendException
    {
        checkWritable();
        disk.asSlice(position, length).fill((byte)0);
    }

    private void checkWritable() throws BlockBackendException
    {
        if (readOnly)
        {
            throw new BlockBackendException("write to a read-only memory disk: capacity=" + capacity);
        }
    }

    @Override
    public void close()
    {
        arena.close();
    }
}
