package io.jvirtio.bus.x86;

import java.util.Arrays;

/** Parses the hex byte strings the instruction tables are written in, such as {@code "66 89 07"}. */
public final class Hex
{
    private Hex()
    {
    }

    public static byte[] bytes(final String hex)
    {
        final String compact = hex.replace(" ", "");
        final byte[] out = new byte[compact.length() / 2];
        for (int i = 0; i < out.length; i++)
        {
            out[i] = (byte)Integer.parseInt(compact.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

    /** The bytes followed by NOPs up to 15, so a decode cannot lean on the input ending where the instruction does. */
    public static byte[] padded(final String hex)
    {
        final byte[] insn = bytes(hex);
        final byte[] out = new byte[InstructionDecoder.MAX_LENGTH];
        Arrays.fill(out, (byte)0x90);
        System.arraycopy(insn, 0, out, 0, Math.min(insn.length, out.length));
        return out;
    }

    public static String of(final byte[] bytes, final int length)
    {
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < length; i++)
        {
            sb.append(i == 0 ? "" : " ").append(String.format("%02x", bytes[i] & 0xFF));
        }
        return sb.toString();
    }
}
