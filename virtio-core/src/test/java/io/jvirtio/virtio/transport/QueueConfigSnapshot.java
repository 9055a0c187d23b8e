package io.jvirtio.virtio.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The queue configuration a transport holds, copied, for the register-file fuzz targets' "queue configuration is
 * frozen while the queue is ready or after DRIVER_OK" invariant (virtio-v1.2 §4.1.4.3.2, §4.2.2.2; CVE-2026-5747).
 * <p>
 * Thread safety: one thread, the one that drives the transport.
 */
public final class QueueConfigSnapshot
{
    private static final int FIELDS = 5;

    private final long[] state;

    private QueueConfigSnapshot(final long[] state)
    {
        this.state = state;
    }

    /** @return per queue: ready, size and the three area addresses, as {@code core} holds them now. */
    public static QueueConfigSnapshot of(final TransportCore core)
    {
        final long[] state = new long[core.queueCount() * FIELDS];
        for (int q = 0; q < core.queueCount(); q++)
        {
            state[FIELDS * q] = core.queueReady(q) ? 1 : 0;
            state[FIELDS * q + 1] = core.queueSize(q);
            state[FIELDS * q + 2] = core.queueAddress(q, QueueArea.DESC);
            state[FIELDS * q + 3] = core.queueAddress(q, QueueArea.DRIVER);
            state[FIELDS * q + 4] = core.queueAddress(q, QueueArea.DEVICE);
        }
        return new QueueConfigSnapshot(state);
    }

    /**
     * Asserts that every queue that was ready before and still is, or every queue at all if DRIVER_OK was set before
     * and the device was not reset since, kept its size and addresses.
     *
     * @param core     the transport, after the access.
     * @param driverOk DRIVER_OK was set before the access.
     */
    public void assertFrozen(final TransportCore core, final boolean driverOk)
    {
        final long[] after = of(core).state;
        final boolean reset = core.status() == 0;
        for (int q = 0; q < core.queueCount(); q++)
        {
            final boolean frozen = state[FIELDS * q] == 1 && after[FIELDS * q] == 1 || driverOk && !reset;
            for (int f = 1; f < FIELDS && frozen && !reset; f++)
            {
                assertEquals(state[FIELDS * q + f], after[FIELDS * q + f], "queue " + q + " field " + f + " frozen");
            }
        }
    }
}
