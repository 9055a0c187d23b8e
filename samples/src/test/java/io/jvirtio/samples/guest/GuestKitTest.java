package io.jvirtio.samples.guest;

import io.jvirtio.samples.guest.QemuGuest.Machine;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tier's pieces that need no QEMU: the newc writer, result parsing, package resolution, command lines. */
class GuestKitTest
{
    @Test
    void shouldWriteNewcEntriesPaddedToFourBytesWithTrailer() throws Exception
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (CpioWriter cpio = new CpioWriter(bytes))
        {
            cpio.file("init", 0755, "abcde".getBytes(StandardCharsets.US_ASCII));
            cpio.symlink("bin/sh", "/bin/busybox");
            cpio.characterDevice("dev/console", 0600, 5, 1);
        }
        final byte[] archive = bytes.toByteArray();
        final String text = new String(archive, StandardCharsets.ISO_8859_1);
        assertEquals(0, archive.length % 4, "the archive ends on a 4-byte boundary");
        // first entry: header 110 bytes, name "init\0" padded to 116, data 5 bytes padded to 124
        assertEquals("070701", text.substring(0, 6));
        assertEquals("000081ed", text.substring(14, 22), "mode: regular file 0755");
        assertEquals("00000005", text.substring(54, 62), "file size");
        assertEquals("00000005", text.substring(94, 102), "name size with its NUL");
        assertEquals("init\0", text.substring(110, 115));
        assertEquals("abcde", text.substring(116, 121));
        assertEquals("070701", text.substring(124, 130), "next entry 4-byte aligned");
        assertEquals("0000a1ff", text.substring(124 + 14, 124 + 22), "mode: symlink");
        assertTrue(text.contains("/bin/busybox"), "symlink target as its data");
        final int console = text.indexOf("dev/console") - 110;
        assertEquals("00002180", text.substring(console + 14, console + 22), "mode: char device 0600");
        assertEquals("00000005", text.substring(console + 78, console + 86), "rdev major");
        assertEquals("00000001", text.substring(console + 86, console + 94), "rdev minor");
        assertTrue(text.contains("TRAILER!!!\0"));
    }

    @Test
    void shouldParseResultLinesAnywhereInTheTranscript()
    {
        final Map<String, String> results = QemuGuest.parse("[ 1.0] noise\nJV-RESULT a=1 b=two\r\n"
            + "[ 2.0] JV-RESULT c=x=y\nJV-RESULT a=3\nno result here\n");
        assertEquals(Map.of("a", "3", "b", "two", "c", "x=y"), results);
    }

    @Test
    void shouldResolveKernelPackageFromMetaPackageDependency()
    {
        assertEquals(Optional.of("linux-image-6.1.0-56-cloud-amd64"), GuestKit.parseKernelDependency(
            "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n"));
        assertEquals(Optional.empty(), GuestKit.parseKernelDependency("N: Unable to locate package\n"));
    }

    @Test
    void shouldBuildQemuLinesAfterRealGuestsFacts()
    {
        final Path socket = Path.of("net.sock");
        final List<String> microvm = QemuGuest.on(Machine.MICROVM).netVhostUser(socket)
            .commandLine(Path.of("vmlinuz"), Path.of("initrd"));
        final String mmio = String.join(" ", microvm);
        assertTrue(mmio.contains("-M microvm,memory-backend=mem"), mmio);
        assertTrue(mmio.contains("-global virtio-mmio.force-legacy=false"), "virtio 1.x on microvm: " + mmio);
        assertTrue(mmio.contains("memory-backend-memfd,id=mem,size=256M,share=on"), "vhost-user needs share=on");
        assertTrue(mmio.contains("-chardev socket,id=cn0,path=net.sock -netdev vhost-user,id=n0,chardev=cn0 "
            + "-device virtio-net-device,netdev=n0"), mmio);
        final String pci = String.join(" ", QemuGuest.on(Machine.Q35).blkFile(Path.of("d.img"), true)
            .blkVhostUser(socket).commandLine(Path.of("vmlinuz"), Path.of("initrd")));
        assertTrue(pci.contains("-device virtio-blk-pci,drive=d0,disable-legacy=on,vectors=0"), pci);
        assertTrue(pci.contains("readonly=on"), pci);
        assertTrue(pci.contains("-device vhost-user-blk-pci,chardev=c1,disable-legacy=on,vectors=0"),
            "INTx: TCG + vhost-user + MSI-X crashes QEMU 7.2: " + pci);
        assertFalse(pci.contains("force-legacy"), pci);
    }

    @Test
    void shouldMakeThePatternTheGuestMakes()
    {
        final byte[] pattern = GuestScripts.pattern();
        assertEquals(GuestScripts.PATTERN_BYTES, pattern.length);
        assertEquals(GuestScripts.PATTERN_LINE, new String(pattern, 32, 32, StandardCharsets.US_ASCII));
    }
}
