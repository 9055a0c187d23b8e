package io.jvirtio.bus.kvm;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.jvirtio.bus.kvm.KvmAssertions.assertErrno;
import static io.jvirtio.bus.kvm.KvmAssertions.mmio;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** virt/kvm/kvm_main.c: the comparator, lookup and dispatch, register and unregister. */
class IoBusesTest
{
    private static final long BASE = 0x1000;

    private final List<String> log = new ArrayList<>();

    // §7.2: the current comparator

    @Test
    void shouldMatchKeyContainedInEntryWhenEntryHasLength()
    {
        assertEquals(0, KvmIoBus.cmp(true, BASE, 4, BASE, 4));
        assertEquals(0, KvmIoBus.cmp(true, BASE + 2, 2, BASE, 4), "inside the entry");
        assertEquals(1, KvmIoBus.cmp(true, BASE + 2, 4, BASE, 4), "runs past the entry's end");
        assertEquals(1, KvmIoBus.cmp(true, BASE, 8, BASE, 4), "wider than the entry");
        assertEquals(-1, KvmIoBus.cmp(true, BASE - 1, 1, BASE, 4), "starts before the entry");
    }

    @Test
    void shouldMatchOnlyTheExactAddressWhenEntryHasLengthZero()
    {
        assertEquals(0, KvmIoBus.cmp(true, BASE, 4, BASE, 0), "any width at the exact address");
        assertEquals(0, KvmIoBus.cmp(true, BASE, 8, BASE, 0));
        assertEquals(0, KvmIoBus.cmp(true, BASE, 0, BASE, 0), "the fast bus key");
        assertEquals(1, KvmIoBus.cmp(true, BASE + 1, 1, BASE, 0), "one byte further is no match");
        assertEquals(-1, KvmIoBus.cmp(true, BASE - 1, 4, BASE, 0), "overlapping from below is no match");
    }

    @Test
    void shouldBeAsymmetricLikeTheKernelComparator()
    {
        assertEquals(0, KvmIoBus.cmp(true, BASE + 1, 1, BASE, 4));
        assertEquals(-1, KvmIoBus.cmp(true, BASE, 4, BASE + 1, 1), "swapping key and entry changes the answer");
    }

    @Test
    void shouldCompareAddressesUnsigned()
    {
        final long high = 0x8000_0000_0000_0000L;
        assertEquals(1, KvmIoBus.cmp(true, high, 1, BASE, 4), "2^63 is above 0x1000, not below");
        assertEquals(-1, KvmIoBus.cmp(true, BASE, 1, high, 4));
    }

    // §7.2: the pre-2015 comparator

    @Test
    void shouldNeverFindLengthZeroEntryForKeyWithLengthUnderPre2015Comparator()
    {
        assertEquals(1, KvmIoBus.cmp(false, BASE, 4, BASE, 0), "addr + 4 > addr + 0");
        assertEquals(1, KvmIoBus.cmp(false, BASE, 1, BASE, 0));
        assertEquals(0, KvmIoBus.cmp(false, BASE, 0, BASE, 0), "only the fast bus key finds it");
        assertEquals(0, KvmIoBus.cmp(false, BASE + 2, 2, BASE, 4), "entries with a length are unchanged");
    }

    @Test
    void shouldMakeLengthZeroMmioEntryUnreachableForAccessesUnderPre2015Comparator()
    {
        final IoBuses old = new IoBuses(KvmCompat.LINUX_3_16);
        old.register(Bus.MMIO, BASE, 0, new RecordingDevice("zero", true, log));
        assertEquals(IoBuses.NOT_HANDLED, old.write(Bus.MMIO, BASE, 4, 0));
        assertEquals(IoBuses.NOT_HANDLED, old.write(Bus.MMIO, BASE, 1, 0));
        assertEquals(IoBuses.HANDLED, old.write(Bus.MMIO, BASE, 0, 0));
        assertEquals(List.of("zero"), log);

        final IoBuses current = new IoBuses(KvmCompat.CURRENT);
        current.register(Bus.MMIO, BASE, 0, new RecordingDevice("zero", true, log));
        assertEquals(IoBuses.HANDLED, current.write(Bus.MMIO, BASE, 4, 0));
    }

    // §7.3: lookup and dispatch

    @Test
    void shouldWalkBackToFirstMatchAndTryEveryMatchInOrder()
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        buses.register(Bus.MMIO, 0x100, 4, new RecordingDevice("below", true, log));
        for (final String name : List.of("a", "b", "c", "d", "e"))
        {
            buses.register(Bus.MMIO, BASE, 16, new RecordingDevice(name, false, log));
        }
        buses.register(Bus.MMIO, 0x9000, 4, new RecordingDevice("above", true, log));

        // the binary search lands on a middle entry; the walk back must start the scan at "a"
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, BASE + 4, 4, 0));
        assertEquals(List.of("a", "b", "c", "d", "e"), log);
    }

    @Test
    void shouldStopAtTheFirstDeviceThatAccepts()
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        buses.register(Bus.PIO, BASE, 4, new RecordingDevice("refuses", false, log));
        buses.register(Bus.PIO, BASE, 4, new RecordingDevice("accepts", true, log));
        buses.register(Bus.PIO, BASE, 4, new RecordingDevice("never", true, log));

        assertEquals(IoBuses.HANDLED, buses.write(Bus.PIO, BASE, 2, 0));
        assertEquals(List.of("refuses", "accepts"), log);
    }

    @Test
    void shouldReturnNotHandledWhenNoDeviceMatches()
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, BASE, 4, 0), "empty bus");
        buses.register(Bus.MMIO, BASE, 4, new RecordingDevice("dev", true, log));
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, BASE + 4, 4, 0));
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.PIO, BASE, 4, 0), "other bus");
        assertTrue(log.isEmpty());
    }

    @Test
    void shouldReadFromTheFirstDeviceThatAccepts()
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        buses.register(Bus.MMIO, BASE, 8, new RecordingDevice("refuses", false, 1, log));
        buses.register(Bus.MMIO, BASE, 8, new RecordingDevice("accepts", true, 0xCAFE, log));
        final IoValue value = new IoValue();
        assertEquals(IoBuses.HANDLED, buses.read(Bus.MMIO, BASE, 4, value));
        assertEquals(0xCAFE, value.get());
        assertEquals(List.of("refuses", "accepts"), log);
    }

    @Test
    void shouldNotHandleReadsOfIoeventfds()
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        new IoEventFds(buses).assign(mmio(BASE, 4, new CountingEventFd()));
        final IoValue value = new IoValue();
        value.set(7);
        assertEquals(IoBuses.NOT_HANDLED, buses.read(Bus.MMIO, BASE, 4, value));
        assertEquals(7, value.get(), "an unhandled read leaves the holder alone");
    }

    // §7.4: register

    @Test
    void shouldInsertAfterEqualEntriesKeepingRegistrationOrder()
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        buses.register(Bus.MMIO, 0x2000, 4, new RecordingDevice("x", false, log));
        buses.register(Bus.MMIO, 0x2000, 4, new RecordingDevice("y", false, log));
        buses.register(Bus.MMIO, BASE, 4, new RecordingDevice("lower", false, log));
        buses.register(Bus.MMIO, 0x2000, 4, new RecordingDevice("z", false, log));
        buses.register(Bus.MMIO, 0x2000, 0, new RecordingDevice("zero", false, log));

        buses.write(Bus.MMIO, 0x2000, 4, 0);
        assertEquals(List.of("x", "y", "z", "zero"), log);
        log.clear();
        buses.write(Bus.MMIO, BASE, 4, 0);
        assertEquals(List.of("lower"), log);
    }

    @Test
    void shouldRefuseDeviceBeyondNrIobusDevsWithEnospc()
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        for (int i = 0; i < IoBuses.NR_IOBUS_DEVS; i++)
        {
            buses.register(Bus.PIO, i, 1, new RecordingDevice("d" + i, true, log));
        }
        assertErrno(Errno.ENOSPC, () -> buses.register(Bus.PIO, 5000, 1, new RecordingDevice("full", true, log)));
        assertEquals(IoBuses.NR_IOBUS_DEVS, buses.deviceCount(Bus.PIO));
        buses.register(Bus.MMIO, 5000, 1, new RecordingDevice("other bus", true, log));
    }

    @Test
    void shouldNotCountIoeventfdsTowardTheDeviceLimit()
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        final IoEventFds ioeventfds = new IoEventFds(buses);
        final CountingEventFd kick = new CountingEventFd();
        for (int i = 0; i < 1500; i++)
        {
            ioeventfds.assign(mmio(0x10_0000L + 8L * i, 4, kick));
        }
        for (int i = 0; i < IoBuses.NR_IOBUS_DEVS; i++)
        {
            buses.register(Bus.MMIO, i, 1, new RecordingDevice("d" + i, true, log));
        }
        assertEquals(2500, buses.deviceCount(Bus.MMIO));
        assertEquals(1500, buses.ioeventfdCount(Bus.MMIO));
        assertErrno(Errno.ENOSPC, () -> buses.register(Bus.MMIO, 5000, 1, new RecordingDevice("full", true, log)));
        assertErrno(Errno.ENOSPC, () -> ioeventfds.assign(mmio(0x90_0000L, 4, kick)));
    }

    // §7.5: unregister

    @Test
    void shouldUnregisterByDeviceIdentityNotByRange()
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        final RecordingDevice a = new RecordingDevice("a", false, log);
        final RecordingDevice b = new RecordingDevice("b", false, log);
        buses.register(Bus.MMIO, BASE, 4, a);
        buses.register(Bus.MMIO, BASE, 4, b);
        buses.register(Bus.MMIO, BASE, 4, a);

        buses.unregister(Bus.MMIO, a);
        buses.write(Bus.MMIO, BASE, 4, 0);
        assertEquals(List.of("b", "a"), log, "only the first entry of a goes");
        assertEquals(0, b.destroyed());

        buses.unregister(Bus.MMIO, new RecordingDevice("stranger", false, log));
        buses.unregister(Bus.PIO, b);
        assertEquals(2, buses.deviceCount(Bus.MMIO), "a device not on the bus is ignored silently");
    }

    @Test
    void shouldRunDestructorWhenUnregisteredSinceLinux65()
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        final RecordingDevice dev = new RecordingDevice("dev", true, log);
        buses.register(Bus.MMIO, BASE, 4, dev);
        buses.unregister(Bus.MMIO, dev);
        assertEquals(1, dev.destroyed());
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, BASE, 4, 0));

        final IoBuses old = new IoBuses(KvmCompat.LINUX_3_16);
        final RecordingDevice oldDev = new RecordingDevice("old", true, log);
        old.register(Bus.MMIO, BASE, 4, oldDev);
        old.unregister(Bus.MMIO, oldDev);
        assertEquals(0, oldDev.destroyed(), "in 3.16 the caller frees the device");
    }

    @Test
    void shouldRemoveTheWholeBusWhenUnregisterCannotShrinkIt()
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        final RecordingDevice a = new RecordingDevice("a", true, log);
        final RecordingDevice b = new RecordingDevice("b", true, log);
        final RecordingDevice pio = new RecordingDevice("pio", true, log);
        buses.register(Bus.MMIO, BASE, 4, a);
        buses.register(Bus.MMIO, 0x2000, 4, b);
        buses.register(Bus.PIO, BASE, 4, pio);

        buses.injectShrinkFailure();
        assertErrno(Errno.ENOMEM, () -> buses.unregister(Bus.MMIO, a));

        assertFalse(buses.isPresent(Bus.MMIO));
        assertEquals(1, a.destroyed());
        assertEquals(1, b.destroyed(), "every other device on the bus is destroyed too");
        assertEquals(IoBuses.BUS_REMOVED, buses.write(Bus.MMIO, 0x2000, 4, 0));
        assertEquals(IoBuses.BUS_REMOVED, buses.read(Bus.MMIO, 0x2000, 4, new IoValue()));
        assertEquals(2, buses.removedBusAccesses());
        assertErrno(Errno.ENOMEM, () -> buses.register(Bus.MMIO, BASE, 4, a));
        buses.unregister(Bus.MMIO, b);

        assertEquals(IoBuses.HANDLED, buses.write(Bus.PIO, BASE, 4, 0), "other buses are untouched");
        assertEquals(0, pio.destroyed());
        assertEquals(List.of("pio"), log, "no device of the removed bus was called");
    }

    @Test
    void shouldDestroyEveryEntryWhenClosed()
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        final RecordingDevice twice = new RecordingDevice("twice", true, log);
        final RecordingDevice once = new RecordingDevice("once", true, log);
        buses.register(Bus.MMIO, BASE, 4, twice);
        buses.register(Bus.FAST_MMIO, BASE, 0, twice);
        buses.register(Bus.PIO, BASE, 4, once);

        buses.close();
        assertEquals(2, twice.destroyed(), "one destructor call per bus entry");
        assertEquals(1, once.destroyed());
        for (final Bus bus : Bus.values())
        {
            assertFalse(buses.isPresent(bus));
            assertEquals(IoBuses.BUS_REMOVED, buses.write(bus, BASE, 4, 0));
        }
        buses.close();
        assertEquals(2, twice.destroyed(), "close is idempotent");
    }

    @Test
    void shouldRunTheClassExample()
    {
        final long notifyGpa = 0xFE00_3000L;
        final CountingEventFd kick = new CountingEventFd();
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        final IoEventFds ioeventfds = new IoEventFds(buses);
        ioeventfds.assign(new KvmIoEventFd(0, notifyGpa, 0, kick, 0));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.FAST_MMIO, notifyGpa, 0, 0));
        assertEquals(1, kick.signals());
    }

    @Test
    void shouldGiveResultsAsKernelReturnValuesUsableAsSwitchLabels()
    {
        final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
        final String outcome = switch (buses.write(Bus.PIO, BASE, 1, 0))
        {
            case IoBuses.HANDLED -> "handled";
            case IoBuses.NOT_HANDLED -> "userspace";
            case IoBuses.BUS_REMOVED -> "removed";
            default -> "unknown";
        };
        assertEquals("userspace", outcome);
        assertEquals(-Errno.EOPNOTSUPP.number(), IoBuses.NOT_HANDLED);
        assertEquals(-Errno.ENOMEM.number(), IoBuses.BUS_REMOVED);
    }

    @Test
    void shouldKeepBusesInKvmOrder()
    {
        assertEquals(List.of(Bus.MMIO, Bus.PIO, Bus.VIRTIO_CCW_NOTIFY, Bus.FAST_MMIO), List.of(Bus.values()));
    }
}
