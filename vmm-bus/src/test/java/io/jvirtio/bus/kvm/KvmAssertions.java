package io.jvirtio.bus.kvm;

import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Assertions shared by the KVM tests. */
final class KvmAssertions
{
    private KvmAssertions()
    {
    }

    /**
     * Asserts that {@code call} fails with a {@link KvmException} carrying {@code expected}, whose message names it.
     *
     * @return the exception, for further checks.
     */
    static KvmException assertErrno(final Errno expected, final Executable call)
    {
        return assertErrno(expected, call, "");
    }

    /**
     * As {@link #assertErrno(Errno, Executable)}, with {@code why} in the failure message.
     *
     * @return the exception, for further checks.
     */
    static KvmException assertErrno(final Errno expected, final Executable call, final String why)
    {
        final KvmException e = assertThrows(KvmException.class, call, why);
        assertEquals(expected.number(), e.errno(), why + ": " + e.getMessage());
        assertTrue(e.is(expected), e.getMessage());
        assertTrue(e.getMessage().contains("errno=" + expected.name()), e.getMessage());
        return e;
    }

    /** A wildcard MMIO request. */
    static KvmIoEventFd mmio(final long addr, final int len, final CountingEventFd eventFd)
    {
        return new KvmIoEventFd(0, addr, len, eventFd, 0);
    }

    /** A DATAMATCH MMIO request. */
    static KvmIoEventFd mmioMatch(final long addr, final int len, final long datamatch, final CountingEventFd eventFd)
    {
        return new KvmIoEventFd(datamatch, addr, len, eventFd, KvmIoEventFd.KVM_IOEVENTFD_FLAG_DATAMATCH);
    }

    /** A wildcard PIO request. */
    static KvmIoEventFd pio(final long port, final int len, final CountingEventFd eventFd)
    {
        return new KvmIoEventFd(0, port, len, eventFd, KvmIoEventFd.KVM_IOEVENTFD_FLAG_PIO);
    }

    /** A wildcard VIRTIO_CCW_NOTIFY request. */
    static KvmIoEventFd ccw(final long subchannel, final int len, final CountingEventFd eventFd)
    {
        return new KvmIoEventFd(0, subchannel, len, eventFd, KvmIoEventFd.KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY);
    }
}
