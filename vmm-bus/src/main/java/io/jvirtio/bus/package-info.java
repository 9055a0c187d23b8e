/**
 * The VM side of jvirtio: guest memory, eventfds, KVM's I/O buses with ioeventfd and irqfd, vCPUs and the
 * VMX/SVM-style exit path. It knows nothing of virtio.
 */
package io.jvirtio.bus;
