package io.jvirtio.samples.soak;

/**
 * The one value mixer of the soaks: SplitMix64's finalizer (Steele, Lea and Flood, "Fast splittable pseudorandom
 * number generators", OOPSLA 2014), which turns (seed, key) into a well-spread 64-bit value, so that frame sizes,
 * payloads and sector contents are derived from what they are rather than stored.
 * <p>
 * Thread safety: stateless; any thread.
 */
public final class Mix
{
    private static final long GOLDEN = 0x9E37_79B9_7F4A_7C15L;

    private Mix()
    {
    }

    /** @return SplitMix64's output for state {@code z}. */
    public static long mix(final long z)
    {
        long x = z + GOLDEN;
        x = (x ^ (x >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        x = (x ^ (x >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return x ^ (x >>> 31);
    }

    /** @return a value derived from {@code a} and {@code b}, different for every pair in practice. */
    public static long mix(final long a, final long b)
    {
        return mix(mix(a) ^ (b * GOLDEN));
    }
}
