/**
 * Test support shipped in virtio-core's test-jar: the device contract every device type runs against itself.
 */
package io.jvirtio.virtio.testkit;
