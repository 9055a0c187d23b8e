package io.jvirtio.virtio.worker;

/**
 * A device's data plane for the queues one {@link DeviceWorker} owns.
 * <p>
 * Thread safety: called only on the worker's thread.
 */
@FunctionalInterface
public interface QueueHandler
{
    /**
     * Processes queue {@code queueIndex}: pop up to {@code budget} chains, complete and publish them, signal the
     * interrupt if the driver wants it, then re-enable notifications and re-check.
     *
     * @param queueIndex the queue to service.
     * @param budget     the most chains to process in this call, so that a queue under a kick storm cannot starve
     *                   the others.
     * @return true if the queue still has work (budget used up, or chains arrived while notifications were being
     *     re-enabled): the worker calls again without waiting for a kick. False to wait for the next kick.
     */
    boolean process(int queueIndex, int budget);
}
