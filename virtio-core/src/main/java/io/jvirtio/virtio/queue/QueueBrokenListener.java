package io.jvirtio.virtio.queue;

/**
 * Told once when a queue breaks, so the layer above can set DEVICE_NEEDS_RESET and send a configuration change
 * notification (virtio-v1.2 §2.1.2; conformance checklist item 6).
 * <p>
 * Thread safety: called on the thread that owns the queue (its worker), from inside
 * {@link VirtQueue#pop(DescriptorChain)}. It must not throw and must not call back into the queue.
 */
@FunctionalInterface
public interface QueueBrokenListener
{
    /** A listener that does nothing. */
    QueueBrokenListener NONE = (final VirtQueue queue, final QueueError reason) ->
    {
    };

    /**
     * @param queue  the queue that broke.
     * @param reason the rule the driver broke.
     */
    void onBroken(VirtQueue queue, QueueError reason);
}
