/**
 * Test support shipped in virtio-core's test-jar: the device contract every device type runs against itself
 * ({@link io.jvirtio.virtio.testkit.VirtioDeviceContractTest}), and the host-health kit every bad-input test uses
 * ({@link io.jvirtio.virtio.testkit.HostHealth}: no exception out of a worker or a vCPU, no write outside the guest
 * RAM a test set up, bounded work per kick, other devices unaffected).
 */
package io.jvirtio.virtio.testkit;
