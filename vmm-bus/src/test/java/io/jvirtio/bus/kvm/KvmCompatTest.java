package io.jvirtio.bus.kvm;

import org.junit.jupiter.api.Test;

import static io.jvirtio.bus.kvm.KvmAssertions.assertErrno;
import static io.jvirtio.bus.kvm.KvmAssertions.ccw;
import static io.jvirtio.bus.kvm.KvmAssertions.mmio;
import static io.jvirtio.bus.kvm.KvmAssertions.pio;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * virt/kvm/eventfd.c: each 2014 (Linux 3.16) behaviour reproduced under {@link KvmCompat#LINUX_3_16},
 * and shown fixed under {@link KvmCompat#CURRENT}.
 */
class KvmCompatTest
{
    private static final long ADDR = 0xFE00_4000L;

    private final CountingEventFd kick = new CountingEventFd();

    @Test
    void shouldRefuseLengthZeroPioIn316AndAcceptItSinceAnyLength()
    {
        final IoEventFds old = new IoEventFds(new IoBuses(KvmCompat.LINUX_3_16));
        assertErrno(Errno.EINVAL, () -> old.assign(pio(0x60, 0, kick)));
        old.assign(pio(0x60, 2, kick));

        final IoEventFds current = new IoEventFds(new IoBuses(KvmCompat.CURRENT));
        current.assign(pio(0x60, 0, kick));
    }

    @Test
    void shouldPutLengthZeroCcwOnTheFastMmioBusIn316()
    {
        final IoBuses oldBuses = new IoBuses(KvmCompat.LINUX_3_16);
        new IoEventFds(oldBuses).assign(ccw(ADDR, 0, kick));
        assertEquals(1, oldBuses.deviceCount(Bus.FAST_MMIO));
        assertEquals(IoBuses.HANDLED, oldBuses.write(Bus.FAST_MMIO, ADDR, 0, 0),
            "an MMIO exit at the subchannel id's address kicks the ccw eventfd");
        assertEquals(1, kick.signals());

        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        new IoEventFds(buses).assign(ccw(ADDR, 0, kick));
        assertEquals(0, buses.deviceCount(Bus.FAST_MMIO));
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.FAST_MMIO, ADDR, 0, 0));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.VIRTIO_CCW_NOTIFY, ADDR, 4, 0));
    }

    @Test
    void shouldTouchTheFastBusWhenDeassigningLengthZeroCcwIn316()
    {
        final IoBuses oldBuses = new IoBuses(KvmCompat.LINUX_3_16);
        final IoEventFds old = new IoEventFds(oldBuses);
        old.assign(ccw(ADDR, 0, kick));
        old.deassign(ccw(ADDR, 0, kick));
        assertEquals(0, oldBuses.deviceCount(Bus.FAST_MMIO));
        assertEquals(0, oldBuses.deviceCount(Bus.VIRTIO_CCW_NOTIFY));
        assertEquals(1, old.releases());
    }

    @Test
    void shouldShareOneObjectBetweenMmioAndFastBusIn316()
    {
        final IoBuses oldBuses = new IoBuses(KvmCompat.LINUX_3_16);
        final IoEventFds old = new IoEventFds(oldBuses);
        old.assign(mmio(ADDR, 0, kick));
        assertEquals(1, old.size(), "one _ioeventfd in the list");
        assertEquals(1, oldBuses.deviceCount(Bus.MMIO));
        assertEquals(1, oldBuses.deviceCount(Bus.FAST_MMIO));
        assertEquals(0, oldBuses.ioeventfdCount(Bus.FAST_MMIO), "the fast entry counts toward the limit");

        final IoEventFds current = new IoEventFds(new IoBuses(KvmCompat.CURRENT));
        current.assign(mmio(ADDR, 0, kick));
        assertEquals(2, current.size(), "two objects since eefd6b06");
    }

    @Test
    void shouldReleaseTheSharedObjectTwiceWhenTheBusesAreDestroyedIn316()
    {
        final IoBuses oldBuses = new IoBuses(KvmCompat.LINUX_3_16);
        final IoEventFds old = new IoEventFds(oldBuses);
        old.assign(mmio(ADDR, 0, kick));
        old.assign(mmio(ADDR + 8, 4, kick));
        oldBuses.close();
        assertEquals(3, old.releases());
        assertEquals(1, old.doubleReleases(), "the double free of eefd6b06");

        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        final IoEventFds current = new IoEventFds(buses);
        current.assign(mmio(ADDR, 0, kick));
        current.assign(mmio(ADDR + 8, 4, kick));
        buses.close();
        assertEquals(3, current.releases());
        assertEquals(0, current.doubleReleases());
        assertEquals(0, current.size());
    }

    @Test
    void shouldReleaseTheSharedObjectOnceOnDeassignIn316()
    {
        final IoBuses oldBuses = new IoBuses(KvmCompat.LINUX_3_16);
        final IoEventFds old = new IoEventFds(oldBuses);
        old.assign(mmio(ADDR, 0, kick));
        old.deassign(mmio(ADDR, 0, kick));
        assertEquals(1, old.releases());
        assertEquals(0, old.doubleReleases());
        assertEquals(0, oldBuses.deviceCount(Bus.FAST_MMIO));
        oldBuses.close();
        assertEquals(0, old.doubleReleases());
    }

    @Test
    void shouldMissLengthZeroMmioOnTheSlowPathIn316()
    {
        final IoBuses oldBuses = new IoBuses(KvmCompat.LINUX_3_16);
        new IoEventFds(oldBuses).assign(mmio(ADDR, 0, kick));
        assertEquals(IoBuses.NOT_HANDLED, oldBuses.write(Bus.MMIO, ADDR, 2, 0), "emulated write goes to userspace");
        assertEquals(IoBuses.HANDLED, oldBuses.write(Bus.FAST_MMIO, ADDR, 0, 0));

        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        new IoEventFds(buses).assign(mmio(ADDR, 0, kick));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 2, 0));
    }

    @Test
    void shouldUnregisterFromTheMmioBusWhenTheFastRegistrationFailsIn316()
    {
        final IoBuses oldBuses = new IoBuses(KvmCompat.LINUX_3_16);
        final IoEventFds old = new IoEventFds(oldBuses);
        for (int i = 0; i < IoBuses.NR_IOBUS_DEVS; i++)
        {
            old.assign(mmio(0x10_0000L + 8L * i, 0, new CountingEventFd()));
        }
        assertErrno(Errno.ENOSPC, () -> old.assign(mmio(ADDR, 0, kick)));
        assertEquals(IoBuses.NR_IOBUS_DEVS, oldBuses.deviceCount(Bus.MMIO), "the register_fail path undid it");
        assertEquals(IoBuses.NOT_HANDLED, oldBuses.write(Bus.MMIO, ADDR, 0, 0));
    }
}
