package io.jvirtio.samples.guest;

import io.jvirtio.blk.BlockQemuTraceReplayTest;
import io.jvirtio.net.NetQemuTraceReplayTest;
import io.jvirtio.samples.guest.QemuGuest.Machine;
import io.jvirtio.virtio.testkit.TransportTrace;
import io.jvirtio.virtio.testkit.TransportTraceReplay;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Records, afresh, the register accesses Linux's virtio_mmio and virtio_pci drivers make while they probe and start
 * QEMU's own virtio-net and virtio-blk (QEMU's {@code -trace memory_region_ops_*}), and replays them against jvirtio's
 * transports with jvirtio's devices, asserting what the fixture replays (NetQemuTraceReplayTest,
 * BlockQemuTraceReplayTest) assert: the fixtures say what Linux did once, this says what it does now.
 * <p>
 * QEMU's devices are narrowed with device properties to the features jvirtio's devices offer, so that Linux accepts
 * nothing jvirtio would refuse. With {@code -Djvirtio.traces.out=DIR} the recorded traces are also written to DIR
 * as fixtures ({@code net-mmio.trace}, ...); the README's testing section has the command.
 * <p>
 * Thread safety: JUnit runs each test on one thread.
 */
@Tag("guest")
class QemuTransportTraceTest
{
    /** Makes QEMU's virtio-net offer what NetDevice offers, and nothing it does not. */
    static final String NET_PROPERTIES = ",csum=on,guest_csum=on,gso=off,guest_tso4=on,guest_tso6=on,guest_ecn=off"
        + ",guest_ufo=off,host_tso4=on,host_tso6=on,host_ecn=off,host_ufo=off,mrg_rxbuf=on,status=on,ctrl_vq=on"
        + ",ctrl_rx=on,ctrl_vlan=off,ctrl_rx_extra=off,ctrl_mac_addr=off,ctrl_guest_offloads=off,guest_announce=off"
        + ",mq=off,event_idx=on,indirect_desc=on,any_layout=off,notify_on_empty=off,queue_reset=off,host_mtu=1500";
    /** Turns off what QEMU's virtio-blk offers beyond BlockDevice: the legacy bits and RING_RESET. */
    static final String BLK_PROPERTIES = ",any_layout=off,notify_on_empty=off,queue_reset=off";
    /** The guest brings eth0 up and reads one block, so both drivers run their whole start. */
    private static final String SCRIPT = "ip link set eth0 up\nsleep 0.3\n"
        + "dd if=/dev/vda of=/dev/null bs=4k count=1 2>/dev/null\necho \"JV-RESULT started=1\"\n";

    private GuestKit kit;

    @BeforeEach
    void kit()
    {
        kit = GuestKit.assumeAvailable();
    }

    @ParameterizedTest
    @EnumSource(Machine.class)
    void shouldStartOurDevicesTheWayLinuxStartsQemus(final Machine machine, @TempDir final Path dir)
        throws IOException, InterruptedException
    {
        final Path image = dir.resolve("disk.img");
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw"))
        {
            file.setLength(BlockQemuTraceReplayTest.DISK_BYTES);
        }
        final Path log = dir.resolve("qemu-trace.log");
        final QemuGuest guest = QemuGuest.on(machine).netUser(NET_PROPERTIES).blkFile(image, false, BLK_PROPERTIES)
            .traceRegisterAccesses(log);
        guest.run(kit, dir, SCRIPT).assertCompleted();

        final List<TransportTrace> traces = TransportTrace.fromQemuLog(
            Files.readAllLines(log, StandardCharsets.ISO_8859_1), comments(guest));
        assertEquals(2, traces.size(), () -> "one trace per device: " + traces);
        final Path out = System.getProperty("jvirtio.traces.out") == null ? null
            : Path.of(System.getProperty("jvirtio.traces.out"));
        for (final TransportTrace trace : traces)
        {
            final String name = (trace.deviceId() == 1 ? "net-" : "blk-") + trace.transport();
            final TransportTraceReplay.Result result = trace.deviceId() == 1
                ? NetQemuTraceReplayTest.replayAndCheck(trace) : BlockQemuTraceReplayTest.replayAndCheck(trace);
            System.out.println(name + ": " + result.summary());
            if (out != null)
            {
                Files.createDirectories(out);
                Files.writeString(out.resolve(name + ".trace"), trace.format(), StandardCharsets.US_ASCII);
            }
        }
    }

    /** @return the fixture header: how the trace was recorded. */
    private List<String> comments(final QemuGuest guest)
    {
        return List.of(
            "The register accesses Linux (Debian's " + kit + ") made to QEMU's virtio transport while it probed and",
            "started the device; the guest brought eth0 up and read one block. Recorded by QemuTransportTraceTest",
            "(samples, real-guest tier) with QEMU's -trace memory_region_ops_* and TransportTrace.fromQemuLog.",
            "QEMU: " + QemuGuest.version(),
            "Devices: virtio-net" + NET_PROPERTIES.replace(',', ' '),
            "         virtio-blk" + BLK_PROPERTIES.replace(',', ' ') + " on a "
                + (BlockQemuTraceReplayTest.DISK_BYTES >> 20) + " MiB raw file",
            "Notifications QEMU turned into ioeventfd signals are not in the trace.");
    }
}
