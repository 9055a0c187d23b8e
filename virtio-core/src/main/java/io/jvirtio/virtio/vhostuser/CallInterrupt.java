package io.jvirtio.virtio.vhostuser;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.virtio.VirtioInterrupt;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The {@link VirtioInterrupt} of a vhost-user back-end: a used buffer notification is a signal of the ring's call
 * fd (SET_VRING_CALL), which the front-end (or KVM, through an irqfd) turns into the guest's interrupt. A
 * configuration change notification needs the back-end channel (VHOST_USER_BACKEND_CONFIG_CHANGE_MSG), which this
 * back-end does not offer: it is counted ({@link VhostUserCounter#CONFIG_CHANGE_NOT_SENT}) and dropped.
 * <p>
 * The front-end may replace a call fd while the ring runs (QEMU does when the guest masks a vector); the worker reads
 * the current one with one volatile load, and a signal of an fd closed meanwhile does nothing.
 * <p>
 * Thread safety: {@link #signalQueue} on any worker thread, allocation- and lock-free; {@link #setCall} on the
 * connection thread.
 */
public final class CallInterrupt implements VirtioInterrupt
{
    private final AtomicReferenceArray<EventFd> calls;
    private final VhostUserCounters counters;

    /**
     * @param rings    the number of rings.
     * @param counters where dropped notifications are counted.
     */
    public CallInterrupt(final int rings, final VhostUserCounters counters)
    {
        this.calls = new AtomicReferenceArray<>(rings);
        this.counters = counters;
    }

    /**
     * @param ring the ring index, in range.
     * @param call its new call fd, or null for none.
     * @return the previous call fd, or null; the caller closes it.
     */
    public EventFd setCall(final int ring, final EventFd call)
    {
        return calls.getAndSet(ring, call);
    }

    @Override
    public void signalQueue(final int queueIndex)
    {
        final EventFd call = queueIndex >= 0 && queueIndex < calls.length() ? calls.get(queueIndex) : null;
        if (call == null)
        {
            counters.increment(VhostUserCounter.CALL_DROPPED);
            return;
        }
        call.signal();
    }

    @Override
    public void signalConfig()
    {
        counters.increment(VhostUserCounter.CONFIG_CHANGE_NOT_SENT);
    }
}
