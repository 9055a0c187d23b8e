package io.jvirtio.bus.kvm;

import io.jvirtio.bus.testing.AllocationProbe;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static io.jvirtio.bus.kvm.KvmAssertions.mmio;
import static io.jvirtio.bus.kvm.KvmAssertions.mmioMatch;
import static io.jvirtio.bus.kvm.KvmAssertions.pio;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The kick path allocates nothing: bus writes that hit an ioeventfd, on every bus the exit handler uses. */
class IoBusAllocationTest
{
    private static final int WARM_UP = 200_000;
    private static final int MEASURED = 100_000;
    private static final long ADDR = 0xFE20_0000L;

    private final com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();

    @Test
    void shouldAllocateNothingWhenBusWritesHitIoeventfds()
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        final IoEventFds ioeventfds = new IoEventFds(buses);
        final CountingEventFd kick = new CountingEventFd();
        // neighbours, so that the search has something to skip
        for (int i = 0; i < 64; i++)
        {
            ioeventfds.assign(mmio(ADDR + 0x1000L * (i + 1), 0, new CountingEventFd()));
        }
        ioeventfds.assign(mmio(ADDR, 0, kick));
        ioeventfds.assign(mmioMatch(ADDR + 0x100, 2, 0, new CountingEventFd()));
        ioeventfds.assign(mmioMatch(ADDR + 0x100, 2, 1, kick));
        ioeventfds.assign(pio(0xC000, 2, kick));

        kicks(buses, WARM_UP);
        final long[] handled = new long[1];
        final long signalsBefore = kick.signals();
        final long allocated = AllocationProbe.leastAllocated(3, () -> handled[0] = kicks(buses, MEASURED));

        assertEquals(3L * MEASURED, handled[0]);
        assertEquals(0, (kick.signals() - signalsBefore) % (3L * MEASURED), "three kicks per round, every round");
        assertEquals(0, allocated, "bytes allocated by " + MEASURED + " rounds of bus writes");
    }

    private static long kicks(final IoBuses buses, final int rounds)
    {
        long handled = 0;
        for (int i = 0; i < rounds; i++)
        {
            handled += buses.write(Bus.FAST_MMIO, ADDR, 0, 0) == IoBuses.HANDLED ? 1 : 0;
            handled += buses.write(Bus.MMIO, ADDR + 0x100, 2, 1) == IoBuses.HANDLED ? 1 : 0;
            handled += buses.write(Bus.PIO, 0xC000, 2, i) == IoBuses.HANDLED ? 1 : 0;
        }
        return handled;
    }
}
