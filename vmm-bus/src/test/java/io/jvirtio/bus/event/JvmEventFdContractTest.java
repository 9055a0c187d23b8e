package io.jvirtio.bus.event;

/** The eventfd(2) contract for {@link JvmEventFd}. */
class JvmEventFdContractTest extends EventFdContractTest
{
    @Override
    protected EventFd newEventFd(final boolean semaphore)
    {
        return semaphore ? EventFds.jvmSemaphore() : EventFds.jvm();
    }
}
