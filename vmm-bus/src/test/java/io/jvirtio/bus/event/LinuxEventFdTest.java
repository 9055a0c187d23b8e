package io.jvirtio.bus.event;

import io.jvirtio.bus.linux.Libc;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What only the kernel eventfd does: a real descriptor that other code shares, adoption of a received descriptor,
 * saturation at 2^64-2 on signal, and no in-JVM wait queue.
 */
class LinuxEventFdTest
{
    @BeforeEach
    void requireLinux()
    {
        assumeTrue(Libc.isAvailable(), Libc.unavailableReason());
    }

    @Test
    void shouldShareCounterWithAnyoneHoldingTheDescriptor()
    {
        try (LinuxEventFd eventFd = LinuxEventFd.create(false); Arena arena = Arena.ofConfined())
        {
            assertTrue(eventFd.fd() >= 0);
            final MemorySegment value = arena.allocate(ValueLayout.JAVA_LONG);
            value.set(ValueLayout.JAVA_LONG, 0, 41);
            assertEquals(Long.BYTES, Libc.write(eventFd.fd(), value, Long.BYTES), "a raw write(2) on fd()");
            eventFd.signal();
            assertEquals(Long.BYTES, Libc.read(eventFd.fd(), value, Long.BYTES), "a raw read(2) on fd()");
            assertEquals(42, value.get(ValueLayout.JAVA_LONG, 0));
            assertEquals(0, eventFd.tryRead());
        }
    }

    @Test
    void shouldWrapDescriptorWhenAdopted()
    {
        final int fd = Libc.eventfd(3, Libc.EFD_CLOEXEC);
        assertTrue(fd >= 0);
        try (LinuxEventFd adopted = LinuxEventFd.adopt(fd))
        {
            assertEquals(fd, adopted.fd());
            assertFalse(adopted.isSemaphore());
            assertEquals(3, adopted.tryRead());
            assertEquals(0, adopted.tryRead(), "made non-blocking: an empty read returns 0 instead of sleeping");
        }
    }

    @Test
    void shouldDetectSemaphoreModeWhenAdopted()
    {
        final int fd = Libc.eventfd(2, Libc.EFD_CLOEXEC | Libc.EFD_SEMAPHORE);
        assertTrue(fd >= 0);
        try (LinuxEventFd adopted = LinuxEventFd.adopt(fd))
        {
            assertTrue(adopted.isSemaphore());
            assertEquals(1, adopted.tryRead());
            assertEquals(1, adopted.tryRead());
            assertEquals(0, adopted.tryRead());
        }
    }

    @Test
    void shouldRefuseToAdoptWhatIsNotAnEventFd()
    {
        final int memfd = Libc.memfdCreate("not-an-eventfd", Libc.MFD_CLOEXEC);
        assertTrue(memfd >= 0);
        try
        {
            assertThrows(IllegalArgumentException.class, () -> LinuxEventFd.adopt(memfd));
        }
        finally
        {
            Libc.close(memfd);
        }
        assertThrows(IllegalArgumentException.class, () -> LinuxEventFd.adopt(-1));
    }

    @Test
    void shouldStayAtMaxCountWhenSignalledAtMaxCount()
    {
        try (LinuxEventFd eventFd = LinuxEventFd.create(false))
        {
            assertTrue(eventFd.tryWrite(EventFd.MAX_COUNT));
            eventFd.signal();
            assertEquals(0, eventFd.signalErrors(), "EAGAIN at the ceiling is saturation, not an error");
            assertEquals(EventFd.MAX_COUNT, eventFd.tryRead(), "a write(2) of 1 cannot pass 2^64-2");
        }
    }

    @Test
    void shouldRefuseWaitersBecauseKernelEventFdsAreWaitedOnWithEpoll()
    {
        try (LinuxEventFd eventFd = LinuxEventFd.create(false))
        {
            final EventFdWaiter waiter = ignored ->
            {
            };
            assertThrows(UnsupportedOperationException.class, () -> eventFd.addWaiter(waiter));
            eventFd.removeWaiter(waiter);
        }
    }

    @Test
    void shouldCloseDescriptorWhenClosed() throws IOException
    {
        final LinuxEventFd eventFd = LinuxEventFd.create(false);
        final int fd = eventFd.fd();
        final String identity = eventFdId(fd);
        assertFalse(identity.isEmpty(), "fdinfo names the eventfd while it is open");
        eventFd.close();
        assertTrue(eventFd.isClosed());
        assertNotEquals(identity, eventFdId(fd), "the descriptor no longer refers to this eventfd");
        eventFd.signal();
        assertEquals(0, eventFd.signalErrors(), "a closed eventfd's signal does nothing");
        assertFalse(eventFd.isReadable());
    }

    /** @return the {@code eventfd-id} line of the descriptor's fdinfo, or "" if it is closed or not an eventfd. */
    private static String eventFdId(final int fd) throws IOException
    {
        final Path fdinfo = Path.of("/proc/self/fdinfo", Integer.toString(fd));
        if (!Files.exists(fdinfo))
        {
            return "";
        }
        try (Stream<String> lines = Files.lines(fdinfo))
        {
            return lines.filter(line -> line.startsWith("eventfd-id:")).findFirst().orElse("");
        }
        catch (final NoSuchFileException closedMeanwhile)
        {
            return "";
        }
    }
}
