package io.jvirtio.bus.kvm;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.jvirtio.bus.kvm.KvmAssertions.assertErrno;
import static io.jvirtio.bus.kvm.KvmAssertions.ccw;
import static io.jvirtio.bus.kvm.KvmAssertions.mmio;
import static io.jvirtio.bus.kvm.KvmAssertions.mmioMatch;
import static io.jvirtio.bus.kvm.KvmAssertions.pio;
import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_DATAMATCH;
import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_PIO;
import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** virt/kvm/eventfd.c: assign, its validation order and each errno. */
class IoEventFdAssignTest
{
    private static final long ADDR = 0xFE00_0000L;

    private final IoBuses buses = new IoBuses(KvmCompat.CURRENT);
    private final IoEventFds ioeventfds = new IoEventFds(buses);
    private final CountingEventFd kick = new CountingEventFd();

    @Test
    void shouldTakeTheBusFromTheFlagsWithPioWinningOverCcw()
    {
        assertEquals(Bus.MMIO, mmio(ADDR, 4, kick).bus());
        assertEquals(Bus.PIO, pio(ADDR, 4, kick).bus());
        assertEquals(Bus.VIRTIO_CCW_NOTIFY, ccw(ADDR, 4, kick).bus());
        final KvmIoEventFd both =
            new KvmIoEventFd(0, 0x60, 1, kick, KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY);
        assertEquals(Bus.PIO, both.bus());

        ioeventfds.assign(both);
        assertEquals(1, buses.deviceCount(Bus.PIO));
        assertEquals(0, buses.deviceCount(Bus.VIRTIO_CCW_NOTIFY));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.PIO, 0x60, 1, 0));
    }

    @Test
    void shouldRejectLengthOtherThanZeroOneTwoFourOrEight()
    {
        for (final int len : new int[] {3, 5, 6, 7, 16, -1, Integer.MIN_VALUE})
        {
            final KvmException e = assertErrno(Errno.EINVAL, () -> ioeventfds.assign(mmio(ADDR, len, kick)));
            assertTrue(e.getMessage().startsWith("ioeventfd length"), e.getMessage());
        }
        for (final int len : new int[] {0, 1, 2, 4, 8})
        {
            ioeventfds.assign(mmio(ADDR + 0x100L * len, len, kick));
        }
        assertEquals(5, buses.ioeventfdCount(Bus.MMIO));
    }

    @Test
    void shouldRejectAddressRangeThatWraps()
    {
        final KvmException e = assertErrno(Errno.EINVAL, () -> ioeventfds.assign(mmio(-4L, 4, kick)));
        assertTrue(e.getMessage().startsWith("ioeventfd address range wraps"), e.getMessage());
        assertErrno(Errno.EINVAL, () -> ioeventfds.assign(mmio(-1L, 8, kick)));

        ioeventfds.assign(mmio(-5L, 4, kick));
        ioeventfds.assign(mmio(-1L, 0, kick));
    }

    @Test
    void shouldRejectFlagsOutsideTheValidMask()
    {
        for (final int flag : new int[] {1 << 5, 1 << 6, 1 << 31})
        {
            final KvmIoEventFd request = new KvmIoEventFd(0, ADDR, 4, kick, flag);
            final KvmException e = assertErrno(Errno.EINVAL, () -> ioeventfds.assign(request));
            assertTrue(e.getMessage().startsWith("ioeventfd has unknown flags"), e.getMessage());
        }
        assertEquals(0x1F, KvmIoEventFd.KVM_IOEVENTFD_VALID_FLAG_MASK);
    }

    /** Regression: the host kernel accepts bit 4 (kvm_ioeventfd_flag_nr_fast_mmio); the model refused it. */
    @Test
    void shouldAcceptAndIgnoreTheFastMmioFlagBitAsTheKernelDoes()
    {
        final int flags = KvmIoEventFd.KVM_IOEVENTFD_FLAG_FAST_MMIO | KVM_IOEVENTFD_FLAG_DATAMATCH;
        ioeventfds.assign(new KvmIoEventFd(7, ADDR, 4, kick, flags));
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, ADDR, 4, 6));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 4, 7));
        assertEquals(Bus.MMIO, new KvmIoEventFd(0, ADDR, 4, kick, KvmIoEventFd.KVM_IOEVENTFD_FLAG_FAST_MMIO).bus());
        // the same key without the bit collides: the bit takes no part in matching
        assertErrno(Errno.EEXIST, () -> ioeventfds.assign(new KvmIoEventFd(7, ADDR, 4, kick,
            KVM_IOEVENTFD_FLAG_DATAMATCH)));
        ioeventfds.deassign(new KvmIoEventFd(7, ADDR, 4, kick, KVM_IOEVENTFD_FLAG_DATAMATCH));
        assertEquals(0, ioeventfds.size());
    }

    @Test
    void shouldRejectDatamatchWithLengthZero()
    {
        final KvmException e = assertErrno(Errno.EINVAL, () -> ioeventfds.assign(mmioMatch(ADDR, 0, 0, kick)));
        assertTrue(e.getMessage().startsWith("ioeventfd with length 0 cannot match data"), e.getMessage());
    }

    @Test
    void shouldAcceptLengthZeroPioSinceAnyLengthCapability()
    {
        ioeventfds.assign(pio(0x60, 0, kick));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.PIO, 0x60, 2, 0));
    }

    @Test
    void shouldRejectMissingOrClosedEventFdWithEbadf()
    {
        assertErrno(Errno.EBADF, () -> ioeventfds.assign(new KvmIoEventFd(0, ADDR, 4, null, 0)));
        final CountingEventFd closed = new CountingEventFd();
        closed.close();
        assertErrno(Errno.EBADF, () -> ioeventfds.assign(mmio(ADDR, 4, closed)));
        assertEquals(0, ioeventfds.size());
    }

    @Test
    void shouldValidateInKernelOrder()
    {
        // length first, even with a wrap, unknown flags, datamatch with length 0 and no eventfd
        final KvmException length = assertErrno(Errno.EINVAL,
            () -> ioeventfds.assign(new KvmIoEventFd(1, -1L, 3, null, 0x20 | KVM_IOEVENTFD_FLAG_DATAMATCH)));
        assertTrue(length.getMessage().startsWith("ioeventfd length"), length.getMessage());

        // then the wrap, before the flags
        final KvmException wrap = assertErrno(Errno.EINVAL,
            () -> ioeventfds.assign(new KvmIoEventFd(1, -1L, 4, null, 0x20)));
        assertTrue(wrap.getMessage().startsWith("ioeventfd address range wraps"), wrap.getMessage());

        // then the flag mask, before datamatch with length 0
        final KvmException flags = assertErrno(Errno.EINVAL,
            () -> ioeventfds.assign(new KvmIoEventFd(1, ADDR, 0, null, 0x20 | KVM_IOEVENTFD_FLAG_DATAMATCH)));
        assertTrue(flags.getMessage().startsWith("ioeventfd has unknown flags"), flags.getMessage());

        // then datamatch with length 0, before the eventfd
        final KvmException datamatch = assertErrno(Errno.EINVAL,
            () -> ioeventfds.assign(new KvmIoEventFd(1, ADDR, 0, null, KVM_IOEVENTFD_FLAG_DATAMATCH)));
        assertTrue(datamatch.getMessage().startsWith("ioeventfd with length 0"), datamatch.getMessage());

        // the eventfd before the collision
        ioeventfds.assign(mmio(ADDR, 4, kick));
        assertErrno(Errno.EBADF, () -> ioeventfds.assign(new KvmIoEventFd(0, ADDR, 4, null, 0)));

        // the collision before the device limit
        fillWithDevices(Bus.MMIO);
        assertErrno(Errno.EEXIST, () -> ioeventfds.assign(mmio(ADDR, 4, kick)));
        assertErrno(Errno.ENOSPC, () -> ioeventfds.assign(mmio(ADDR + 8, 4, kick)));
    }

    @Test
    void shouldNameTheErrnoAndTheRequestInTheMessage()
    {
        ioeventfds.assign(mmio(ADDR, 2, kick));
        final KvmException e = assertErrno(Errno.EEXIST, () -> ioeventfds.assign(mmio(ADDR, 2, kick)));
        assertEquals("ioeventfd collides with one already assigned: errno=EEXIST, bus=MMIO, addr=0xfe000000, len=2, " +
            "flags=0x0, datamatch=0x0", e.getMessage());
    }

    @Test
    void shouldFailWithEnospcWhenTheBusIsFull()
    {
        fillWithDevices(Bus.PIO);
        assertErrno(Errno.ENOSPC, () -> ioeventfds.assign(pio(0x60, 2, kick)));
        assertEquals(0, ioeventfds.size());
        assertEquals(0, buses.ioeventfdCount(Bus.PIO));
    }

    @Test
    void shouldFailWithEnomemWhenTheBusWasRemoved()
    {
        final RecordingDevice dev = new RecordingDevice("dev", true, new ArrayList<>());
        buses.register(Bus.MMIO, 0, 1, dev);
        buses.injectShrinkFailure();
        assertErrno(Errno.ENOMEM, () -> buses.unregister(Bus.MMIO, dev));

        assertErrno(Errno.ENOMEM, () -> ioeventfds.assign(mmio(ADDR, 4, kick)));
        assertEquals(0, ioeventfds.size());
    }

    @Test
    void shouldNotCheckAlignment()
    {
        ioeventfds.assign(mmio(ADDR + 1, 4, kick));
        ioeventfds.assign(mmio(ADDR + 0x13, 8, kick));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR + 1, 4, 0));
    }

    @Test
    void shouldAcceptDatamatchWiderThanTheLength()
    {
        ioeventfds.assign(mmioMatch(ADDR, 1, 0x1FA, kick));
        assertEquals(1, ioeventfds.size());
    }

    @Test
    void shouldAddSeparateFastTwinForLengthZeroMmio()
    {
        ioeventfds.assign(mmio(ADDR, 0, kick));
        assertEquals(2, ioeventfds.size(), "two objects in kvm->ioeventfds");
        assertEquals(1, buses.deviceCount(Bus.MMIO));
        assertEquals(1, buses.deviceCount(Bus.FAST_MMIO));
        assertEquals(1, buses.ioeventfdCount(Bus.MMIO));
        assertEquals(1, buses.ioeventfdCount(Bus.FAST_MMIO));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.FAST_MMIO, ADDR, 0, 0));
        assertEquals(IoBuses.HANDLED, buses.write(Bus.MMIO, ADDR, 2, 0));
        assertEquals(2, kick.signals());
    }

    @Test
    void shouldNotAddFastTwinForLengthZeroPioOrCcwOrForLengthFourMmio()
    {
        ioeventfds.assign(pio(0x60, 0, kick));
        ioeventfds.assign(ccw(0x10, 0, kick));
        ioeventfds.assign(mmio(ADDR, 4, kick));
        assertEquals(3, ioeventfds.size());
        assertEquals(0, buses.deviceCount(Bus.FAST_MMIO));
    }

    @Test
    void shouldUndoTheMmioAssignWhenTheFastTwinFails()
    {
        fillWithDevices(Bus.FAST_MMIO);
        assertErrno(Errno.ENOSPC, () -> ioeventfds.assign(mmio(ADDR, 0, kick)));
        assertEquals(0, ioeventfds.size());
        assertEquals(0, buses.deviceCount(Bus.MMIO));
        assertEquals(0, buses.ioeventfdCount(Bus.MMIO));
        assertEquals(1, ioeventfds.releases(), "the MMIO object was deassigned and released");
        assertEquals(IoBuses.NOT_HANDLED, buses.write(Bus.MMIO, ADDR, 4, 0));
    }

    @Test
    void shouldAssignThroughTheIoctlDispatch()
    {
        ioeventfds.ioeventfd(mmio(ADDR, 4, kick));
        assertEquals(1, ioeventfds.size());
        ioeventfds.ioeventfd(mmio(ADDR, 4, kick).deassigning());
        assertEquals(0, ioeventfds.size());
    }

    private void fillWithDevices(final Bus bus)
    {
        final List<String> log = new ArrayList<>();
        for (int i = 0; i < IoBuses.NR_IOBUS_DEVS; i++)
        {
            buses.register(bus, 0x10_0000L + i, 1, new RecordingDevice("d" + i, false, log));
        }
    }
}
