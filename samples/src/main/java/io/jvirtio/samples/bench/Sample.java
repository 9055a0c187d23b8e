package io.jvirtio.samples.bench;

import java.util.Arrays;
import java.util.Locale;

/**
 * Repeated measurements of one quantity (ns per operation, operations per second, ...) and their median and spread.
 * The median is the figure to quote on a noisy machine; min and max say how noisy it was.
 * <p>
 * Thread safety: not thread-safe; one measuring thread.
 */
public final class Sample
{
    private final String name;
    private final String unit;
    private double[] values = new double[8];
    private int count;

    public Sample(final String name, final String unit)
    {
        this.name = name;
        this.unit = unit;
    }

    public String name()
    {
        return name;
    }

    public String unit()
    {
        return unit;
    }

    /** Adds one measurement. */
    public Sample add(final double value)
    {
        if (count == values.length)
        {
            values = Arrays.copyOf(values, count * 2);
        }
        values[count++] = value;
        return this;
    }

    public int count()
    {
        return count;
    }

    private double[] sorted()
    {
        if (count == 0)
        {
            throw new IllegalStateException("no measurements: sample=" + name);
        }
        final double[] copy = Arrays.copyOf(values, count);
        Arrays.sort(copy);
        return copy;
    }

    public double median()
    {
        final double[] s = sorted();
        return (count & 1) == 1 ? s[count / 2] : (s[count / 2 - 1] + s[count / 2]) / 2;
    }

    public double min()
    {
        return sorted()[0];
    }

    public double max()
    {
        return sorted()[count - 1];
    }

    /** @return (max - min) / median: how far apart the runs were, relative to the figure quoted. */
    public double spread()
    {
        final double median = median();
        return median == 0 ? 0 : (max() - min()) / median;
    }

    @Override
    public String toString()
    {
        return String.format(Locale.ROOT, "%s: median %.1f %s (min %.1f, max %.1f, %d runs)",
            name, median(), unit, min(), max(), count);
    }
}
