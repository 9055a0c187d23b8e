package io.jvirtio.bus.event;

import io.jvirtio.bus.linux.Libc;
import org.junit.jupiter.api.BeforeEach;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The eventfd(2) contract for {@link LinuxEventFd}. */
class LinuxEventFdContractTest extends EventFdContractTest
{
    @BeforeEach
    void requireLinux()
    {
        assumeTrue(Libc.isAvailable(), Libc.unavailableReason());
    }

    @Override
    protected EventFd newEventFd(final boolean semaphore)
    {
        return semaphore ? EventFds.linuxSemaphore() : EventFds.linux();
    }
}
