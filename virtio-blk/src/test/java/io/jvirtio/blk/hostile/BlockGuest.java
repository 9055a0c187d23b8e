package io.jvirtio.blk.hostile;

import io.jvirtio.blk.BlockCounter;
import io.jvirtio.blk.BlockDevice;
import io.jvirtio.blk.BlockDeviceConfig;
import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.blk.backend.BlockBackend;
import io.jvirtio.blk.backend.FileBlockBackend;
import io.jvirtio.blk.backend.MemoryBlockBackend;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.vm.VmConfig;
import io.jvirtio.virtio.DeviceStatus;
import io.jvirtio.virtio.driver.DriverTransport;
import io.jvirtio.virtio.driver.VirtioDriver;
import io.jvirtio.virtio.machine.AttachedDevice;
import io.jvirtio.virtio.machine.TransportKind;
import io.jvirtio.virtio.machine.VirtioMachine;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import io.jvirtio.virtio.testkit.HostHealth;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A hostile guest in front of a {@link BlockDevice} on a real transport: a {@link VirtioMachine}, the device over a
 * patterned {@link MemoryBlockBackend} (or a backend the test gives), the guest driver at DRIVER_OK with request
 * queue 0, and a {@link HostHealth} watch started once the ring exists. Requests are chains the test builds
 * descriptor by descriptor; every kick and register access is a vCPU exit.
 * <p>
 * Thread safety: the test thread, which plays the guest on vCPU 0.
 */
final class BlockGuest implements AutoCloseable
{
    /** Queue Size. */
    static final int QUEUE_SIZE = 64;
    /** Disk size in sectors (64 KiB). */
    static final long SECTORS = 128;
    /** The status byte's value before the device writes it. */
    static final byte UNWRITTEN = 0x7E;
    private static final int SEG_MAX = 16;
    private static final int MAX_POLLS = 200_000;
    private static final long POLL_NANOS = 50_000;

    final VirtioMachine machine;
    final GuestMemory memory;
    final BlockBackend disk;
    final BlockDevice device;
    final AttachedDevice attached;
    final VirtioDriver driver;
    final HostHealth health;
    long features;
    SplitQueueDriver queue;

    BlockGuest(final TransportKind kind, final long wanted)
    {
        this(kind, wanted, false);
    }

    /** @param readOnly whether the disk is read-only (the device then offers VIRTIO_BLK_F_RO). */
    BlockGuest(final TransportKind kind, final long wanted, final boolean readOnly)
    {
        this(kind, wanted, patterned(readOnly));
    }

    /** @param disk the backend, owned by the guest from now on (closed with it). */
    BlockGuest(final TransportKind kind, final long wanted, final BlockBackend disk)
    {
        machine = VirtioMachine.create(VmConfig.defaults());
        memory = machine.vm().memory();
        this.disk = disk;
        device = new BlockDevice(disk, BlockDeviceConfig.defaults().withQueueSize(QUEUE_SIZE, SEG_MAX)
            .withRangeLimits(64, 4));
        attached = machine.attach(device, kind);
        driver = attached.driver();
        start(wanted);
        health = HostHealth.watch(machine);
    }

    private static MemoryBlockBackend patterned(final boolean readOnly)
    {
        final MemoryBlockBackend disk = new MemoryBlockBackend(SECTORS, readOnly, "hostile");
        // bound: the disk's bytes
        for (long i = 0; i < disk.segment().byteSize(); i++)
        {
            disk.segment().set(ValueLayout.JAVA_BYTE, i, (byte)(i * 13 + 1));
        }
        return disk;
    }

    /** Negotiates {@code wanted}, sets up queue 0 with used-buffer interrupts off, and sets DRIVER_OK. */
    void start(final long wanted)
    {
        features = driver.initialize(wanted);
        queue = driver.setupQueue(0, QUEUE_SIZE);
        queue.disableInterrupts();
        driver.driverOk();
    }

    /** @return a 16-byte {@code virtio_blk_req} header. */
    static byte[] header(final long type, final long sector)
    {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt((int)type).putInt(0).putLong(sector)
            .array();
    }

    /** @return one 16-byte discard / write-zeroes range. */
    static byte[] range(final long sector, final long sectors, final int flags)
    {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(sector).putInt((int)sectors)
            .putInt(flags).array();
    }

    /** @return {@code parts} as one array, concatenated. */
    static byte[] concat(final byte[]... parts)
    {
        final ByteBuffer all = ByteBuffer.allocate(Arrays.stream(parts).mapToInt(p -> p.length).sum());
        for (final byte[] part : parts)
        {
            all.put(part);
        }
        return all.array();
    }

    /** @return the guest-physical address of a fresh copy of {@code bytes}. */
    long put(final byte[] bytes)
    {
        final long gpa = machine.vm().guestAddressSpace().allocate(Math.max(1, bytes.length), 8);
        memory.copyIn(gpa, bytes, 0, bytes.length);
        return gpa;
    }

    /** @return a fresh buffer of {@code length} bytes, each {@code fill}. */
    long buffer(final long length, final byte fill)
    {
        final long gpa = machine.vm().guestAddressSpace().allocate(Math.max(1, length), 8);
        memory.fill(gpa, Math.max(1, length), fill);
        return gpa;
    }

    /** @return a fresh status byte holding {@link #UNWRITTEN}. */
    long status()
    {
        return buffer(1, UNWRITTEN);
    }

    /** Posts a chain on queue 0 and kicks it. @return the head. */
    int post(final long[] addrs, final long[] lens, final int readable, final int writable)
    {
        final int head = queue.post(addrs, lens, readable, writable);
        assertNotEquals(SplitQueueDriver.NO_SPACE, head, "the ring is full");
        driver.kick(0);
        return head;
    }

    /** Posts a chain and waits for it. @return the used length. */
    long run(final long[] addrs, final long[] lens, final int readable, final int writable)
    {
        return awaitUsed(post(addrs, lens, readable, writable));
    }

    /** Waits until the device used {@code head}. @return the used length. */
    long awaitUsed(final int head)
    {
        int used = SplitQueueDriver.NOTHING_USED;
        // bound: MAX_POLLS polls, a failure timeout
        for (int i = 0; i < MAX_POLLS && used == SplitQueueDriver.NOTHING_USED; i++)
        {
            used = queue.reap();
            if (used == SplitQueueDriver.NOTHING_USED)
            {
                LockSupport.parkNanos(POLL_NANOS);
            }
        }
        assertEquals(head, used, "the device did not use the chain: counters=" + counters());
        return queue.reapedLength();
    }

    /** Waits until {@code condition} holds; fails with {@code what} after the failure timeout. */
    void await(final BooleanSupplier condition, final String what)
    {
        // bound: MAX_POLLS polls, a failure timeout
        for (int i = 0; i < MAX_POLLS; i++)
        {
            if (condition.getAsBoolean())
            {
                return;
            }
            LockSupport.parkNanos(POLL_NANOS);
        }
        throw new AssertionError("timed out waiting: " + what + ", counters=" + counters());
    }

    /** @return the device's non-zero counters, for failure messages. */
    String counters()
    {
        final StringBuilder text = new StringBuilder();
        for (final BlockCounter counter : BlockCounter.values())
        {
            if (count(counter) != 0)
            {
                text.append(counter).append('=').append(count(counter)).append(' ');
            }
        }
        return text.toString();
    }

    /** @return the device's count of {@code counter}. */
    long count(final BlockCounter counter)
    {
        return device.counters().get(counter);
    }

    /** @return the disk's bytes. */
    byte[] diskBytes()
    {
        if (disk instanceof final FileBlockBackend file)
        {
            try
            {
                return Files.readAllBytes(file.path());
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        }
        return ((MemoryBlockBackend)disk).segment().toArray(ValueLayout.JAVA_BYTE);
    }

    /** @return {@code length} guest bytes at {@code gpa}. */
    byte[] read(final long gpa, final int length)
    {
        final byte[] bytes = new byte[length];
        memory.copyOut(gpa, bytes, 0, length);
        return bytes;
    }

    /**
     * Sends header + readable {@code data} (if any) + writable {@code writable} bytes (if any) + status, and waits.
     *
     * @return the status byte the device wrote ({@link #UNWRITTEN} if none).
     */
    byte request(final byte[] header, final byte[] data, final int writable)
    {
        final int readable = data == null ? 1 : 2;
        final int writes = writable > 0 ? 2 : 1;
        final long[] addrs = new long[readable + writes];
        final long[] lens = new long[readable + writes];
        addrs[0] = put(header);
        lens[0] = header.length;
        if (data != null)
        {
            addrs[1] = put(data);
            lens[1] = data.length;
        }
        if (writable > 0)
        {
            addrs[readable] = buffer(writable, (byte)0x66);
            lens[readable] = writable;
        }
        final long status = status();
        addrs[addrs.length - 1] = status;
        lens[lens.length - 1] = 1;
        run(addrs, lens, readable, writes);
        return memory.getByte(status);
    }

    /** Sends a request that must be refused with {@code status} and counted under {@code counter}. */
    void assertRefused(final byte status, final BlockCounter counter, final byte[] header, final byte[] data,
        final int writable)
    {
        final long before = count(counter);
        final byte[] diskBefore = diskBytes();
        assertEquals(status, request(header, data, writable), "status");
        assertEquals(before + 1, count(counter), counter.name());
        assertArrayEquals(diskBefore, diskBytes(), "the backend was changed by a refused request");
    }

    /** Waits for DEVICE_NEEDS_RESET in the status and the configuration change interrupt that announces it. */
    void awaitNeedsReset() throws InterruptedException
    {
        final DriverTransport transport = driver.transport();
        await(() -> (transport.readStatus() & DeviceStatus.DEVICE_NEEDS_RESET) != 0, "DEVICE_NEEDS_RESET");
        int causes = 0;
        // bound: MAX_POLLS interrupts or timeouts, a failure timeout
        for (int i = 0; i < MAX_POLLS && (causes & DriverTransport.INTERRUPT_CONFIG_CHANGE) == 0; i++)
        {
            final int taken = driver.awaitInterrupt(1, TimeUnit.MILLISECONDS);
            causes |= taken == VirtioDriver.NO_INTERRUPT ? 0 : taken;
        }
        assertTrue((causes & DriverTransport.INTERRUPT_CONFIG_CHANGE) != 0, "no configuration change interrupt");
    }

    /**
     * The device's own traffic still works: a write of one sector (unless the disk is read-only), then a read of it,
     * byte for byte. Then the host-health checks (worker and vCPU exceptions, canary, bounded work, witness device).
     */
    void checkHealthy()
    {
        final byte[] data = new byte[VirtioBlk.SECTOR_SIZE];
        if (disk.isReadOnly())
        {
            System.arraycopy(diskBytes(), 7 * VirtioBlk.SECTOR_SIZE, data, 0, data.length);
        }
        else
        {
            // bound: one sector
            for (int i = 0; i < data.length; i++)
            {
                data[i] = (byte)(i * 5 + 3);
            }
            assertEquals(VirtioBlk.VIRTIO_BLK_S_OK, request(header(VirtioBlk.VIRTIO_BLK_T_OUT, 7), data, 0));
        }
        final long in = buffer(VirtioBlk.SECTOR_SIZE, (byte)0);
        final long status = status();
        run(new long[] {put(header(VirtioBlk.VIRTIO_BLK_T_IN, 7)), in, status},
            new long[] {16, VirtioBlk.SECTOR_SIZE, 1}, 1, 2);
        assertEquals(VirtioBlk.VIRTIO_BLK_S_OK, memory.getByte(status));
        assertArrayEquals(data, read(in, data.length), "read back differs");
        assertEquals(0, device.workerErrors(), "the device's worker caught an exception");
        health.checkHealthy();
    }

    @Override
    public void close()
    {
        health.close();
        machine.close();
        try
        {
            disk.close();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }
}
