/**
 * The hostile-driver suite of the checklist's bad-input list (virtio-checklist §6: transport and registers, ring
 * level, resources and state) and its CVE table (§7), driven end to end: a guest driver on vCPU 0 writes registers
 * through exits and rings in guest RAM, kicks through the ioeventfds, and the device's worker runs on its own thread.
 * Every test asserts the outcome its item prescribes and a healthy host
 * ({@link io.jvirtio.virtio.testkit.HostHealth}); {@link io.jvirtio.virtio.hostile.HostileRig} is the machine and
 * the register and ring access the tests share. Unit-level checks of the same rules, below the exit path, are in
 * {@code io.jvirtio.virtio.queue.BadRingInputTest} and the transports' checklist tests.
 */
package io.jvirtio.virtio.hostile;
