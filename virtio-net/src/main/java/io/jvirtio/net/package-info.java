/**
 * The virtio-net device (device ID 1, virtio-v1.2 §5.1): {@link io.jvirtio.net.NetDevice}, its header and
 * configuration layouts, its control queue and its counters. Backends live in {@code io.jvirtio.net.backend}, the
 * guest driver in {@code io.jvirtio.net.driver}.
 * <p>
 * A device with the echo backend, and one frame through it from the guest's side (the transport, here played by the
 * caller, activates the device at DRIVER_OK and turns {@code kick(q)} into the queue's ioeventfd):
 * {@snippet :
 * NetDevice device = new NetDevice(NetConfig.defaults(), EchoBackend.plain(), ParkingIdleStrategy.INSTANCE);
 * device.attach(host);
 * device.activate(context);                     // one worker per queue pair starts
 *
 * NetQueuePairDriver net = new NetQueuePairDriver(memory, rxDriver, txDriver, area, 1526, 1514, false);
 * net.fillRx();
 * if (net.rxNeedsKick())
 * {
 *     kick(0);
 * }
 * net.send(frame, 0, 60);
 * if (net.txNeedsKick())
 * {
 *     kick(1);
 * }
 * int length = net.receive(received, 0);        // NO_FRAME until the echo has come back
 *
 * device.reset();                               // returns once no worker touches guest memory
 * }
 * The test {@code NetDeviceExampleTest} runs this code.
 */
package io.jvirtio.net;
