/**
 * The virtio-net device (device ID 1), its backends and its guest driver.
 */
package io.jvirtio.net;
