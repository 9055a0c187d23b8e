package io.jvirtio.bus.x86;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jvirtio.bus.testing.FuzzInput;
import io.jvirtio.bus.testing.FuzzSeeds;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coverage-guided fuzzing of the MMIO instruction decoder on arbitrary bytes, the input a guest controls completely
 * (it writes the instruction at RIP). Invariants for every input: {@link InstructionDecoder#decode} returns a
 * {@link DecodeStatus} and throws nothing; an OK decode has a length of 1 to 15 bytes (SDM vol. 2 §2.3.11) that does
 * not exceed the bytes available; the result is deterministic (a second decoder agrees); the length-only mode
 * ({@code EMULTYPE_SKIP}) accepts and refuses exactly what the full decode does, with the same length; and every
 * failure is counted once per decode under its status.
 * <p>
 * Seeds live in {@code InstructionDecoderFuzzTestInputs/decode}, written by {@link #seeds()}: MOV stores and loads
 * with prefixes, a prefix pile past 15 bytes, a truncated ModRM, an unknown opcode, LOCK and REP prefixes.
 * Thread safety: JUnit's thread only.
 */
class InstructionDecoderFuzzTest
{
    private final InstructionDecoder decoder = new InstructionDecoder();
    private final InstructionDecoder second = new InstructionDecoder();
    private final DecodedInstruction out = new DecodedInstruction();
    private final DecodedInstruction other = new DecodedInstruction();
    private final DecodedInstruction lengthOnly = new DecodedInstruction();

    @FuzzTest(maxDuration = "0s", maxExecutions = 200_000)
    void decode(final FuzzedDataProvider data)
    {
        // the fetcher hands over at most one instruction's worth of bytes, possibly fewer at a page or RAM end
        final int available = data.consumeInt(0, InstructionDecoder.MAX_LENGTH);
        final byte[] bytes = new byte[InstructionDecoder.MAX_LENGTH];
        final byte[] given = data.consumeRemainingAsBytes();
        System.arraycopy(given, 0, bytes, 0, Math.min(given.length, bytes.length));

        final long failuresBefore = totalFailures(decoder);
        final long[] byStatus = new long[DecodeStatus.values().length];
        for (final DecodeStatus s : DecodeStatus.values())
        {
            byStatus[s.ordinal()] = s.isOk() ? 0 : decoder.failures(s);
        }
        final DecodeStatus status = decoder.decode(bytes, available, out);
        assertNotNull(status, "a status for every input");
        assertEquals(status, out.status(), "the result carries the status it returned");
        if (status.isOk())
        {
            assertTrue(out.length() >= 1 && out.length() <= InstructionDecoder.MAX_LENGTH,
                "an instruction is 1 to 15 bytes: length=" + out.length());
            assertTrue(out.length() <= available, "decoded no byte past the fetched ones: length=" + out.length());
            assertEquals(failuresBefore, totalFailures(decoder), "an accepted decode counts no failure");
        }
        else
        {
            assertEquals(failuresBefore + 1, totalFailures(decoder), "a refused decode is counted once");
            assertEquals(1, decoder.failures(status) - byStatus[status.ordinal()], "counted under its own status");
        }

        assertEquals(status, second.decode(bytes.clone(), available, other), "deterministic");
        assertEquals(out.length(), other.length(), "deterministic length");
        assertEquals(out.toString(), other.toString(), "deterministic operands");

        assertEquals(status, decoder.decodeLength(bytes, available, lengthOnly), "length-only mode agrees");
        if (status.isOk())
        {
            assertEquals(out.length(), lengthOnly.length(), "length-only mode finds the same length");
        }
    }

    @Test
    void shouldMatchCheckedInSeeds()
    {
        FuzzSeeds.check(InstructionDecoderFuzzTest.class, "decode", seeds());
    }

    /** @return the seed inputs by file name: the bytes at RIP and how many of them were fetched. */
    static Map<String, byte[]> seeds()
    {
        final byte[] prefixPile = new byte[InstructionDecoder.MAX_LENGTH];
        Arrays.fill(prefixPile, (byte)0x66);
        return Map.of(
            "mov-store-16", seed(3, 0x66, 0x89, 0x07),
            "mov-load-rip-relative", seed(6, 0x8B, 0x05, 0x10, 0x20, 0x00, 0x00),
            "mov-store-imm32-sib-disp8", seed(8, 0xC7, 0x44, 0x24, 0x08, 0x78, 0x56, 0x34, 0x12),
            "rex-w-movzx", seed(4, 0x48, 0x0F, 0xB6, 0x07),
            "prefix-pile-past-15", new FuzzInput().integer(InstructionDecoder.MAX_LENGTH, 0, 15).rest(prefixPile)
                .toBytes(),
            "truncated-modrm", seed(1, 0x89),
            "unknown-opcode-ud2", seed(2, 0x0F, 0x0B),
            "lock-prefix", seed(3, 0xF0, 0x89, 0x07));
    }

    private static byte[] seed(final int available, final int... bytes)
    {
        final byte[] raw = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++)
        {
            raw[i] = (byte)bytes[i];
        }
        return new FuzzInput().integer(available, 0, InstructionDecoder.MAX_LENGTH).rest(raw).toBytes();
    }

    private static long totalFailures(final InstructionDecoder d)
    {
        long total = 0;
        for (final DecodeStatus s : DecodeStatus.values())
        {
            if (!s.isOk())
            {
                total += d.failures(s);
            }
        }
        return total;
    }
}
