/**
 * A vhost-user back-end (QEMU docs/interop/vhost-user.rst): any {@link io.jvirtio.virtio.VirtioDevice} served to a
 * front-end such as QEMU over a Unix-domain socket. The front-end keeps the transport (virtio-mmio, virtio-pci) and
 * shares guest memory and eventfds; the device runs unchanged on its own workers, its queues in the shared memory,
 * its kicks the front-end's eventfds, its interrupts writes to the front-end's call eventfds.
 * <p>
 * {@link io.jvirtio.virtio.vhostuser.VhostUserServer} owns the socket and the connection thread;
 * {@link io.jvirtio.virtio.vhostuser.VhostUserBackend} answers the messages and activates and resets the device;
 * {@link io.jvirtio.virtio.vhostuser.MemoryTable} maps SET_MEM_TABLE and translates ring addresses;
 * {@link io.jvirtio.virtio.vhostuser.CallInterrupt} signals the call fds. Front-end errors close the connection and
 * are counted in {@link io.jvirtio.virtio.vhostuser.VhostUserCounters}; the server then waits for the next one.
 */
package io.jvirtio.virtio.vhostuser;
