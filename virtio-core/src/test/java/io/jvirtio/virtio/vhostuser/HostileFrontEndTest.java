package io.jvirtio.virtio.vhostuser;

import io.jvirtio.bus.event.LinuxEventFd;
import io.jvirtio.bus.linux.Libc;
import io.jvirtio.virtio.transport.LoopbackDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.NEED_REPLY;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.VERSION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * One test per hostile front-end message: each must close the connection, increment its named counter, leave the
 * device inactive, leak no fd, and leave the server accepting the next connection.
 */
class HostileFrontEndTest
{
    @TempDir
    Path dir;

    private VhostUserRig rig;
    private VhostUserServer server;
    private Path path;

    @BeforeEach
    void startServer() throws IOException
    {
        assumeTrue(Libc.isAvailable(), Libc.unavailableReason());
        rig = new VhostUserRig(dir);
        server = rig.server;
        path = rig.path;
    }

    @AfterEach
    void stopServer()
    {
        if (rig != null)
        {
            rig.close();
        }
    }

    private void assertRefused(final VhostUserCounter counter, final Consumer<FrontEnd> hostile) throws Exception
    {
        rig.assertRefused(counter, hostile);
    }

    @Test
    void shouldCloseConnectionWhenHeaderVersionIsWrong() throws Exception
    {
        assertRefused(VhostUserCounter.MALFORMED_HEADER,
            front -> front.sendRaw(VhostUserRequest.GET_FEATURES, 0x2, 0, new byte[0]));
    }

    @Test
    void shouldCloseConnectionWhenHeaderHasReplyFlag() throws Exception
    {
        assertRefused(VhostUserCounter.MALFORMED_HEADER,
            front -> front.sendRaw(VhostUserRequest.GET_FEATURES, VERSION | VhostUserMessageLayout.REPLY, 0,
                new byte[0]));
    }

    @Test
    void shouldCloseConnectionWhenRequestIsUnknown() throws Exception
    {
        assertRefused(VhostUserCounter.UNKNOWN_REQUEST, front -> front.sendRaw(999, VERSION, 0, new byte[0]));
    }

    @Test
    void shouldCloseConnectionWhenSizeIsOverMaxPayload() throws Exception
    {
        assertRefused(VhostUserCounter.OVERSIZED_PAYLOAD,
            front -> front.sendRaw(VhostUserRequest.SET_FEATURES, VERSION, VhostUserMessageLayout.MAX_PAYLOAD + 1,
                new byte[8]));
    }

    @Test
    void shouldCloseConnectionWhenPayloadIsTruncated() throws Exception
    {
        final VhostUserCounters counters = server.counters();
        final long before = counters.get(VhostUserCounter.TRUNCATED_MESSAGE);
        final long disconnections = counters.get(VhostUserCounter.DISCONNECTIONS);
        try (FrontEnd front = new FrontEnd(path))
        {
            front.sendRaw(VhostUserRequest.SET_FEATURES, VERSION, 8, new byte[4]);
        }
        VhostUserBackendTest.awaitDisconnections(counters, disconnections + 1);
        assertEquals(before + 1, counters.get(VhostUserCounter.TRUNCATED_MESSAGE));
        try (FrontEnd next = new FrontEnd(path))
        {
            assertTrue(next.getU64(VhostUserRequest.GET_FEATURES) != 0);
        }
        VhostUserBackendTest.awaitDisconnections(counters, disconnections + 2);
    }

    @Test
    void shouldCloseConnectionWhenPayloadSizeDoesNotFitRequest() throws Exception
    {
        assertRefused(VhostUserCounter.BAD_PAYLOAD_SIZE,
            front -> front.sendRaw(VhostUserRequest.SET_FEATURES, VERSION, 4, new byte[4]));
    }

    @Test
    void shouldCloseConnectionAndItsFdsWhenFdCountIsWrong() throws Exception
    {
        try (LinuxEventFd a = LinuxEventFd.create(false); LinuxEventFd b = LinuxEventFd.create(false))
        {
            assertRefused(VhostUserCounter.WRONG_FD_COUNT, front ->
            {
                front.negotiate();
                front.send(VhostUserRequest.SET_VRING_KICK, FrontEnd.u64(0), a.fd(), b.fd());
            });
            assertRefused(VhostUserCounter.WRONG_FD_COUNT,
                front -> front.send(VhostUserRequest.GET_FEATURES, new byte[0], a.fd()));
        }
    }

    @Test
    void shouldCloseConnectionWhenMemoryRegionDoesNotMap() throws Exception
    {
        try (LinuxEventFd notMemory = LinuxEventFd.create(false))
        {
            assertRefused(VhostUserCounter.MEMORY_REGION_UNMAPPABLE, front ->
            {
                front.negotiate();
                front.send(VhostUserRequest.SET_MEM_TABLE, FrontEnd.memTable(new long[] {0},
                    new long[] {FrontEnd.RAM}, new long[] {FrontEnd.USER_BASE}, new long[] {0}), notMemory.fd());
            });
        }
        assertRefused(VhostUserCounter.MEMORY_REGION_UNMAPPABLE, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.SET_MEM_TABLE, FrontEnd.memTable(new long[] {0},
                new long[] {2 * FrontEnd.RAM}, new long[] {FrontEnd.USER_BASE}, new long[] {0}), front.region.fd());
        });
    }

    @Test
    void shouldCloseConnectionWhenMemoryRegionIsEmpty() throws Exception
    {
        assertRefused(VhostUserCounter.MEMORY_REGION_INVALID, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.SET_MEM_TABLE, FrontEnd.memTable(new long[] {0}, new long[] {0},
                new long[] {FrontEnd.USER_BASE}, new long[] {0}), front.region.fd());
        });
    }

    @Test
    void shouldCloseConnectionWhenMemoryRegionsOverlap() throws Exception
    {
        assertRefused(VhostUserCounter.MEMORY_REGIONS_OVERLAP, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.SET_MEM_TABLE, FrontEnd.memTable(new long[] {0, 0x8_0000},
                new long[] {0x8_0000, 0x8_0000}, new long[] {FrontEnd.USER_BASE, FrontEnd.USER_BASE + 0x4_0000},
                new long[] {0, 0x8_0000}), front.region.fd(), front.region.fd());
        });
        assertRefused(VhostUserCounter.MEMORY_REGIONS_OVERLAP, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.SET_MEM_TABLE, FrontEnd.memTable(new long[] {0, 0x4_0000},
                new long[] {0x8_0000, 0x8_0000}, new long[] {FrontEnd.USER_BASE, FrontEnd.USER_BASE + 0x10_0000},
                new long[] {0, 0}), front.region.fd(), front.region.fd());
        });
    }

    @Test
    void shouldCloseConnectionWhenRingIndexIsOutOfRange() throws Exception
    {
        assertRefused(VhostUserCounter.RING_INDEX_OUT_OF_RANGE, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.SET_VRING_NUM, FrontEnd.state(1, 16));
        });
        assertRefused(VhostUserCounter.RING_INDEX_OUT_OF_RANGE, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.GET_VRING_BASE, FrontEnd.state(-1, 0));
        });
    }

    @Test
    void shouldCloseConnectionWhenRingSizeIsNotPowerOfTwo() throws Exception
    {
        assertRefused(VhostUserCounter.BAD_RING_SIZE, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.SET_VRING_NUM, FrontEnd.state(0, 3));
        });
    }

    @Test
    void shouldCloseConnectionWhenRingSizeIsAboveMax() throws Exception
    {
        assertRefused(VhostUserCounter.BAD_RING_SIZE, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.SET_VRING_NUM, FrontEnd.state(0, 2 * LoopbackDevice.MAX_QUEUE_SIZE));
        });
    }

    @Test
    void shouldCloseConnectionWhenRingAddressIsOutsideMemoryTable() throws Exception
    {
        assertRefused(VhostUserCounter.RING_OUTSIDE_MEMORY, front ->
        {
            front.negotiate();
            front.setMemTable();
            front.call(VhostUserRequest.SET_VRING_NUM, FrontEnd.state(0, 16));
            front.send(VhostUserRequest.SET_VRING_ADDR, FrontEnd.addr(0, FrontEnd.USER_BASE + FrontEnd.RAM - 64,
                FrontEnd.USER_BASE + 0x2000, FrontEnd.USER_BASE + 0x3000));
        });
        assertRefused(VhostUserCounter.RING_OUTSIDE_MEMORY, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.SET_VRING_ADDR, FrontEnd.addr(0, FrontEnd.USER_BASE,
                FrontEnd.USER_BASE + 0x2000, FrontEnd.USER_BASE + 0x3000));
        });
    }

    @Test
    void shouldCloseConnectionWhenLogIsRequestedWithoutLogShmfd() throws Exception
    {
        assertRefused(VhostUserCounter.NOT_NEGOTIATED, front ->
        {
            front.negotiate();
            front.send(VhostUserRequest.SET_LOG_BASE, new byte[16]);
        });
    }

    @Test
    void shouldSendFailedReplyAckBeforeClosingWhenAskedForOne() throws Exception
    {
        assertRefused(VhostUserCounter.BAD_RING_SIZE, front ->
        {
            front.negotiate();
            front.sendRaw(VhostUserRequest.SET_VRING_NUM, VERSION | NEED_REPLY, 8, FrontEnd.state(0, 5));
            assertEquals(1, FrontEnd.u64(front.reply(VhostUserRequest.SET_VRING_NUM)), "REPLY_ACK status: failure");
        });
    }
}
