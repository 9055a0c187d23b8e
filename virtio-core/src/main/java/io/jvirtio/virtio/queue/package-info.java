/**
 * Virtqueues: the split ring of virtio-v1.2 §2.7 "Split Virtqueues", device side and driver side.
 * <p>
 * <b>Device side.</b> {@link io.jvirtio.virtio.queue.VirtQueue} is what a device worker uses, whatever the ring
 * format; {@link io.jvirtio.virtio.queue.SplitQueue} implements it for the split ring and validates every ring rule
 * of the conformance checklist on the way. Chains are read into a reusable
 * {@link io.jvirtio.virtio.queue.DescriptorChain} cursor, once per descriptor. Guest errors come back as
 * {@link io.jvirtio.virtio.queue.PopStatus#BROKEN} with a {@link io.jvirtio.virtio.queue.QueueError}, a counter in
 * {@link io.jvirtio.virtio.queue.QueueCounters} and a call to the
 * {@link io.jvirtio.virtio.queue.QueueBrokenListener}; they are never thrown. The data path (pop, complete,
 * publish, notification decisions) allocates nothing and takes no lock.
 * <p>
 * <b>Driver side.</b> {@link io.jvirtio.virtio.queue.SplitQueueDriver} lays the rings out in guest memory and posts
 * and reaps chains as a well-behaved guest driver does; {@link io.jvirtio.virtio.queue.RawSplitRing} writes any
 * value into any ring field, for hostile-driver tests.
 * <p>
 * <b>Layouts.</b> {@link io.jvirtio.virtio.queue.DescriptorLayout},
 * {@link io.jvirtio.virtio.queue.AvailRingLayout} and {@link io.jvirtio.virtio.queue.UsedRingLayout} give the
 * offsets and sizes; {@link io.jvirtio.virtio.queue.EventIdx} is the VIRTIO_F_EVENT_IDX test.
 * <p>
 * <b>Threads.</b> A device-side queue is configured on the control thread and, after activation, owned by exactly
 * one worker thread until reset; its counters can be read from any thread. A driver-side queue is owned by the guest
 * thread that plays the driver. The two sides share nothing but guest memory, ordered by the acquire and release
 * accesses and full fences that §2.7.13 and §2.7.8 ask for.
 */
package io.jvirtio.virtio.queue;
