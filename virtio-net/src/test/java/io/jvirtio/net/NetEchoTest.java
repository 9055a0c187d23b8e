package io.jvirtio.net;

import io.jvirtio.bus.event.BackoffIdleStrategy;
import io.jvirtio.bus.event.ParkingIdleStrategy;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Many frames of mixed sizes through a running device: guest TX, the echo backend, guest RX, checked byte for byte
 * and in order, on one and two queue pairs, with and without mergeable buffers and EVENT_IDX.
 */
class NetEchoTest
{
    private static final int FRAMES = 3000;

    @ParameterizedTest(name = "pairs={0}, mergeable={1}, eventIdx={2}")
    @CsvSource({"1, false, false", "1, true, true", "2, false, true", "2, true, false"})
    void shouldEchoEveryFrameByteForByteInOrder(final int pairs, final boolean mergeable, final boolean eventIdx)
    {
        try (EchoHarness h = new EchoHarness(pairs, mergeable, eventIdx, new BackoffIdleStrategy()))
        {
            assertEquals((long)pairs * FRAMES, h.run(FRAMES));
            assertEquals(pairs, h.device.activeQueuePairs());
            assertEquals((long)pairs * FRAMES, h.device.counters().get(NetCounter.TX_FRAMES));
            assertEquals((long)pairs * FRAMES, h.device.counters().get(NetCounter.RX_FRAMES));
            assertEquals(0, h.echo.dropped());
            for (int p = 0; p < pairs; p++)
            {
                assertEquals(0, h.device.workerErrors(p));
            }
        }
    }

    @ParameterizedTest(name = "pairs={0}")
    @CsvSource({"2", "3"})
    void shouldServiceAllPairsFromOneWorkerWhenKicksAreShared(final int pairs)
    {
        try (EchoHarness h = new EchoHarness(pairs, true, true, new BackoffIdleStrategy(), true))
        {
            assertEquals(1, h.device.activeWorkers(), "one signal is consumed by one waiter");
            assertEquals((long)pairs * FRAMES, h.run(FRAMES));
            assertEquals(0, h.device.workerErrors(0));
        }
    }

    @ParameterizedTest(name = "mergeable={0}")
    @CsvSource({"false", "true"})
    void shouldEchoWithSleepingWorkers(final boolean mergeable)
    {
        try (EchoHarness h = new EchoHarness(1, mergeable, true, ParkingIdleStrategy.INSTANCE))
        {
            assertEquals(500, h.run(500));
        }
    }
}
