package io.jvirtio.bus.stats;

/**
 * The two fixed binary records of an exit trace, each one Chronicle Queue document, little-endian, unaligned.
 * Every document starts with a kind byte; a reader checks the kind, the exact length and every code, and counts
 * anything else as malformed.
 * <p>
 * A session record opens each run of {@link ExitStats} on a trace: which format, how many vCPUs, and the clock reading
 * at which the statistics started (the start of the first sampling interval).
 * <pre>
 *  0        1                 5                 9                 13                               21
 * +--------+-----------------+-----------------+-----------------+--------------------------------+
 * | kind=1 |   magic (u32)   |  version (u32)  | vcpuCount (u32) |       startNanos (i64)         |
 * +--------+-----------------+-----------------+-----------------+--------------------------------+
 * </pre>
 * An exit record is one exit, written on the vCPU's thread when the exit handler records it.
 * <pre>
 *  0        1        2        3                 7                 15                23                31
 * +--------+--------+--------+-----------------+-----------------+-----------------+-----------------+
 * | kind=2 | reason |  path  |  vcpuId (u32)   | timeNanos (i64) |  address (i64)  |   nanos (i64)   |
 * +--------+--------+--------+-----------------+-----------------+-----------------+-----------------+
 * </pre>
 * {@code reason} and {@code path} are {@link ExitReason#code()} and {@link ExitPath#code()}; {@code timeNanos} is the
 * stats' clock when the exit was recorded (its end), {@code address} the GPA or port, {@code nanos} the latency as the
 * exit handler reported it, before any clamping.
 * <p>
 * Thread safety: constants only.
 */
public final class ExitTraceLayout
{
    /** Kind byte of a session record. */
    public static final byte KIND_SESSION = 1;
    /** Kind byte of an exit record. */
    public static final byte KIND_EXIT = 2;

    /** ASCII "EXIT" read as a little-endian u32: tells an exit trace from another queue in the same place. */
    public static final int MAGIC = 0x5449_5845;
    /** The format this code writes and reads. */
    public static final int VERSION = 1;

    public static final int KIND_OFFSET = 0;

    public static final int SESSION_MAGIC_OFFSET = KIND_OFFSET + Byte.BYTES;
    public static final int SESSION_VERSION_OFFSET = SESSION_MAGIC_OFFSET + Integer.BYTES;
    public static final int SESSION_VCPU_COUNT_OFFSET = SESSION_VERSION_OFFSET + Integer.BYTES;
    public static final int SESSION_START_NANOS_OFFSET = SESSION_VCPU_COUNT_OFFSET + Integer.BYTES;
    /** Length of a session record in bytes. */
    public static final int SESSION_LENGTH = SESSION_START_NANOS_OFFSET + Long.BYTES;

    public static final int EXIT_REASON_OFFSET = KIND_OFFSET + Byte.BYTES;
    public static final int EXIT_PATH_OFFSET = EXIT_REASON_OFFSET + Byte.BYTES;
    public static final int EXIT_VCPU_OFFSET = EXIT_PATH_OFFSET + Byte.BYTES;
    public static final int EXIT_TIME_OFFSET = EXIT_VCPU_OFFSET + Integer.BYTES;
    public static final int EXIT_ADDRESS_OFFSET = EXIT_TIME_OFFSET + Long.BYTES;
    public static final int EXIT_NANOS_OFFSET = EXIT_ADDRESS_OFFSET + Long.BYTES;
    /** Length of an exit record in bytes. */
    public static final int EXIT_LENGTH = EXIT_NANOS_OFFSET + Long.BYTES;

    private ExitTraceLayout()
    {
    }
}
