package io.jvirtio.virtio.vhostuser;

import io.jvirtio.bus.event.LinuxEventFd;
import io.jvirtio.bus.linux.Libc;
import io.jvirtio.bus.linux.UnixSocket;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.queue.SplitQueueDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Regressions for the vhost-user rows of virtio-checklist §7 (DPDK's CVE-2020-10722…10726 and CVE-2022-0669, QEMU's
 * CVE-2021-3546): the control plane and the guest behind it are hostile. Each attack goes through a real socket from
 * the in-JVM front-end; a refused message must close the connection, count, and leave no fd or mapping behind.
 */
class VhostUserCveRegressionTest
{
    private static final int RING = 0;
    private static final int SIZE = 16;
    private static final long RING_BASE = 0x1000;
    /** The memory table of the CVE-2021-3546 test: region A is gpa [0, HOLE), region B is gpa [HOLE_END, RAM). */
    private static final long HOLE = 0x8_0000;
    private static final long HOLE_END = 0xC_0000;
    private static final byte CANARY = (byte)0xA5;
    private static final long WAIT_SECONDS = 10;

    @TempDir
    Path dir;

    private VhostUserRig rig;

    @BeforeEach
    void startServer() throws IOException
    {
        assumeTrue(Libc.isAvailable(), Libc.unavailableReason());
        rig = new VhostUserRig(dir);
    }

    @AfterEach
    void stopServer()
    {
        if (rig != null)
        {
            rig.close();
        }
    }

    /** @return lines of /proc/self/maps that map the front-end's guest RAM memfd (its own and the back-end's). */
    private static long guestRamMappings() throws IOException
    {
        try (Stream<String> maps = Files.lines(Path.of("/proc/self/maps")))
        {
            return maps.filter(line -> line.contains("memfd:guest-ram")).count();
        }
    }

    private static void awaitCount(final VhostUserCounters counters, final VhostUserCounter counter,
        final long expected) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        // bound: the failure timeout
        while (counters.get(counter) < expected && System.nanoTime() < deadline)
        {
            Thread.sleep(5);
        }
        assertEquals(expected, counters.get(counter), counter + " in " + counters);
    }

    /**
     * DPDK trusted the log area's offset + size. Dirty-page logging (LOG_SHMFD) is not offered, so no log is ever
     * mapped from front-end values: SET_LOG_BASE with a wrapping offset + size and its fd is refused, and so is the
     * protocol feature. The offset + size checks that do exist, on memory regions, refuse the same overflow.
     */
    @Test
    void cve_2020_10722_logBaseOffsetPlusSizeOverflowRefused() throws Exception
    {
        final long offered = rig.server.backend().offeredProtocolFeatures();
        assertFalse(VirtioFeatures.has(offered, VhostUserProtocolFeature.LOG_SHMFD), "logging is not offered");
        final byte[] log = new byte[16];
        final ByteBuffer fields = ByteBuffer.wrap(log).order(ByteOrder.LITTLE_ENDIAN);
        fields.putLong(0xFFFF_FFFF_FFFF_F000L).putLong(0x2000);
        rig.assertRefused(VhostUserCounter.NOT_NEGOTIATED, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.SET_LOG_BASE, log, front.region.fd());
        });
        rig.assertRefused(VhostUserCounter.FEATURES_REFUSED, front -> front.sendRaw(
            VhostUserRequest.SET_PROTOCOL_FEATURES, VhostUserMessageLayout.VERSION, 8,
            FrontEnd.u64(offered | VirtioFeatures.bit(VhostUserProtocolFeature.LOG_SHMFD))));
        rig.assertRefused(VhostUserCounter.MEMORY_REGION_INVALID, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.SET_MEM_TABLE, FrontEnd.memTable(new long[] {0}, new long[] {FrontEnd.RAM},
                new long[] {FrontEnd.USER_BASE}, new long[] {Long.MAX_VALUE - 0xFFF}), front.region.fd());
        });
        rig.assertRefused(VhostUserCounter.MEMORY_REGION_INVALID, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.SET_MEM_TABLE, FrontEnd.memTable(new long[] {0}, new long[] {FrontEnd.RAM},
                new long[] {-FrontEnd.RAM / 2}, new long[] {0}), front.region.fd());
        });
    }

    /**
     * DPDK used translated ring addresses without checking them. Every ring area must translate, whole, into one
     * region of the table: one starting below it, one whose end wraps 2^64, one just past it, a ring grown after its
     * address was accepted, and a table shrunk under an accepted ring are all refused.
     */
    @Test
    void cve_2020_10723_translatedRingAddressOutsideTableRefused() throws Exception
    {
        final long base = FrontEnd.USER_BASE;
        final long[][] areas = {
            {base - 16, base + 0x2000, base + 0x3000},
            {base, -64, base + 0x3000},
            {base, base + 0x2000, base + FrontEnd.RAM},
        };
        for (final long[] area : areas)
        {
            rig.assertRefused(VhostUserCounter.RING_OUTSIDE_MEMORY, front ->
            {
                front.negotiate();
                front.setMemTable();
                front.call(VhostUserRequest.SET_VRING_NUM, FrontEnd.state(RING, SIZE));
                front.send(VhostUserRequest.SET_VRING_ADDR, FrontEnd.addr(RING, area[0], area[1], area[2]));
            });
        }
        rig.assertRefused(VhostUserCounter.RING_OUTSIDE_MEMORY, front ->
        {
            front.negotiate();
            front.setMemTable();
            front.call(VhostUserRequest.SET_VRING_NUM, FrontEnd.state(RING, 1));
            front.call(VhostUserRequest.SET_VRING_ADDR, FrontEnd.addr(RING, base + FrontEnd.RAM - 16,
                base + 0x2000, base + 0x3000));
            front.send(VhostUserRequest.SET_VRING_NUM, FrontEnd.state(RING, 256));
        });
        rig.assertRefused(VhostUserCounter.RING_OUTSIDE_MEMORY, front ->
        {
            front.negotiate();
            front.setMemTable();
            front.call(VhostUserRequest.SET_VRING_NUM, FrontEnd.state(RING, SIZE));
            front.call(VhostUserRequest.SET_VRING_ADDR, FrontEnd.addr(RING, base + 0xC_0000, base + 0xC_2000,
                base + 0xC_1000));
            front.send(VhostUserRequest.SET_MEM_TABLE, FrontEnd.memTable(new long[] {0},
                new long[] {FrontEnd.RAM / 2}, new long[] {base}, new long[] {0}), front.region.fd());
        });
    }

    /**
     * DPDK's bad vring index and its fd and memory leaks: ring messages with indices past the rings served, each
     * bringing an eventfd, are refused and the fds closed; a front-end that replaces its memory table over and over
     * leaves one mapping of it, and none once it is gone.
     */
    @Test
    void cve_2020_10725_10726_badVringIndexNoFdOrMemoryLeak() throws Exception
    {
        try (LinuxEventFd eventFd = LinuxEventFd.create(false))
        {
            for (final int request : new int[] {VhostUserRequest.SET_VRING_CALL, VhostUserRequest.SET_VRING_KICK,
                VhostUserRequest.SET_VRING_ERR})
            {
                for (final long index : new long[] {1, VhostUserMessageLayout.FILE_INDEX_MASK})
                {
                    rig.assertRefused(VhostUserCounter.RING_INDEX_OUT_OF_RANGE, front ->
                    {
                        front.negotiate();
                        front.send(request, FrontEnd.u64(index), eventFd.fd());
                    });
                }
            }
        }
        rig.assertRefused(VhostUserCounter.RING_INDEX_OUT_OF_RANGE, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.SET_VRING_ADDR, FrontEnd.addr(Integer.MAX_VALUE, FrontEnd.USER_BASE,
                FrontEnd.USER_BASE + 0x2000, FrontEnd.USER_BASE + 0x3000));
        });
        final long before = guestRamMappings();
        rig.assertRefused(VhostUserCounter.RING_INDEX_OUT_OF_RANGE, front ->
        {
            front.negotiate();
            front.setMemTable();
            try
            {
                final long once = guestRamMappings();
                // bound: a fixed number of replacements
                for (int i = 0; i < 32; i++)
                {
                    front.setMemTable();
                }
                assertEquals(once, guestRamMappings(), "every replaced table was unmapped");
            }
            catch (final IOException ex)
            {
                throw new IllegalStateException("cannot read mappings: cause=" + ex.getMessage(), ex);
            }
            front.send(VhostUserRequest.SET_VRING_NUM, FrontEnd.state(-1, SIZE));
        });
        assertEquals(before, guestRamMappings(), "the back-end's mapping went with the connection");
    }

    /**
     * DPDK never closed fds that came with inflight messages. Messages this back-end does not serve, or that bring
     * more fds than they need, are refused and every fd they brought is closed: /proc/self/fd counts the same.
     */
    @Test
    void cve_2022_0669_unexpectedFdsClosed() throws Exception
    {
        final byte[] inflight = new byte[24];
        rig.assertRefused(VhostUserCounter.UNKNOWN_REQUEST, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.SET_INFLIGHT_FD, inflight, front.region.fd());
        });
        rig.assertRefused(VhostUserCounter.UNKNOWN_REQUEST, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.GET_INFLIGHT_FD, inflight, front.region.fd(), front.region.fd());
        });
        final LinuxEventFd[] many = new LinuxEventFd[UnixSocket.MAX_FDS];
        try
        {
            // bound: MAX_FDS eventfds
            for (int i = 0; i < many.length; i++)
            {
                many[i] = LinuxEventFd.create(false);
            }
            final int[] fds = Arrays.stream(many).mapToInt(LinuxEventFd::fd).toArray();
            rig.assertRefused(VhostUserCounter.WRONG_FD_COUNT, front ->
            {
                front.negotiate();
                front.send(VhostUserRequest.SET_VRING_ENABLE, FrontEnd.state(RING, 1), fds);
            });
            rig.assertRefused(VhostUserCounter.WRONG_FD_COUNT, front ->
            {
                front.negotiate();
                front.send(VhostUserRequest.SET_MEM_TABLE, FrontEnd.memTable(new long[] {0},
                    new long[] {FrontEnd.RAM}, new long[] {FrontEnd.USER_BASE}, new long[] {0}), fds);
            });
        }
        finally
        {
            for (final LinuxEventFd eventFd : many)
            {
                if (eventFd != null)
                {
                    eventFd.close();
                }
            }
        }
    }

    /**
     * QEMU's vhost-user-gpu wrote where guest values pointed. A guest behind a vhost-user front-end posts descriptors
     * into the hole between two regions of the memory table, or straddling the end of one: the device touches
     * nothing outside the mapped regions (the hole's bytes, which the front-end's memfd does hold, stay as they
     * were), copies nothing, and the ring breaks and is counted.
     */
    @Test
    void cve_2021_3546_descriptorOutsideMemoryTable() throws Exception
    {
        final long[][] chains = {
            {HOLE + 0x100, 64, 0x9000, 64},
            {0x8000, 64, HOLE + 0x2_0000, 64},
            {0x8000, 64, HOLE - 32, 64},
            {0x8000, 64, HOLE_END - 16, 32},
        };
        final VhostUserCounters counters = rig.server.counters();
        for (final long[] chain : chains)
        {
            final long broken = counters.get(VhostUserCounter.QUEUE_BROKEN);
            final long copied = rig.device.chains();
            try (FrontEnd front = new FrontEnd(rig.path);
                LinuxEventFd kick = LinuxEventFd.create(false);
                LinuxEventFd call = LinuxEventFd.create(false))
            {
                final long features = front.negotiate();
                front.call(VhostUserRequest.SET_MEM_TABLE, FrontEnd.memTable(new long[] {0, HOLE_END},
                    new long[] {HOLE, FrontEnd.RAM - HOLE_END},
                    new long[] {FrontEnd.USER_BASE, FrontEnd.USER_BASE + HOLE_END}, new long[] {0, HOLE_END}),
                    front.region.fd(), front.region.fd());
                final SplitQueueConfig config = SplitQueueConfig.contiguous(RING_BASE, SIZE,
                    VirtioFeatures.has(features, VirtioFeatures.VIRTIO_F_EVENT_IDX), false);
                final SplitQueueDriver driver = new SplitQueueDriver(front.memory, config);
                front.startRing(RING, config, kick, call);
                assertTrue(rig.server.backend().isActive());
                front.memory.fill(HOLE - 0x100, HOLE_END - HOLE + 0x200, CANARY);
                front.memory.fill(0x9000, 64, CANARY);
                final byte[] before = new byte[(int)(HOLE_END - HOLE + 0x200)];
                front.memory.copyOut(HOLE - 0x100, before, 0, before.length);
                assertTrue(driver.post(new long[] {chain[0], chain[2]}, new long[] {chain[1], chain[3]}, 1, 1) >= 0);
                driver.publish();
                kick.signal();
                awaitCount(counters, VhostUserCounter.QUEUE_BROKEN, broken + 1);
                final byte[] after = new byte[before.length];
                front.memory.copyOut(HOLE - 0x100, after, 0, after.length);
                assertArrayEquals(before, after, "nothing around or in the hole was written: chain="
                    + Arrays.toString(chain));
                final byte[] target = new byte[64];
                front.memory.copyOut(0x9000, target, 0, target.length);
                final byte[] canaries = new byte[64];
                Arrays.fill(canaries, CANARY);
                assertArrayEquals(canaries, target, "no copy reached a mapped buffer either");
                assertEquals(copied, rig.device.chains(), "the device got no chain");
                assertEquals(SplitQueueDriver.NOTHING_USED, driver.reap(), "a broken ring uses nothing");
                assertEquals(0, front.getVringBase(RING), "the broken chain was not consumed");
            }
            VhostUserBackendTest.awaitDisconnections(counters, counters.get(VhostUserCounter.CONNECTIONS));
        }
        try (FrontEnd next = new FrontEnd(rig.path))
        {
            assertTrue(next.getU64(VhostUserRequest.GET_FEATURES) != 0, "the server serves the next connection");
        }
    }
}
