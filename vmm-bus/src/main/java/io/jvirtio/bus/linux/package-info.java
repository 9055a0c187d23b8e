/**
 * Linux system calls through the FFM API, returning {@code -errno} instead of throwing ({@link
 * io.jvirtio.bus.linux.Libc}), and the Unix-domain sockets with descriptor passing (SCM_RIGHTS) that a vhost-user
 * back-end talks over ({@link io.jvirtio.bus.linux.UnixSocket}, {@link io.jvirtio.bus.linux.UnixServerSocket}).
 */
package io.jvirtio.bus.linux;
