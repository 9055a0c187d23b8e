package io.jvirtio.samples.guest;

import io.jvirtio.samples.guest.QemuGuest.Machine;
import io.jvirtio.samples.guest.QemuGuest.Run;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Linux's virtio_net against jvirtio's virtio-net behind the vhost-user back-end ({@code ./jvirtio vhost-user}), on
 * microvm (virtio-mmio 1.x) and q35 (modern virtio-pci on INTx): 100 pings and 1400-byte pings answered by the
 * responder backend, and raw frames of mixed sizes echoed intact by the echo backend. The guest commands are the
 * ones {@link BuiltinDevicesGuestTest} proves on QEMU's own virtio-net. The responder answers on
 * {@link GuestScripts#PEER_IP} at {@link GuestScripts#PEER_MAC}, the defaults of
 * {@link io.jvirtio.net.backend.NetBackendChoice}.
 */
@Tag("guest")
class VhostUserNetGuestTest
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
    void shouldAnswerEveryPingThroughResponderBackend(final Machine machine, @TempDir final Path dir)
        throws Exception
    {
        final Run run;
        try (GuestBackend backend = ProgramBackend.start(dir.resolve("net.sock"), "--device", "net", "--backend",
            "responder"))
        {
            run = QemuGuest.on(machine).netVhostUser(backend.socket())
                .run(kit, dir, GuestScripts.netUp() + GuestScripts.ping("ping", 100, 56)
                    + GuestScripts.ping("big", 10, 1400)).assertCompleted();
        }
        final String device = BuiltinDevicesGuestTest.boundDevice(run, "virtio_net");
        assertTrue(GuestScripts.hasFeature(BuiltinDevicesGuestTest.features(device), VERSION_1), device);
        assertEquals("100", run.value("ping_received"), run::tail);
        assertEquals("10", run.value("big_received"), run::tail);
    }

    @ParameterizedTest
    @EnumSource(Machine.class)
    void shouldEchoEveryRawFrameIntactThroughEchoBackend(final Machine machine, @TempDir final Path dir)
        throws Exception
    {
        assumeTrue(kit.toolsUnavailable() == null, () -> "rawecho skipped: " + kit.toolsUnavailable());
        final Run run;
        try (GuestBackend backend = ProgramBackend.start(dir.resolve("net.sock"), "--device", "net", "--backend",
            "echo"))
        {
            run = QemuGuest.on(machine).netVhostUser(backend.socket())
                .run(kit, dir, GuestScripts.netUp() + GuestScripts.rawEcho(1000)).assertCompleted();
        }
        assertEquals("1000", run.value("sent"), run::tail);
        assertEquals("1000", run.value("received"), run::tail);
        assertEquals("0", run.value("bad"), run::tail);
        assertEquals("0", run.value("lost"), run::tail);
    }
}
