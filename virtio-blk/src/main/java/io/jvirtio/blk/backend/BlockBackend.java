package io.jvirtio.blk.backend;

import io.jvirtio.bus.memory.GuestMemory;

import java.io.IOException;

/**
 * Where a block device's sectors live, and the operations of virtio-v1.2 §5.2.6 on them. Positions are byte offsets
 * from the start of the disk; the device has already checked every range against {@link #capacity()} and the
 * read-only state, so a backend only performs the I/O. Data moves directly between the backend and guest memory
 * (never through a heap copy where the backend can avoid it).
 * <p>
 * An {@link IOException} is a host-side failure: the device answers IOERR and counts it.
 * <p>
 * Thread safety: implementations are safe for concurrent calls from several device workers (one per queue) on
 * disjoint or overlapping ranges; {@link #close()} is called once, after every worker stopped.
 */
public interface BlockBackend extends AutoCloseable
{
    /** @return the disk size in 512-byte sectors; constant for the life of the backend. */
    long capacity();

    /** @return true if the disk refuses writes; the device then answers IOERR to every write and writes nothing. */
    boolean isReadOnly();

    /**
     * @return the device ID string for GET_ID, at most 20 bytes (a copy; {@code virtio-v1.2 §5.2.6}: NUL-padded,
     *     not NUL-terminated when 20 bytes long).
     */
    byte[] id();

    /**
     * Reads disk bytes into guest memory.
     *
     * @param position disk byte offset.
     * @param memory   guest memory.
     * @param gpa      guest-physical destination, inside one RAM region for {@code length} bytes.
     * @param length   bytes.
     * @throws IOException if the host failed.
     */
    void read(long position, GuestMemory memory, long gpa, long length) throws IOException;

    /**
     * Writes guest memory to the disk.
     *
     * @param position disk byte offset.
     * @param memory   guest memory.
     * @param gpa      guest-physical source, inside one RAM region for {@code length} bytes.
     * @param length   bytes.
     * @throws IOException if the host failed, or the backend is read-only.
     */
    void write(long position, GuestMemory memory, long gpa, long length) throws IOException;

    /**
     * Makes every write that completed before this call durable; returns only when it is (the FLUSH request).
     *
     * @throws IOException if the host failed.
     */
    void flush() throws IOException;

    /**
     * Discards a range: later reads return unspecified data (each backend documents what it does).
     *
     * @param position disk byte offset, sector-aligned.
     * @param length   bytes, a multiple of 512.
     * @throws IOException if the host failed, or the backend is read-only.
     */
    void discard(long position, long length) throws IOException;

    /**
     * Writes zeroes over a range: later reads return zeroes (§5.2.6.1).
     *
     * @param position disk byte offset, sector-aligned.
     * @param length   bytes, a multiple of 512.
     * @param unmap    the driver allows the range to be deallocated, as long as it reads back as zeroes.
     * @throws IOException if the host failed, or the backend is read-only.
     */
    void writeZeroes(long position, long length, boolean unmap) throws IOException;

    /** Releases the backend (unlocks and closes a file). */
    @Override
    void close() throws IOException;
}
