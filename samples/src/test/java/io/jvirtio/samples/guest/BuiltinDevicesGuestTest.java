package io.jvirtio.samples.guest;

import io.jvirtio.net.backend.EchoBackend;
import io.jvirtio.net.backend.ResponderBackend;
import io.jvirtio.samples.guest.QemuGuest.Machine;
import io.jvirtio.samples.guest.QemuGuest.Run;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real-guest tier proven on QEMU's own virtio devices: the kit boots Debian's kernel on microvm (virtio-mmio 1.x)
 * and q35 (modern virtio-pci), loads the modules, and the guest's scripts drive a disk and a network. The responder
 * and echo backends face the guest through QEMU's UDP netdev ({@link UdpFrameBridge}). The vhost-user tests run the
 * same scripts against jvirtio's own back-end.
 */
@Tag("guest")
class BuiltinDevicesGuestTest
{
    /** VIRTIO_F_VERSION_1 (virtio 1.x section 6). */
    private static final int VERSION_1 = 32;

    private GuestKit kit;

    /** Every test skips with the one line that says what is missing (a class-level skip would hide it). */
    @BeforeEach
    void kit()
    {
        kit = GuestKit.assumeAvailable();
    }

    /** @return the one virtio device the guest bound with {@code driver}: "device:..,driver:..,features:..". */
    static String boundDevice(final Run run, final String driver)
    {
        for (final Map.Entry<String, String> e : run.results().entrySet())
        {
            if (e.getKey().startsWith("virtio_") && e.getValue().contains(",driver:" + driver + ","))
            {
                return e.getValue();
            }
        }
        throw new AssertionError("guest bound no virtio device to " + driver + ": results=" + run.results() + "\n"
            + run.tail());
    }

    static String features(final String device)
    {
        return device.substring(device.indexOf("features:") + "features:".length());
    }

    /** Checks the disk after {@link GuestScripts#blkPattern}: the guest's checksums, and the image's bytes. */
    static void assertPatternOnDisk(final Run run, final Path image) throws Exception
    {
        final byte[] pattern = GuestScripts.pattern();
        final String expected = GuestScripts.sha256(pattern);
        assertEquals(String.valueOf(GuestScripts.DISK_BYTES / 512), run.value("disk_sectors"), run::tail);
        assertEquals("0", run.value("dd_status"), run::tail);
        assertEquals(expected, run.value("written_sha256"), "guest made the pattern the host expects");
        assertEquals(expected, run.value("read_sha256"), "guest read back what it wrote");
        final byte[] disk = Files.readAllBytes(image);
        assertEquals(GuestScripts.DISK_BYTES, disk.length);
        assertArrayEquals(pattern, Arrays.copyOfRange(disk, GuestScripts.PATTERN_OFFSET,
            GuestScripts.PATTERN_OFFSET + GuestScripts.PATTERN_BYTES), "image holds the pattern at 1 MiB");
        assertArrayEquals(new byte[GuestScripts.PATTERN_OFFSET], Arrays.copyOf(disk, GuestScripts.PATTERN_OFFSET),
            "nothing written before the pattern");
    }

    @ParameterizedTest
    @EnumSource(Machine.class)
    void shouldWritePatternThroughVirtioBlkAndLeaveItInTheImage(final Machine machine, @TempDir final Path dir)
        throws Exception
    {
        final Path image = dir.resolve("disk.img");
        Files.write(image, new byte[GuestScripts.DISK_BYTES]);
        final Run run = QemuGuest.on(machine).blkFile(image, false)
            .run(kit, dir, GuestScripts.blkPattern()).assertCompleted();
        final String device = boundDevice(run, "virtio_blk");
        assertTrue(device.startsWith("device:0x0002,"), device);
        assertTrue(GuestScripts.hasFeature(features(device), VERSION_1), "virtio 1.x negotiated: " + device);
        assertPatternOnDisk(run, image);
    }

    @Test
    void shouldRefuseWritesInGuestWhenDiskIsReadOnly(@TempDir final Path dir) throws Exception
    {
        final Path image = dir.resolve("disk.img");
        final byte[] before = new byte[GuestScripts.DISK_BYTES];
        Arrays.fill(before, (byte)0x5A);
        Files.write(image, before);
        final Run run = QemuGuest.on(Machine.MICROVM).blkFile(image, true)
            .run(kit, dir, GuestScripts.blkReadOnly()).assertCompleted();
        assertEquals("1", run.value("disk_ro"), run::tail);
        assertNotEquals("0", run.value("ro_write_status"), "dd to a read-only disk fails");
        assertEquals(GuestScripts.sha256(Arrays.copyOf(before, 65_536)), run.value("ro_first_sha256"), run::tail);
        assertArrayEquals(before, Files.readAllBytes(image), "image unchanged");
    }

    @Test
    void shouldPingSlirpGatewayOverVirtioNet(@TempDir final Path dir) throws Exception
    {
        final Run run = QemuGuest.on(Machine.MICROVM).netUser()
            .run(kit, dir, GuestScripts.netUp() + GuestScripts.ping("ping", 3, 56)).assertCompleted();
        final String device = boundDevice(run, "virtio_net");
        assertTrue(device.startsWith("device:0x0001,"), device);
        assertEquals("3", run.value("ping_received"), run::tail);
    }

    @ParameterizedTest
    @EnumSource(Machine.class)
    void shouldGetEveryPingAnsweredByResponderBackend(final Machine machine, @TempDir final Path dir)
        throws Exception
    {
        final ResponderBackend responder = ResponderBackend.of(GuestScripts.PEER_IP, GuestScripts.PEER_MAC);
        final Run run;
        try (UdpFrameBridge bridge = new UdpFrameBridge(responder))
        {
            run = QemuGuest.on(machine).netUdp(bridge.qemuPort(), bridge.hostPort())
                .run(kit, dir, GuestScripts.netUp() + GuestScripts.ping("ping", 20, 56)
                    + GuestScripts.ping("big", 5, 1400)).assertCompleted();
        }
        assertEquals("20", run.value("ping_received"), run::tail);
        assertEquals("5", run.value("big_received"), run::tail);
        assertTrue(responder.arpReplies() >= 1, "the guest resolved the responder's MAC by ARP");
        assertEquals(25, responder.echoReplies());
        assertEquals(0, responder.malformed() + responder.badChecksum(), "the guest's frames are well formed");
    }

    @Test
    void shouldEchoEveryRawFrameIntactThroughEchoBackend(@TempDir final Path dir) throws Exception
    {
        assumeTrue(kit.toolsUnavailable() == null, () -> "rawecho skipped: " + kit.toolsUnavailable());
        final EchoBackend echo = EchoBackend.plain();
        final Run run;
        try (UdpFrameBridge bridge = new UdpFrameBridge(echo))
        {
            run = QemuGuest.on(Machine.MICROVM).netUdp(bridge.qemuPort(), bridge.hostPort())
                .run(kit, dir, GuestScripts.netUp() + GuestScripts.rawEcho(200)).assertCompleted();
        }
        assertEquals("200", run.value("sent"), run::tail);
        assertEquals("200", run.value("received"), run::tail);
        assertEquals("0", run.value("bad"), run::tail);
        assertEquals("0", run.value("lost"), run::tail);
        assertTrue(echo.echoed() >= 200, "every frame went through the echo backend: echoed=" + echo.echoed());
    }
}
