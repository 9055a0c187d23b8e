/**
 * The virtio-blk device (device ID 2), its backends and its guest driver.
 */
package io.jvirtio.blk;
