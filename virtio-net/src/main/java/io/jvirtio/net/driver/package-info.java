/**
 * The guest side of virtio-net, transport-neutral: posting receive buffers, sending frames and reassembling received
 * ones on the split rings of one queue pair.
 */
package io.jvirtio.net.driver;
