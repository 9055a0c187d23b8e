package io.jvirtio.virtio.queue;

/**
 * The per-queue event counters other than errors (errors are counted per {@link QueueError}). Read them with
 * {@link QueueCounters#get(QueueCounter)}.
 * <p>
 * Thread safety: immutable constants; any thread.
 */
public enum QueueCounter
{
    /** Chains popped and handed to the device. */
    CHAINS_POPPED,
    /** Chains completed: a used element was written. */
    CHAINS_COMPLETED,
    /** Chains handed back to the available ring unused ({@link VirtQueue#unpop(DescriptorChain)}). */
    CHAINS_UNPOPPED,
    /** Used elements made visible to the driver by a {@code used.idx} update. */
    USED_PUBLISHED,
    /** Completions dropped because the queue was broken: nothing was written. */
    COMPLETIONS_DISCARDED,
    /** Pops refused because the queue was broken. */
    POPS_REFUSED,
    /** Times the queue broke (each also counts one {@link QueueError}). */
    QUEUE_BROKEN,
    /** Times the device turned available buffer notifications off. */
    NOTIFICATIONS_SUPPRESSED,
    /** Times the re-check after re-enabling notifications found new chains: a kick that would have been lost. */
    RECHECK_FOUND_WORK,
    /** Used buffer notification decisions that said "interrupt". */
    INTERRUPTS_NEEDED,
    /** Used buffer notification decisions that said "no interrupt" (NO_INTERRUPT or {@code used_event}). */
    INTERRUPTS_SUPPRESSED,
    /** Zero-length buffer descriptors accepted and carried in a chain (never accessed). */
    ZERO_LENGTH_DESCRIPTORS,
    /** VIRTQ_DESC_F_WRITE found, and ignored, on a descriptor that points to an indirect table (§2.7.5.3.2). */
    INDIRECT_WRITE_FLAG_IGNORED,
    /** Enable requests refused because the configuration was invalid. */
    CONFIGS_REJECTED
}
