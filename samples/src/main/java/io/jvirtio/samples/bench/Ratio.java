package io.jvirtio.samples.bench;

import java.util.Locale;

/**
 * A ratio of two figures measured in the same run, with the target it is held to. Every figure jvirtio publishes is
 * one of these: absolute times on a shared 2-core machine mean little, ratios against a floor measured alongside
 * them mean something.
 * <p>
 * Thread safety: immutable.
 *
 * @param name   a stable identifier, used as the JSON key.
 * @param value  numerator / denominator.
 * @param target the target as text, e.g. "<= 1.05".
 * @param pass   whether the value meets the target (true when there is no target).
 */
public record Ratio(String name, double value, String target, boolean pass)
{
    /** @return a ratio that must be at most {@code limit}. */
    public static Ratio atMost(final String name, final double value, final double limit)
    {
        return new Ratio(name, value, "<= " + limit, value <= limit);
    }

    /** @return a ratio that must be at least {@code limit}. */
    public static Ratio atLeast(final String name, final double value, final double limit)
    {
        return new Ratio(name, value, ">= " + limit, value >= limit);
    }

    /** @return a ratio reported without a target. */
    public static Ratio reported(final String name, final double value)
    {
        return new Ratio(name, value, "", true);
    }

    @Override
    public String toString()
    {
        final String verdict = target.isEmpty() ? "" : "  (target " + target + ": " + (pass ? "pass" : "MISS") + ")";
        return String.format(Locale.ROOT, "%-40s %8.3f%s", name, value, verdict);
    }
}
