/**
 * A simulated machine with virtio devices on chosen transports and their guest drivers: the embedder's entry point.
 */
package io.jvirtio.virtio.machine;
