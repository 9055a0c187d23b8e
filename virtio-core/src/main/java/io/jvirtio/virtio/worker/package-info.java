/**
 * Device workers: the threads that own a device's queues after activation and service them when kicked.
 */
package io.jvirtio.virtio.worker;
