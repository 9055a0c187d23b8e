package io.jvirtio.virtio.testkit;

import io.jvirtio.bus.guest.GuestAddressSpace;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.VirtioDevice;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.driver.DriverTransport;
import io.jvirtio.virtio.driver.VirtioDriver;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.machine.VirtioMachine;
import io.jvirtio.virtio.queue.RawSplitRing;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The contract every device type keeps, run by each device against itself (JCTools' contract-test shape: one abstract
 * class, one subclass per implementation). Everything goes through a real transport (virtio-mmio with the wildcard
 * notify) and the guest driver, so every register access and kick is an exit:
 * <ul>
 *     <li>negotiation: every offered feature can be accepted together with VERSION_1, and FEATURES_OK sticks;</li>
 *     <li>a valid request completes after DRIVER_OK;</li>
 *     <li>reset under traffic: once the status reads 0 the device writes nothing more to guest memory, however the
 *     driver keeps posting and kicking;</li>
 *     <li>a broken ring: DEVICE_NEEDS_RESET and a configuration change notification, and after a reset the device
 *     works again.</li>
 * </ul>
 * Thread safety: JUnit runs each test on one thread, which plays the guest.
 */
public abstract class VirtioDeviceContractTest
{
    /** Entries of the queue the contract drives. */
    protected static final int QUEUE_SIZE = 64;
    private static final int MAX_WAITS = 200;

    private VirtioMachine machine;
    private VirtioDriver driver;
    private VirtioDevice device;

    /** @return a fresh device to test (its backend included). */
    protected abstract VirtioDevice newDevice();

    /** @return the index of a queue that takes requests the device completes without any outside event. */
    protected abstract int requestQueue();

    /**
     * Posts one valid request on {@code queue} (not published), with buffers allocated from {@code space}.
     *
     * @return the chain's head, as {@link SplitQueueDriver#post} returned it.
     */
    protected abstract int postRequest(GuestMemory memory, GuestAddressSpace space, SplitQueueDriver queue);

    @BeforeEach
    final void startMachine()
    {
        device = newDevice();
        machine = VirtioMachine.create(VmConfig.defaults().withMemoryBytes(32L << 20));
        driver = machine.attach(device, TransportKind.MMIO_WILDCARD).driver();
    }

    @AfterEach
    final void stopMachine()
    {
        machine.close();
    }

    /** Negotiates everything the device offers, sets up every queue, DRIVER_OK; returns the request queue. */
    private SplitQueueDriver start()
    {
        driver.initialize(device.deviceFeatures());
        SplitQueueDriver request = null;
        for (int q = 0; q < device.queueCount(); q++)
        {
            final SplitQueueDriver queue = driver.setupQueue(q, Math.min(QUEUE_SIZE, device.queueMaxSize(q)));
            if (q == requestQueue())
            {
                request = queue;
            }
        }
        driver.driverOk();
        return request;
    }

    private int reap(final SplitQueueDriver queue) throws InterruptedException
    {
        // bound: MAX_WAITS interrupt waits of at most 100 ms each
        for (int i = 0; i < MAX_WAITS; i++)
        {
            final int head = queue.reap();
            if (head != SplitQueueDriver.NOTHING_USED)
            {
                return head;
            }
            if (!queue.enableInterruptsAndCheck())
            {
                driver.awaitInterrupt(100, TimeUnit.MILLISECONDS);
            }
        }
        return fail("the device did not complete the request");
    }

    @Test
    void shouldAcceptEveryOfferedFeatureWithVersion1()
    {
        final long offered = driver.transport().readDeviceFeatures();
        assertTrue(VirtioFeatures.has(offered, VirtioFeatures.VIRTIO_F_VERSION_1), "VERSION_1 is always offered");
        assertEquals(offered, driver.initialize(offered), "the whole offer is a valid set");
        assertEquals(DeviceStatus.FEATURES_OK, driver.transport().readStatus() & DeviceStatus.FEATURES_OK);
    }

    @Test
    void shouldRefuseFeaturesOkWithoutVersion1()
    {
        final DriverTransport transport = driver.transport();
        transport.writeStatus(0);
        transport.writeStatus(DeviceStatus.ACKNOWLEDGE);
        transport.writeStatus(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        transport.writeDriverFeatures(device.deviceFeatures() & ~VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1));
        transport.writeStatus(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK);
        assertEquals(0, transport.readStatus() & DeviceStatus.FEATURES_OK, "a legacy set does not stick");
    }

    @Test
    void shouldCompleteRequestAfterDriverOk() throws InterruptedException
    {
        final SplitQueueDriver queue = start();
        final int head = postRequest(machine.vm().memory(), machine.vm().guestAddressSpace(), queue);
        assertNotEquals(SplitQueueDriver.NO_SPACE, head);
        driver.kick(requestQueue());
        assertEquals(head, reap(queue));
    }

    @Test
    void shouldNotTouchGuestMemoryAfterResetUnderTraffic() throws InterruptedException
    {
        final SplitQueueDriver queue = start();
        final GuestMemory memory = machine.vm().memory();
        final GuestAddressSpace space = machine.vm().guestAddressSpace();
        // traffic: keep the queue full while the device works
        for (int round = 0; round < 20; round++)
        {
            while (queue.reap() != SplitQueueDriver.NOTHING_USED)
            {
                assertTrue(queue.outstanding() >= 0);
            }
            while (queue.freeDescriptors() >= 8)
            {
                postRequest(memory, space, queue);
            }
            driver.kick(requestQueue());
        }
        driver.reset();
        assertEquals(0, driver.transport().readStatus(), "reset completed");
        // work the device must never see: posted and published after the reset, before any re-initialization
        while (queue.freeDescriptors() >= 8)
        {
            postRequest(memory, space, queue);
        }
        queue.publish();
        final int usedAfterReset = queue.raw().usedIdx();
        final long before = checksum(memory);
        // the driver misbehaves: it keeps kicking a queue that no longer exists
        for (int i = 0; i < 100; i++)
        {
            driver.transport().notifyQueue(requestQueue());
        }
        Thread.sleep(50);
        assertEquals(usedAfterReset, queue.raw().usedIdx(), "no used element after reset");
        assertEquals(before, checksum(memory), "guest RAM unchanged by the device after reset");
    }

    /**
     * A checksum of guest RAM, word by word, up to the guest kernel's reserved area (page tables and the vCPU's code
     * pages, which the guest's own instructions rewrite as it runs).
     */
    private static long checksum(final GuestMemory memory)
    {
        long sum = 0;
        final long size = memory.regions().getFirst().size() - GuestAddressSpace.RESERVED_BYTES;
        for (long gpa = 0; gpa < size; gpa += Long.BYTES)
        {
            sum = sum * 31 + memory.getLongLE(gpa);
        }
        return sum;
    }

    @Test
    void shouldNeedResetAndNotifyConfigChangeWhenRingIsBroken() throws InterruptedException
    {
        final SplitQueueDriver queue = start();
        final RawSplitRing raw = queue.raw();
        // an available index that jumps by more than the queue size: virtio-v1.2 §2.7.13.3, a broken ring
        raw.availIdx(raw.availIdx() + queue.size() + 1);
        driver.transport().notifyQueue(requestQueue());
        int causes = 0;
        // bound: MAX_WAITS interrupt waits of at most 100 ms each
        for (int i = 0; i < MAX_WAITS && (causes & DriverTransport.INTERRUPT_CONFIG_CHANGE) == 0; i++)
        {
            final int got = driver.awaitInterrupt(100, TimeUnit.MILLISECONDS);
            causes |= got == VirtioDriver.NO_INTERRUPT ? 0 : got;
        }
        assertEquals(DriverTransport.INTERRUPT_CONFIG_CHANGE, causes & DriverTransport.INTERRUPT_CONFIG_CHANGE,
            "a configuration change notification");
        assertEquals(DeviceStatus.DEVICE_NEEDS_RESET,
            driver.transport().readStatus() & DeviceStatus.DEVICE_NEEDS_RESET);

        final SplitQueueDriver again = start();
        final int head = postRequest(machine.vm().memory(), machine.vm().guestAddressSpace(), again);
        driver.kick(requestQueue());
        assertEquals(head, reap(again), "after a reset the device works again");
    }
}
