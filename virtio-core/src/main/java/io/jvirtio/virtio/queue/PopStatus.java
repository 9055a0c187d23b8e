package io.jvirtio.virtio.queue;

/**
 * What {@link VirtQueue#pop(DescriptorChain)} found. Returned instead of thrown so that no guest value can throw out of
 * a worker.
 * <p>
 * Thread safety: immutable constants; any thread.
 */
public enum PopStatus
{
    /** A validated chain is now in the cursor and in flight; complete or unpop it. */
    CHAIN,
    /** No chain is available. */
    EMPTY,
    /**
     * The queue is broken (now, or earlier): the driver broke a ring rule, {@link VirtQueue#brokenReason()} says
     * which. The queue refuses to pop or publish until it is reset.
     */
    BROKEN
}
