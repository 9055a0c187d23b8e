package io.jvirtio.bus.kvm;

/**
 * The out-parameter of a bus read: a small mutable holder that the caller owns and reuses, so that a read allocates
 * nothing. The value is the loaded bytes, little-endian in the low {@code 8 * len} bits.
 * <p>
 * Thread safety: not thread-safe; owned by one vCPU thread.
 */
public final class IoValue
{
    private long value;

    /** @return the value the accepting device stored. */
    public long get()
    {
        return value;
    }

    /**
     * @param value the loaded bytes, little-endian in the low bits.
     */
    public void set(final long value)
    {
        this.value = value;
    }
}
