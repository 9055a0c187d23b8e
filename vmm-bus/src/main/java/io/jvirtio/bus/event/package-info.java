/**
 * eventfd(2) semantics in the JVM and through real Linux eventfds, and the poller a worker waits on.
 * <p>
 * {@link io.jvirtio.bus.event.EventFd} is the contract: an unsigned 64-bit counter that writes add to and reads
 * consume, with the kernel's edge cases. {@link io.jvirtio.bus.event.JvmEventFd} implements it lock-free in the JVM
 * (what the simulated VM's ioeventfds and irqfds use); {@link io.jvirtio.bus.event.LinuxEventFd} wraps a real
 * descriptor that /dev/kvm or another process can share; {@link io.jvirtio.bus.event.EventFds} creates either.
 * In-JVM eventfds carry wait-queue entries ({@link io.jvirtio.bus.event.EventFdWaiter}), the analogue of the
 * kernel's custom wait-queue entries that irqfd uses.
 * <p>
 * {@link io.jvirtio.bus.event.EventFdPoller} lets one worker wait on up to 64 eventfds of either kind and returns the
 * tokens that fired as a bitmask; an {@link io.jvirtio.bus.event.IdleStrategy}
 * ({@link io.jvirtio.bus.event.BusySpinIdleStrategy}, {@link io.jvirtio.bus.event.BackoffIdleStrategy},
 * {@link io.jvirtio.bus.event.ParkingIdleStrategy}) decides how long it spins and yields before it blocks.
 * <p>
 * Each type's Javadoc says which threads may call it.
 */
package io.jvirtio.bus.event;
