package io.jvirtio.virtio.queue;

/**
 * The device side of one virtqueue, whatever its ring format: what a device worker needs to take chains, hand them
 * back used, and decide about notifications in both directions (virtio-v1.2 §2.6 "Virtqueues"). The split ring
 * ({@link SplitQueue}) implements it; a packed ring can implement the same operations.
 * <p>
 * A worker drains a queue like this (guest errors come back as {@link PopStatus#BROKEN}, never as exceptions):
 * {@snippet :
 * int budget = queue.size();
 * while (budget-- > 0 && queue.pop(chain) == PopStatus.CHAIN)
 * {
 *     final int n = device.process(chain);
 *     queue.complete(chain, n);
 * }
 * queue.publish();
 * if (queue.needsInterrupt())
 * {
 *     irq.signal();
 * }
 * if (!queue.enableNotificationAndRecheck())
 * {
 *     sleep();
 * }
 * }
 * Thread safety: after activation a queue is owned by one worker thread; only that thread calls these methods
 * (except {@link #counters()}, which any thread may read).
 */
public interface VirtQueue
{
    /**
     * Takes the next available chain into {@code chain}, validating every ring rule on the way. Nothing here throws
     * for guest input and nothing allocates.
     *
     * @param chain the reusable cursor; its capacity must be at least {@link #size()}.
     * @return {@link PopStatus#CHAIN} with the chain in flight, {@link PopStatus#EMPTY}, or
     *     {@link PopStatus#BROKEN} (the cursor is then empty).
     * @throws IllegalStateException    if the queue is not active, or the cursor still holds a chain in flight on
     *                                  this queue (complete or unpop it first).
     * @throws IllegalArgumentException if the cursor is smaller than {@link #size()}.
     */
    PopStatus pop(DescriptorChain chain);

    /**
     * Hands a popped chain back to the driver as used, with the exact number of bytes written into its writable
     * buffers (virtio-v1.2 §2.7.8.2: an underestimate is allowed, an overestimate never). The driver sees it after
     * {@link #publish()}, so the device finishes every write into the buffers first (CVE-2021-3748). On a broken queue
     * nothing is written and the completion is counted as discarded. The cursor is emptied: a late write through it
     * writes nothing.
     *
     * @param chain        a chain popped from this queue and not yet completed.
     * @param bytesWritten bytes written, {@code 0 <= bytesWritten <= chain.writableBytes()}.
     * @throws IllegalStateException    if the chain is not in flight on this queue.
     * @throws IllegalArgumentException if {@code bytesWritten} is outside the writable part.
     */
    void complete(DescriptorChain chain, long bytesWritten);

    /**
     * {@link #complete(DescriptorChain, long)} with {@link DescriptorChain#bytesWritten()}.
     *
     * @param chain a chain popped from this queue and not yet completed.
     */
    default void complete(final DescriptorChain chain)
    {
        complete(chain, chain.bytesWritten());
    }

    /**
     * Gives the most recently popped chain back to the available ring unused, for example when a receive packet does
     * not fit (CVE-2015-7295: never half-consume a buffer). The next pop reads it again from guest memory.
     *
     * @param chain the chain returned by the latest pop, still in flight.
     * @throws IllegalStateException if it is not the latest popped chain or not in flight.
     */
    void unpop(DescriptorChain chain);

    /**
     * Makes every used element completed so far visible to the driver (one index update with release order). Does
     * nothing on a broken queue.
     */
    void publish();

    /**
     * Decides whether the driver wants a used buffer notification for what was published since the last decision
     * (NO_INTERRUPT, or {@code used_event} with VIRTIO_F_EVENT_IDX). False if nothing new was published or the queue
     * is broken. Call once after each {@link #publish()}.
     *
     * @return true if the worker should signal the queue's interrupt.
     */
    boolean needsInterrupt();

    /** Asks the driver not to send available buffer notifications (kicks) while the worker is draining. */
    void disableNotification();

    /**
     * Asks the driver for kicks again, then re-reads the available index: a chain made available between the last
     * pop and this call raised no kick, so the worker must loop instead of sleeping.
     *
     * @return true if chains are available (keep working); false if the worker may sleep until the next kick, or the
     *     queue is broken.
     */
    boolean enableNotificationAndRecheck();

    /** @return true once the driver broke a ring rule; cleared only by {@link #reset()}. */
    boolean isBroken();

    /** @return why the queue broke, or null if it is not broken. */
    QueueError brokenReason();

    /** Deactivates the queue, as a device reset does: clears indices, in-flight chains and the broken state. */
    void reset();

    /** @return the active Queue Size, N; 0 when not active. */
    int size();

    /** @return chains popped and not yet completed or unpopped. */
    int inFlight();

    /** @return the queue's counters, which survive reset. */
    QueueCounters counters();
}
