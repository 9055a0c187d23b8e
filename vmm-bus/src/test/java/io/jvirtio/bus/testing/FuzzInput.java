package io.jvirtio.bus.testing;

import java.io.ByteArrayOutputStream;

/**
 * Writes a fuzz input that Jazzer's {@code FuzzedDataProvider} reads back as the given values, so that seed inputs
 * can be stated as the calls a target makes rather than as opaque bytes. Call the methods in the order the target
 * consumes: each integral method matches one {@code consumeInt(min, max)}, {@code consumeLong(min, max)},
 * {@code consumeBoolean()} or {@code pickValue(...)} call; {@link #rest} matches {@code consumeRemainingAsBytes()}.
 * <p>
 * Encoding (libFuzzer's FuzzedDataProvider, which Jazzer's follows): integral values are taken from the end of the
 * input, most significant byte first, as many bytes as the range {@code max - min} needs; Jazzer returns that raw
 * value when it lies in {@code [min, max]} and {@code min + raw % (max - min + 1)} otherwise, and the raw
 * two's-complement value for {@code consumeInt()} and {@code consumeLong()}; byte arrays are taken from the front.
 * Ranges with a negative minimum are refused: Jazzer maps those differently.
 * {@code FuzzInputTest} checks the encoding against Jazzer itself.
 * <p>
 * Thread safety: not thread-safe; one seed generator at a time.
 */
public final class FuzzInput
{
    private final ByteArrayOutputStream tail = new ByteArrayOutputStream();
    private byte[] front = new byte[0];

    /**
     * @param value the value {@code consumeInt(min, max)} returns.
     * @param min   its min.
     * @param max   its max.
     * @return this.
     */
    public FuzzInput integer(final int value, final int min, final int max)
    {
        return longValue(value, min, max);
    }

    /**
     * @param value the value {@code consumeLong(min, max)} returns.
     * @param min   its min.
     * @param max   its max.
     * @return this.
     */
    public FuzzInput longValue(final long value, final long min, final long max)
    {
        if (min < 0 || value < min || value > max)
        {
            throw new IllegalArgumentException("a seed value must lie in a range that starts at 0 or above: value="
                + value + ", min=" + min + ", max=" + max);
        }
        final long range = max - min;
        final int bytes = bytesFor(range);
        // Jazzer returns the raw value itself when it lies in [min, max], else min + raw % (range + 1)
        if (bytes == Long.BYTES || value >>> (8 * bytes) == 0)
        {
            return integral(value, range);
        }
        final long raw = value - min;
        if (raw >= min)
        {
            throw new IllegalArgumentException("this seed value has no unambiguous encoding: value=" + value
                + ", min=" + min + ", max=" + max);
        }
        return integral(raw, range);
    }

    /**
     * @param value the value {@code consumeInt()} returns.
     * @return this.
     */
    public FuzzInput anyInt(final int value)
    {
        return integral(value & 0xFFFF_FFFFL, 0xFFFF_FFFFL);
    }

    /**
     * @param value the value {@code consumeLong()} returns.
     * @return this.
     */
    public FuzzInput anyLong(final long value)
    {
        return integral(value, -1L);
    }

    /**
     * @param value the value {@code consumeBoolean()} returns.
     * @return this.
     */
    public FuzzInput bool(final boolean value)
    {
        return integral(value ? 1 : 0, 0xFF);
    }

    /**
     * @param value the constant {@code pickValue(E.values())} returns.
     * @return this.
     */
    public FuzzInput pick(final Enum<?> value)
    {
        return integer(value.ordinal(), 0, value.getDeclaringClass().getEnumConstants().length - 1);
    }

    /**
     * @param bytes what {@code consumeRemainingAsBytes()} returns, after every integral value.
     * @return this.
     */
    public FuzzInput rest(final byte[] bytes)
    {
        front = bytes.clone();
        return this;
    }

    /** @return the input: the front bytes, then the integral values in reverse order of consumption. */
    public byte[] toBytes()
    {
        final byte[] consumed = tail.toByteArray();
        final byte[] out = new byte[front.length + consumed.length];
        System.arraycopy(front, 0, out, 0, front.length);
        for (int i = 0; i < consumed.length; i++)
        {
            out[out.length - 1 - i] = consumed[i];
        }
        return out;
    }

    private static int bytesFor(final long range)
    {
        int bytes = 0;
        // bound: at most 8 bytes, one per 8 bits of the range
        while (bytes < Long.BYTES && (range >>> (8 * bytes)) != 0)
        {
            bytes++;
        }
        return bytes;
    }

    private FuzzInput integral(final long raw, final long range)
    {
        final int bytes = bytesFor(range);
        for (int i = bytes - 1; i >= 0; i--)
        {
            tail.write((int)(raw >>> (8 * i)) & 0xFF);
        }
        return this;
    }
}
