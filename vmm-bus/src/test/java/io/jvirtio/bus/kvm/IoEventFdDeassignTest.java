package io.jvirtio.bus.kvm;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;

import static io.jvirtio.bus.kvm.KvmAssertions.assertErrno;
import static io.jvirtio.bus.kvm.KvmAssertions.mmio;
import static io.jvirtio.bus.kvm.KvmAssertions.mmioMatch;
import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_DATAMATCH;
import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_PIO;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** virt/kvm/eventfd.c: deassign. */
class IoEventFdDeassignTest
{
    private static final long ADDR = 0xFE00_3000L;

    private final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
    private final IoEventFds ioeventfds = new IoEventFds(buses);
    private final CountingEventFd kick = new CountingEventFd();

    @Test
    void shouldDeassignOnlyTheExactRequest()
    {
        ioeventfds.assign(mmioMatch(ADDR, 4, 7, kick));
        assertErrno(Errno.ENOENT, () -> ioeventfds.deassign(mmioMatch(ADDR + 4, 4, 7, kick)));
        assertErrno(Errno.ENOENT, () -> ioeventfds.deassign(mmioMatch(ADDR, 2, 7, kick)));
        assertErrno(Errno.ENOENT, () -> ioeventfds.deassign(mmioMatch(ADDR, 4, 8, kick)));
        assertErrno(Errno.ENOENT, () -> ioeventfds.deassign(mmio(ADDR, 4, kick)), "wildcard vs datamatch");
        assertErrno(Errno.ENOENT, () -> ioeventfds.deassign(mmioMatch(ADDR, 4, 7, new CountingEventFd())));
        assertErrno(Errno.ENOENT, () -> ioeventfds.deassign(
            new KvmIoEventFd(7, ADDR, 4, kick, KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_PIO)), "other bus");
        assertEquals(1, ioeventfds.size());

        ioeventfds.deassign(mmioMatch(ADDR, 4, 7, kick));
        assertEquals(0, ioeventfds.size());
        assertEquals(0, buses.deviceCount(Bus.MMIO));
        assertEquals(0, buses.ioeventfdCount(Bus.MMIO));
        assertEquals(1, ioeventfds.releases());
    }

    @Test
    void shouldIgnoreTheDatamatchValueOfAWildcardRequest()
    {
        ioeventfds.assign(new KvmIoEventFd(99, ADDR, 4, kick, 0));
        ioeventfds.deassign(new KvmIoEventFd(12, ADDR, 4, kick, 0));
        assertEquals(0, ioeventfds.size());
    }

    @Test
    void shouldRemoveTheFastTwinWithALengthZeroMmioDeassign()
    {
        ioeventfds.assign(mmio(ADDR, 0, kick));
        ioeventfds.deassign(mmio(ADDR, 0, kick));
        assertEquals(0, ioeventfds.size());
        assertEquals(0, buses.deviceCount(Bus.MMIO));
        assertEquals(0, buses.deviceCount(Bus.FAST_MMIO));
        assertEquals(0, buses.ioeventfdCount(Bus.FAST_MMIO));
        assertEquals(2, ioeventfds.releases(), "two objects, each released once");
        assertEquals(0, ioeventfds.doubleReleases());
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.FAST_MMIO, ADDR, 0, 0));
    }

    @Test
    void shouldIgnoreTheFastTwinResult()
    {
        ioeventfds.assign(mmio(ADDR, 0, kick));
        // remove the fast bus, and the twin with it, through a failed unregister of another device
        final RecordingDevice other = new RecordingDevice("other", false, new ArrayList<>());
        buses.register(Bus.FAST_MMIO, 0x10, 0, other);
        buses.injectShrinkFailure();
        assertErrno(Errno.ENOMEM, () -> buses.unregister(Bus.FAST_MMIO, other));
        assertEquals(1, ioeventfds.size(), "the twin was destroyed with its bus");

        ioeventfds.deassign(mmio(ADDR, 0, kick));
        assertEquals(0, ioeventfds.size());
    }

    @Test
    void shouldAnswerEnoentInsteadOfValidating()
    {
        ioeventfds.assign(mmio(ADDR, 4, kick));
        assertErrno(Errno.ENOENT, () -> ioeventfds.deassign(mmio(ADDR, 3, kick)), "invalid length");
        assertErrno(Errno.ENOENT, () -> ioeventfds.deassign(mmioMatch(ADDR, 0, 1, kick)), "datamatch, length 0");
        assertErrno(Errno.ENOENT, () -> ioeventfds.deassign(mmio(-1L, 8, kick)), "wrapping range");
        assertEquals(1, ioeventfds.size());
    }

    @Test
    void shouldNotCheckTheFlagMaskOnDeassign()
    {
        ioeventfds.assign(mmio(ADDR, 4, kick));
        ioeventfds.deassign(new KvmIoEventFd(0, ADDR, 4, kick, 0x100));
        assertEquals(0, ioeventfds.size(), "unknown flags do not take part in the match");
    }

    @Test
    void shouldRejectAMissingEventFdWithEbadf()
    {
        ioeventfds.assign(mmio(ADDR, 4, kick));
        assertErrno(Errno.EBADF, () -> ioeventfds.deassign(new KvmIoEventFd(0, ADDR, 4, null, 0)));
    }

    @Test
    void shouldDeassignAClosedEventFd()
    {
        ioeventfds.assign(mmio(ADDR, 4, kick));
        kick.close();
        ioeventfds.deassign(mmio(ADDR, 4, kick));
        assertEquals(0, ioeventfds.size());
    }

    @Test
    void shouldStopSignallingOnceDeassigned()
    {
        ioeventfds.assign(mmio(ADDR, 2, kick));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 2, 0));
        ioeventfds.ioeventfd(mmio(ADDR, 2, kick).deassigning());
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, ADDR, 2, 0));
        assertEquals(1, kick.signals());
        assertErrno(Errno.ENOENT, () -> ioeventfds.deassign(mmio(ADDR, 2, kick)), "already gone");
    }

    @Test
    void shouldLeaveOtherIoeventfdsAtTheAddressInPlace()
    {
        final CountingEventFd other = new CountingEventFd();
        ioeventfds.assign(mmioMatch(ADDR, 2, 0, kick));
        ioeventfds.assign(mmioMatch(ADDR, 2, 1, other));
        ioeventfds.deassign(mmioMatch(ADDR, 2, 0, kick));
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, ADDR, 2, 0));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 2, 1));
        assertEquals(1, other.signals());
        assertFalse(kick.isReadable());
    }
}
