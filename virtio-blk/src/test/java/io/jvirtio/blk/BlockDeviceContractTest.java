package io.jvirtio.blk;

import io.jvirtio.blk.backend.MemoryBlockBackend;
import io.jvirtio.bus.guest.GuestAddressSpace;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.virtio.VirtioDevice;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.testkit.VirtioDeviceContractTest;

/** virtio-blk keeps the device contract; its request is a one-sector read of sector 0. */
class BlockDeviceContractTest extends VirtioDeviceContractTest
{
    @Override
    protected VirtioDevice newDevice()
    {
        return new BlockDevice(new MemoryBlockBackend(2048, false, "contract"), BlockDeviceConfig.defaults());
    }

    @Override
    protected int requestQueue()
    {
        return 0;
    }

    @Override
    protected int postRequest(final GuestMemory memory, final GuestAddressSpace space, final SplitQueueDriver queue)
    {
        final long header = space.allocate(BlockRequestLayout.HEADER_LENGTH, 64);
        final long data = space.allocate(VirtioBlk.SECTOR_SIZE, 64);
        final long status = space.allocate(1, 64);
        memory.putIntLE(header, VirtioBlk.VIRTIO_BLK_T_IN);
        memory.putIntLE(header + 4, 0);
        memory.putLongLE(header + 8, 0);
        return queue.post(new long[]{header, data, status},
            new long[]{BlockRequestLayout.HEADER_LENGTH, VirtioBlk.SECTOR_SIZE, 1}, 1, 2);
    }
}
