package io.jvirtio.samples.cli;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The one JSON writer the programs use for their {@code --json} line: objects, arrays, strings, numbers, booleans.
 * Maps keep their iteration order, so a {@code LinkedHashMap} gives fields in the order a program documents them.
 * <p>
 * Thread safety: stateless; any thread.
 */
public final class Json
{
    private static final MathContext SIGNIFICANT = new MathContext(9);

    private Json()
    {
    }

    /**
     * @param value a {@code Map<String, ?>}, {@code List<?>}, {@code CharSequence}, {@code Number}, {@code Boolean}
     *              or null, nested freely.
     * @return the value as one line of JSON.
     */
    public static String write(final Object value)
    {
        final StringBuilder sb = new StringBuilder(256);
        append(sb, value);
        return sb.toString();
    }

    private static void append(final StringBuilder sb, final Object value)
    {
        switch (value)
        {
            case null -> sb.append("null");
            case Map<?, ?> map ->
            {
                sb.append('{');
                boolean first = true;
                for (final Map.Entry<?, ?> e : map.entrySet())
                {
                    if (!first)
                    {
                        sb.append(',');
                    }
                    first = false;
                    string(sb, String.valueOf(e.getKey()));
                    sb.append(':');
                    append(sb, e.getValue());
                }
                sb.append('}');
            }
            case List<?> list ->
            {
                sb.append('[');
                for (int i = 0; i < list.size(); i++)
                {
                    if (i > 0)
                    {
                        sb.append(',');
                    }
                    append(sb, list.get(i));
                }
                sb.append(']');
            }
            case Boolean b -> sb.append(b.booleanValue());
            case Double d -> number(sb, d);
            case Float f -> number(sb, f.doubleValue());
            case Number n -> sb.append(n.toString());
            default -> string(sb, value.toString());
        }
    }

    private static void number(final StringBuilder sb, final double d)
    {
        if (Double.isNaN(d) || Double.isInfinite(d))
        {
            sb.append("null");
        }
        else if (d == Math.rint(d) && Math.abs(d) < 1e15)
        {
            sb.append((long)d);
        }
        else
        {
            // nine significant digits, never in exponent form, so every reader parses it
            sb.append(BigDecimal.valueOf(d).round(SIGNIFICANT).stripTrailingZeros().toPlainString());
        }
    }

    private static void string(final StringBuilder sb, final String s)
    {
        sb.append('"');
        for (int i = 0; i < s.length(); i++)
        {
            final char c = s.charAt(i);
            switch (c)
            {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default ->
                {
                    if (c < 0x20)
                    {
                        sb.append(String.format(Locale.ROOT, "\\u%04x", (int)c));
                    }
                    else
                    {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
