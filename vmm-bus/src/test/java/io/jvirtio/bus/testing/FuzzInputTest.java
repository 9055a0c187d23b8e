package io.jvirtio.bus.testing;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.driver.FuzzedDataProviderImpl;
import com.code_intelligence.jazzer.junit.FuzzTest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The seed encoder against Jazzer's own FuzzedDataProvider: what one writes, the other reads. It is a fuzz test in
 * regression mode only because Jazzer's provider needs Jazzer's agent, which the fuzz-test extension installs; the
 * input Jazzer passes is not used.
 */
class FuzzInputTest
{
    private enum Three
    {
        A, B, C
    }

    @FuzzTest(maxDuration = "0s", maxExecutions = 1)
    void shouldReadBackEveryValueWhenDecodedByJazzer(final FuzzedDataProvider unused)
    {
        final byte[] input = new FuzzInput()
            .integer(5, 0, 15).integer(7, 3, 10).integer(0xBEEF, 0, 0xFFFF).anyInt(-7)
            .bool(true).bool(false).longValue(0x1234_5678L, 0, 0x1_0000_0000L).anyLong(-2L).pick(Three.C)
            .integer(40_000, 1, 1 << 20).integer(1005, 1000, 1010).rest(new byte[] {1, 2, 3}).toBytes();
        try (FuzzedDataProviderImpl impl = FuzzedDataProviderImpl.withJavaData(input))
        {
            final FuzzedDataProvider data = impl;
            assertEquals(5, data.consumeInt(0, 15));
            assertEquals(7, data.consumeInt(3, 10));
            assertEquals(0xBEEF, data.consumeInt(0, 0xFFFF));
            assertEquals(-7, data.consumeInt());
            assertEquals(true, data.consumeBoolean());
            assertEquals(false, data.consumeBoolean());
            assertEquals(0x1234_5678L, data.consumeLong(0, 0x1_0000_0000L));
            assertEquals(-2L, data.consumeLong());
            assertEquals(Three.C, data.pickValue(Three.values()));
            assertEquals(40_000, data.consumeInt(1, 1 << 20));
            assertEquals(1005, data.consumeInt(1000, 1010));
            assertArrayEquals(new byte[] {1, 2, 3}, data.consumeRemainingAsBytes());
        }
    }
}
