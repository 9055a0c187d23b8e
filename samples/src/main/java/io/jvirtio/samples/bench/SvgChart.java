package io.jvirtio.samples.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A small writer of plain SVG 1.1 bar charts: panels side by side, one per group of bars, each with its title, a
 * value axis labelled with its unit, a label under every bar and the bar's value above it. Bars in a panel share one
 * scale that starts at zero, so their heights compare directly.
 * <p>
 * Thread safety: not thread-safe; build and write it on one thread.
 */
public final class SvgChart
{
    private static final int PANEL_WIDTH = 380;
    private static final int PANEL_HEIGHT = 340;
    private static final int TOP = 70;
    private static final int PLOT_HEIGHT = 200;
    private static final int LEFT = 70;
    private static final int PLOT_WIDTH = 280;
    private static final String[] BAR_COLOURS = {"#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377"};

    private final String title;
    private final List<Group> groups = new ArrayList<>();

    private record Group(String title, String axis, String unit, String[] labels, double[] values)
    {
    }

    /** @param title the chart's title, drawn across the top. */
    public SvgChart(final String title)
    {
        this.title = title;
    }

    /**
     * Adds a panel.
     *
     * @param groupTitle what the panel shows.
     * @param axis       the category axis label, under the bars' labels.
     * @param unit       the value axis label.
     * @param labels     one label per bar.
     * @param values     one value per bar, not negative; NaN draws no bar and the value "n/a".
     * @return this chart.
     */
    public SvgChart group(final String groupTitle, final String axis, final String unit, final String[] labels,
        final double[] values)
    {
        if (labels.length != values.length || labels.length == 0)
        {
            throw new IllegalArgumentException("a group needs one value per label and at least one bar: labels="
                + labels.length + ", values=" + values.length);
        }
        groups.add(new Group(groupTitle, axis, unit, labels.clone(), values.clone()));
        return this;
    }

    /** @return the chart as a standalone SVG document. */
    public String toSvg()
    {
        final int width = Math.max(1, groups.size()) * PANEL_WIDTH;
        final StringBuilder sb = new StringBuilder(4096);
        sb.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
            + "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">%n",
            width, PANEL_HEIGHT + 30, width, PANEL_HEIGHT + 30));
        sb.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        text(sb, width / 2.0, 20, "middle", 15, title, "");
        for (int g = 0; g < groups.size(); g++)
        {
            panel(sb, g * PANEL_WIDTH, groups.get(g));
        }
        sb.append("</svg>\n");
        return sb.toString();
    }

    private static void panel(final StringBuilder sb, final int x0, final Group group)
    {
        final double axisX = x0 + LEFT;
        final double axisY = TOP + PLOT_HEIGHT;
        text(sb, x0 + LEFT + PLOT_WIDTH / 2.0, TOP - 25, "middle", 13, group.title(), "");
        double max = 0;
        for (final double v : group.values())
        {
            if (!Double.isNaN(v))
            {
                max = Math.max(max, v);
            }
        }
        final double scale = max > 0 ? PLOT_HEIGHT / (max * 1.1) : 0;
        line(sb, axisX, TOP - 5, axisX, axisY);
        line(sb, axisX, axisY, axisX + PLOT_WIDTH, axisY);
        // three ticks on the value axis: zero, half and the largest bar
        for (final double tick : new double[]{0, max / 2, max})
        {
            final double y = axisY - tick * scale;
            line(sb, axisX - 4, y, axisX, y);
            text(sb, axisX - 6, y + 4, "end", 10, compact(tick), "");
        }
        final double labelX = x0 + 18;
        final double labelY = TOP + PLOT_HEIGHT / 2.0;
        text(sb, labelX, labelY, "middle", 11, group.unit(),
            String.format(Locale.ROOT, " transform=\"rotate(-90 %.1f %.1f)\"", labelX, labelY));
        text(sb, x0 + LEFT + PLOT_WIDTH / 2.0, axisY + 36, "middle", 11, group.axis(), "");
        final int n = group.values().length;
        final double slot = (double)PLOT_WIDTH / n;
        final double barWidth = slot * 0.6;
        for (int i = 0; i < n; i++)
        {
            final double v = group.values()[i];
            final double cx = axisX + slot * i + slot / 2;
            final double h = Double.isNaN(v) ? 0 : v * scale;
            sb.append(String.format(Locale.ROOT,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>%n",
                cx - barWidth / 2, axisY - h, barWidth, h, BAR_COLOURS[i % BAR_COLOURS.length]));
            text(sb, cx, axisY - h - 4, "middle", 10, Double.isNaN(v) ? "n/a" : compact(v), "");
            text(sb, cx, axisY + 16, "middle", 10, group.labels()[i], "");
        }
    }

    private static void line(final StringBuilder sb, final double x1, final double y1, final double x2,
        final double y2)
    {
        sb.append(String.format(Locale.ROOT,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>%n", x1, y1, x2, y2));
    }

    private static void text(final StringBuilder sb, final double x, final double y, final String anchor,
        final int size, final String content, final String extra)
    {
        sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\"%s>",
            x, y, anchor, size, extra));
        escape(sb, content);
        sb.append("</text>\n");
    }

    /** Escapes the five characters XML gives meaning to. */
    static void escape(final StringBuilder sb, final String s)
    {
        for (int i = 0; i < s.length(); i++)
        {
            final char c = s.charAt(i);
            switch (c)
            {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&apos;");
                default -> sb.append(c);
            }
        }
    }

    /** @return {@code v} in three significant figures with k, M or G. */
    static String compact(final double v)
    {
        final double a = Math.abs(v);
        if (a == 0)
        {
            return "0";
        }
        if (a >= 1e9)
        {
            return String.format(Locale.ROOT, "%.3gG", v / 1e9);
        }
        if (a >= 1e6)
        {
            return String.format(Locale.ROOT, "%.3gM", v / 1e6);
        }
        if (a >= 1e3)
        {
            return String.format(Locale.ROOT, "%.3gk", v / 1e3);
        }
        return String.format(Locale.ROOT, "%.3g", v);
    }
}
