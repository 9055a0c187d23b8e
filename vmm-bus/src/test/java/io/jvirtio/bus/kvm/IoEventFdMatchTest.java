package io.jvirtio.bus.kvm;

import org.junit.jupiter.api.Test;

import static io.jvirtio.bus.kvm.KvmAssertions.mmio;
import static io.jvirtio.bus.kvm.KvmAssertions.mmioMatch;
import static io.jvirtio.bus.kvm.KvmAssertions.pio;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** virt/kvm/eventfd.c: {@code ioeventfd_in_range} and what a hit does. */
class IoEventFdMatchTest
{
    private static final long ADDR = 0xFE00_1000L;

    private final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
    private final IoEventFds ioeventfds = new IoEventFds(buses);
    private final CountingEventFd kick = new CountingEventFd();

    @Test
    void shouldRequireTheExactStartAddress()
    {
        ioeventfds.assign(mmio(ADDR, 4, kick));
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, ADDR + 1, 1, 0), "inside the range is not a match");
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, ADDR + 2, 2, 0));
        assertEquals(0, kick.signals());
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 4, 0));
        assertEquals(1, kick.signals());
    }

    @Test
    void shouldMatchAnyWidthAndAnyDataWhenLengthIsZero()
    {
        ioeventfds.assign(mmio(ADDR, 0, kick));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 1, 0x12));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 2, 0x1234));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 4, -1));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 8, Long.MIN_VALUE));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.FAST_MMIO, ADDR, 0, 0), "the fast bus: no width, no data");
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.FAST_MMIO, ADDR + 1, 0, 0));
        assertEquals(5, kick.signals());
    }

    @Test
    void shouldRequireEqualWidthWhenLengthIsNotZero()
    {
        ioeventfds.assign(mmio(ADDR, 2, kick));
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, ADDR, 1, 0), "narrower, found on the bus");
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, ADDR, 4, 0), "wider, not found on the bus");
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 2, 0));
        assertEquals(1, kick.signals());
    }

    @Test
    void shouldMatchAnyValueWhenWildcard()
    {
        ioeventfds.assign(pio(0x60, 1, kick));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.PIO, 0x60, 1, 0));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.PIO, 0x60, 1, 0xFF));
        assertEquals(2, kick.signals());
    }

    @Test
    void shouldCompareTheZeroExtendedGuestValueWithDatamatch()
    {
        ioeventfds.assign(mmioMatch(ADDR, 2, 0xBEEF, kick));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 2, 0xBEEF));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 2, 0x7777_0000_BEEFL),
            "bits above the access width are not part of the access");
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, ADDR, 2, 0xBEEE));
        assertEquals(2, kick.signals());
    }

    @Test
    void shouldNeverMatchDatamatchWiderThanTheLength()
    {
        ioeventfds.assign(mmioMatch(ADDR, 1, 0x1FA, kick));
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, ADDR, 1, 0xFA));
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, ADDR, 1, 0x1FA), "the guest byte is only 0xFA");
        assertEquals(0, kick.signals());
    }

    @Test
    void shouldCompareAllSixtyFourBitsForLengthEight()
    {
        ioeventfds.assign(mmioMatch(ADDR, 8, 0x8000_0000_0000_0001L, kick));
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, ADDR, 8, 1));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 8, 0x8000_0000_0000_0001L));
    }

    @Test
    void shouldNotSignExtendTheGuestValue()
    {
        ioeventfds.assign(mmioMatch(ADDR, 4, 0xFFFF_FFFFL, kick));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 4, -1));
        final CountingEventFd signExtended = new CountingEventFd();
        ioeventfds.assign(mmioMatch(ADDR + 8, 4, -1L, signExtended));
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, ADDR + 8, 4, -1), "-1 as u64 is not a u32 value");
    }

    @Test
    void shouldTryEachDatamatchIoeventfdAtTheAddressUntilOneMatches()
    {
        final CountingEventFd queue0 = new CountingEventFd();
        final CountingEventFd queue1 = new CountingEventFd();
        final CountingEventFd queue2 = new CountingEventFd();
        ioeventfds.assign(mmioMatch(ADDR, 2, 0, queue0));
        ioeventfds.assign(mmioMatch(ADDR, 2, 1, queue1));
        ioeventfds.assign(mmioMatch(ADDR, 2, 2, queue2));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 2, 2));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 2, 1));
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, ADDR, 2, 3));
        assertEquals(0, queue0.signals());
        assertEquals(1, queue1.signals());
        assertEquals(1, queue2.signals());
    }

    @Test
    void shouldSignalOnceAndTakeTheWriteOnAHit()
    {
        final IoEventFd p = new IoEventFd(ioeventfds, Bus.MMIO, mmioMatch(ADDR, 4, 9, kick));
        assertTrue(p.write(ADDR, 4, 9));
        assertEquals(1, kick.signals());
        assertEquals(1, kick.count(), "eventfd_signal adds one");
        assertFalse(p.write(ADDR, 4, 8));
        assertEquals(1, kick.signals());
    }

    @Test
    void shouldRefuseEveryRead()
    {
        final IoEventFd p = new IoEventFd(ioeventfds, Bus.MMIO, mmio(ADDR, 0, kick));
        final IoValue value = new IoValue();
        assertFalse(p.read(ADDR, 4, value));
        assertFalse(p.read(ADDR, 0, value));
        assertEquals(0, kick.signals());
    }
}
