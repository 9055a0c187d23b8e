/**
 * The guest side: a virtio driver written to the spec's driver requirements (virtio-v1.2 §3.1 "Device
 * Initialization", §2.7.13, §2.7.14), driving devices only through a {@link io.jvirtio.bus.vm.Vcpu}, so every register
 * access and every kick is a real exit. {@link io.jvirtio.virtio.driver.VirtioDriver} is the transport-independent
 * core; each transport's driver side implements {@link io.jvirtio.virtio.driver.DriverTransport}.
 */
package io.jvirtio.virtio.driver;
