package io.jvirtio.bus.irq;

/**
 * {@code struct kvm_irq_ack_notifier}: told when the guest EOIs an interrupt that came from a GSI line. The irqfd
 * resampler uses it to de-assert its level-triggered line and signal the resamplefds (virt/kvm/eventfd.c).
 * <p>
 * Thread safety: called on the vCPU thread that signals the EOI, possibly on several at once; must be short, must not
 * block, throw or allocate.
 */
@FunctionalInterface
public interface AckNotifier
{
    /**
     * @param gsi the GSI whose interrupt was acknowledged.
     */
    void irqAcked(int gsi);
}
