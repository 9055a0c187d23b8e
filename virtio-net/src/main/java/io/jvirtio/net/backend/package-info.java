/**
 * The virtio-net backend SPI and its implementations: where a device's frames go and come from.
 */
package io.jvirtio.net.backend;
