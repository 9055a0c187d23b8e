/**
 * Linux system calls through the FFM API, returning {@code -errno} instead of throwing.
 */
package io.jvirtio.bus.linux;
