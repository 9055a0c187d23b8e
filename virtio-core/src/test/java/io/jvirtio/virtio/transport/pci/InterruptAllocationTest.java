package io.jvirtio.virtio.transport.pci;

import io.jvirtio.bus.vm.SimulatedVm;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.virtio.DeviceContext;
import io.jvirtio.virtio.DeviceHost;
import io.jvirtio.virtio.VirtioDevice;
import io.jvirtio.virtio.VirtioInterrupt;
import io.jvirtio.virtio.transport.QueueArea;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The interrupt half of the data path allocates nothing: a device's {@link VirtioInterrupt#signalQueue} with MSI-X
 * enabled and the vector masked (the signal collects in the vector's eventfd) and with a NO_VECTOR queue.
 */
class InterruptAllocationTest
{
    private static final int SIGNALS = 100_000;
    private static final int MEASURED_BATCHES = 3;

    /** A one-queue device that keeps its activation context. */
    private static final class ContextDevice implements VirtioDevice
    {
        volatile DeviceContext context;

        @Override
        public int deviceId()
        {
            return 0x3e;
        }

        @Override
        public long deviceFeatures()
        {
            return 0;
        }

        @Override
        public String checkFeatures(final long driverFeatures)
        {
            return null;
        }

        @Override
        public int queueCount()
        {
            return 2;
        }

        @Override
        public int queueMaxSize(final int queueIndex)
        {
            return 16;
        }

        @Override
        public int configSize()
        {
            return 0;
        }

        @Override
        public long readConfig(final int offset, final int size)
        {
            return 0;
        }

        @Override
        public void writeConfig(final int offset, final int size, final long value)
        {
        }

        @Override
        public void attach(final DeviceHost host)
        {
        }

        @Override
        public void activate(final DeviceContext activated)
        {
            context = activated;
        }

        @Override
        public void reset()
        {
            context = null;
        }
    }

    @Test
    void shouldAllocateNothingWhenSignallingQueues()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        final ContextDevice device = new ContextDevice();
        try (SimulatedVm vm = SimulatedVm.create(VmConfig.defaults().withMemoryBytes(8L << 20));
            VirtioPciTransport transport = new VirtioPciTransport(vm, device))
        {
            final int cap = transport.msix().capabilityOffset();
            // msi-x enabled, every entry still masked
            transport.function().writeConfig(cap + 2, 2, 0x8000);
            transport.core().writeStatus(1);
            transport.core().writeStatus(3);
            transport.core().writeDriverFeatures(1, 1);
            transport.core().writeStatus(11);
            final long ring = vm.guestAddressSpace().allocate(4096, 4096);
            transport.core().writeQueueAddress(0, QueueArea.DESC, false, (int)ring);
            transport.core().writeQueueAddress(0, QueueArea.DRIVER, false, (int)ring + 256);
            transport.core().writeQueueAddress(0, QueueArea.DEVICE, false, (int)ring + 512);
            transport.core().writeQueueReady(0, true);
            transport.writeStructure(CommonCfgLayout.QUEUE_MSIX_VECTOR, 2, 1);
            transport.writeStructure(CommonCfgLayout.DEVICE_STATUS, 1, 15);
            final VirtioInterrupt interrupt = device.context.interrupt();
            final long tid = Thread.currentThread().threadId();
            for (int i = 0; i < 5; i++)
            {
                signal(interrupt);
            }
            final long[] allocated = new long[MEASURED_BATCHES];
            for (int batch = 0; batch < MEASURED_BATCHES; batch++)
            {
                final long before = threads.getThreadAllocatedBytes(tid);
                signal(interrupt);
                allocated[batch] = threads.getThreadAllocatedBytes(tid) - before;
                if (allocated[batch] == 0)
                {
                    assertTrue(transport.msix().eventFd(1).isReadable(), "queue 0's signals collected while masked");
                    return;
                }
            }
            fail("every batch allocated: bytes=" + Arrays.toString(allocated));
        }
    }

    private static void signal(final VirtioInterrupt interrupt)
    {
        for (int i = 0; i < SIGNALS; i++)
        {
            interrupt.signalQueue(0);
            interrupt.signalQueue(1);
        }
    }
}
