package io.jvirtio.virtio.driver;

/**
 * A transport's register window as a hostile driver sees it: any value, any width, any offset, in any order, for
 * bad-input tests. Each access is a real vCPU access (an exit), with no checks on the driver side.
 * <p>
 * Thread safety: the vCPU thread of the driver that owns it.
 */
public interface RawRegisters
{
    /**
     * A load from the window.
     *
     * @param offset bytes from the start of the window (any value).
     * @param size   1, 2, 4 or 8.
     * @return the loaded bits, zero-extended.
     */
    long read(long offset, int size);

    /**
     * A store into the window.
     *
     * @param offset bytes from the start of the window (any value).
     * @param size   1, 2, 4 or 8.
     * @param value  the value; bits above {@code 8 * size} are ignored.
     */
    void write(long offset, int size, long value);
}
