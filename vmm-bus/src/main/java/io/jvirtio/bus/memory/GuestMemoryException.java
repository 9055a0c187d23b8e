package io.jvirtio.bus.memory;

/**
 * A guest-physical range that guest memory cannot serve: it wraps past 2^64, lies outside every RAM region, or starts
 * in one region and runs past its end. The message names the address and the length.
 * <p>
 * Device code that reads guest-supplied addresses validates them first (with {@link GuestMemory#isRam(long, long)})
 * or catches this exception at its boundary and counts it; it is never allowed to escape a worker.
 */
public final class GuestMemoryException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /** Why the range was refused. */
    public enum Reason
    {
        /** {@code gpa + length} passes 2^64. */
        WRAPS,
        /** The start address is in no RAM region (it may be MMIO). */
        NOT_RAM,
        /** The start is in a region but the range runs past that region's end (into another region or a hole). */
        CROSSES_REGION,
        /** A negative length, or a zero length where a region needs bytes. */
        BAD_LENGTH
    }

    private final long gpa;
    private final long length;
    private final Reason reason;

    public GuestMemoryException(final Reason reason, final long gpa, final long length)
    {
        super(describe(reason) + ": gpa=0x" + Long.toHexString(gpa) + ", length=" + length);
        this.gpa = gpa;
        this.length = length;
        this.reason = reason;
    }

    private static String describe(final Reason reason)
    {
        return switch (reason)
        {
            case WRAPS -> "guest range wraps past 2^64";
            case NOT_RAM -> "guest range is not in RAM";
            case CROSSES_REGION -> "guest range crosses the end of its memory region";
            case BAD_LENGTH -> "guest range has a negative length, or none where bytes are needed";
        };
    }

    /** @return the guest-physical start address of the refused range. */
    public long gpa()
    {
        return gpa;
    }

    /** @return the length of the refused range in bytes. */
    public long length()
    {
        return length;
    }

    /** @return why the range was refused. */
    public Reason reason()
    {
        return reason;
    }
}
