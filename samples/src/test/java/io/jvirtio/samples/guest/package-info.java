/**
 * The real-guest test tier: Linux's own virtio drivers judge jvirtio's devices.
 * <p>
 * {@link io.jvirtio.samples.guest.GuestKit} builds (once, cached) Debian's cloud kernel and a busybox initramfs whose
 * {@code /init} loads the virtio modules, runs a per-test script and powers off; {@link
 * io.jvirtio.samples.guest.QemuGuest} boots it under QEMU's TCG on microvm (virtio-mmio 1.x) or q35 (modern
 * virtio-pci on INTx) and reads the guest's {@code JV-RESULT key=value} lines from the serial console;
 * {@link io.jvirtio.samples.guest.GuestScripts} holds the guest commands and the host's side of their checks.
 * {@code BuiltinDevicesGuestTest} proves the tier on QEMU's own devices (and the responder and echo backends through
 * QEMU's UDP netdev); {@code VhostUserNetGuestTest} and {@code VhostUserBlkGuestTest} run the same commands against
 * jvirtio's devices behind {@code ./jvirtio vhost-user} ({@link io.jvirtio.samples.guest.GuestBackend}). The tests
 * carry the JUnit tag {@code guest}; each skips with one line when QEMU, the packages or the program are missing.
 */
package io.jvirtio.samples.guest;
