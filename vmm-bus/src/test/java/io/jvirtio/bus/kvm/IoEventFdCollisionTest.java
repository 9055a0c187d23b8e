package io.jvirtio.bus.kvm;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;

import static io.jvirtio.bus.kvm.KvmAssertions.assertErrno;
import static io.jvirtio.bus.kvm.KvmAssertions.ccw;
import static io.jvirtio.bus.kvm.KvmAssertions.mmio;
import static io.jvirtio.bus.kvm.KvmAssertions.mmioMatch;
import static io.jvirtio.bus.kvm.KvmAssertions.pio;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** virt/kvm/eventfd.c: {@code ioeventfd_check_collision} and EEXIST. */
class IoEventFdCollisionTest
{
    private static final long ADDR = 0xFE00_2000L;

    private final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
    private final IoEventFds ioeventfds = new IoEventFds(buses);
    private final CountingEventFd kick = new CountingEventFd();

    @Test
    void shouldCollideWhenEitherLengthIsZero()
    {
        ioeventfds.assign(mmio(ADDR, 0, kick));
        assertErrno(Errno.EEXIST, () -> ioeventfds.assign(mmio(ADDR, 4, kick)));
        assertErrno(Errno.EEXIST, () -> ioeventfds.assign(mmioMatch(ADDR, 2, 5, kick)));

        ioeventfds.assign(pio(0x60, 2, kick));
        assertErrno(Errno.EEXIST, () -> ioeventfds.assign(pio(0x60, 0, kick)));
    }

    @Test
    void shouldCollideWhenSameLengthAndEitherIsWildcard()
    {
        ioeventfds.assign(mmio(ADDR, 4, kick));
        assertErrno(Errno.EEXIST, () -> ioeventfds.assign(mmioMatch(ADDR, 4, 1, kick)));

        ioeventfds.assign(mmioMatch(ADDR + 8, 4, 1, kick));
        assertErrno(Errno.EEXIST, () -> ioeventfds.assign(mmio(ADDR + 8, 4, kick)));
    }

    @Test
    void shouldCollideWhenSameLengthAndSameDatamatch()
    {
        ioeventfds.assign(mmioMatch(ADDR, 2, 3, kick));
        assertErrno(Errno.EEXIST, () -> ioeventfds.assign(mmioMatch(ADDR, 2, 3, kick)));
    }

    @Test
    void shouldCoexistWhenDatamatchDiffers()
    {
        for (int queue = 0; queue < 8; queue++)
        {
            ioeventfds.assign(mmioMatch(ADDR, 2, queue, new CountingEventFd()));
        }
        assertEquals(8, buses.deviceCount(Bus.MMIO));
    }

    @Test
    void shouldCoexistWhenLengthsDifferAndNeitherIsZero()
    {
        ioeventfds.assign(mmio(ADDR, 2, kick));
        ioeventfds.assign(mmio(ADDR, 4, kick));
        ioeventfds.assign(mmioMatch(ADDR, 8, 1, kick));
        assertEquals(3, ioeventfds.size());
    }

    @Test
    void shouldCoexistOnDifferentBuses()
    {
        ioeventfds.assign(mmio(0x60, 0, kick));
        ioeventfds.assign(pio(0x60, 0, kick));
        ioeventfds.assign(ccw(0x60, 0, kick));
        assertEquals(4, ioeventfds.size(), "MMIO, its fast twin, PIO and CCW");
    }

    @Test
    void shouldCoexistWhenRangesOverlapButStartAddressesDiffer()
    {
        ioeventfds.assign(mmio(ADDR, 8, kick));
        ioeventfds.assign(mmio(ADDR + 4, 4, kick));
        ioeventfds.assign(mmio(ADDR + 2, 0, kick));
        assertEquals(4, ioeventfds.size());
    }

    @Test
    void shouldCollideWhateverTheEventFd()
    {
        ioeventfds.assign(mmio(ADDR, 4, kick));
        assertErrno(Errno.EEXIST, () -> ioeventfds.assign(mmio(ADDR, 4, new CountingEventFd())));
    }

    @Test
    void shouldNotCollideWithNonIoeventfdDeviceAtTheSameRange()
    {
        buses.register(Bus.MMIO, ADDR, 4, new RecordingDevice("in-kernel", false, new ArrayList<>()));
        ioeventfds.assign(mmio(ADDR, 4, kick));
        assertEquals(2, buses.deviceCount(Bus.MMIO), "the bus simply holds overlapping entries");
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 4, 0));
        assertEquals(1, kick.signals());
    }

    @Test
    void shouldRejectSecondLengthZeroMmioOnTheMmioBusFirst()
    {
        ioeventfds.assign(mmio(ADDR, 0, kick));
        assertErrno(Errno.EEXIST, () -> ioeventfds.assign(mmio(ADDR, 0, new CountingEventFd())));
        assertEquals(2, ioeventfds.size());
        assertEquals(1, buses.deviceCount(Bus.FAST_MMIO), "no second fast twin");
        assertEquals(0, ioeventfds.releases());
    }
}
