package io.jvirtio.samples.guest;

import io.jvirtio.samples.guest.QemuGuest.Machine;
import io.jvirtio.samples.guest.QemuGuest.Run;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Linux's virtio_blk against jvirtio's virtio-blk on a file image behind the vhost-user back-end
 * ({@code ./jvirtio vhost-user --device blk}), on microvm (virtio-mmio 1.x) and q35 (modern virtio-pci on INTx): a
 * pattern written with {@code dd}, flushed, read back with the same checksum and found in the image on the host;
 * and a read-only device that refuses the guest's writes. The guest commands are the ones
 * {@link BuiltinDevicesGuestTest} proves on QEMU's own virtio-blk.
 */
@Tag("guest")
class VhostUserBlkGuestTest
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

    @ParameterizedTest
    @EnumSource(Machine.class)
    void shouldWritePatternAndLeaveItInTheImage(final Machine machine, @TempDir final Path dir) throws Exception
    {
        final Path image = dir.resolve("disk.img");
        Files.write(image, new byte[GuestScripts.DISK_BYTES]);
        final Run run;
        try (GuestBackend backend = ProgramBackend.start(dir.resolve("blk.sock"), "--device", "blk", "--file",
            image.toString()))
        {
            run = QemuGuest.on(machine).blkVhostUser(backend.socket())
                .run(kit, dir, GuestScripts.blkPattern()).assertCompleted();
        }
        final String device = BuiltinDevicesGuestTest.boundDevice(run, "virtio_blk");
        assertTrue(GuestScripts.hasFeature(BuiltinDevicesGuestTest.features(device), VERSION_1), device);
        BuiltinDevicesGuestTest.assertPatternOnDisk(run, image);
    }

    @ParameterizedTest
    @EnumSource(Machine.class)
    void shouldRefuseWritesInGuestWhenDeviceIsReadOnly(final Machine machine, @TempDir final Path dir)
        throws Exception
    {
        final Path image = dir.resolve("disk.img");
        final byte[] before = new byte[GuestScripts.DISK_BYTES];
        Arrays.fill(before, (byte)0x5A);
        Files.write(image, before);
        final Run run;
        try (GuestBackend backend = ProgramBackend.start(dir.resolve("blk.sock"), "--device", "blk", "--file",
            image.toString(), "--read-only"))
        {
            run = QemuGuest.on(machine).blkVhostUser(backend.socket())
                .run(kit, dir, GuestScripts.blkReadOnly()).assertCompleted();
        }
        assertEquals("1", run.value("disk_ro"), run::tail);
        assertNotEquals("0", run.value("ro_write_status"), "dd to a read-only disk fails");
        assertEquals(GuestScripts.sha256(Arrays.copyOf(before, 65_536)), run.value("ro_first_sha256"), run::tail);
        assertArrayEquals(before, Files.readAllBytes(image), "image unchanged");
    }
}
