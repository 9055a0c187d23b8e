package io.jvirtio.net;

import io.jvirtio.bus.event.ParkingIdleStrategy;
import io.jvirtio.bus.guest.GuestAddressSpace;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.net.backend.EchoBackend;
import io.jvirtio.virtio.VirtioDevice;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.testkit.VirtioDeviceContractTest;

/** virtio-net keeps the device contract; its request is one transmitted frame on queue 1. */
class NetDeviceContractTest extends VirtioDeviceContractTest
{
    private static final int FRAME = 60;

    @Override
    protected VirtioDevice newDevice()
    {
        return new NetDevice(NetConfig.defaults(), EchoBackend.plain(), ParkingIdleStrategy.INSTANCE);
    }

    @Override
    protected int requestQueue()
    {
        return 1;
    }

    @Override
    protected int postRequest(final GuestMemory memory, final GuestAddressSpace space, final SplitQueueDriver queue)
    {
        final long buffer = space.allocate(NetHeaderLayout.LENGTH + FRAME, 64);
        memory.fill(buffer, NetHeaderLayout.LENGTH + FRAME, (byte)0);
        for (int i = 0; i < 6; i++)
        {
            memory.putByte(buffer + NetHeaderLayout.LENGTH + i, (byte)0xFF);
        }
        return queue.post(new long[]{buffer}, new long[]{NetHeaderLayout.LENGTH + FRAME}, 1, 0);
    }
}
