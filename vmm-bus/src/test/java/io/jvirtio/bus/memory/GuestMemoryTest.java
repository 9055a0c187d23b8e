package io.jvirtio.bus.memory;

import io.jvirtio.bus.linux.Libc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class GuestMemoryTest
{
    private static final long MIB = 1 << 20;

    /** RAM at [0, 1 MiB) and [2 MiB, 3 MiB), with a hole between them, as a VMM lays out RAM around an MMIO gap. */
    private static GuestMemory twoRegions()
    {
        return GuestMemory.of(GuestRegion.anonymous(2 * MIB, MIB), GuestRegion.anonymous(0, MIB));
    }

    @Test
    void shouldStoreLittleEndianValuesOfEveryWidth()
    {
        try (GuestMemory memory = twoRegions())
        {
            memory.putLongLE(0x100, 0x1122_3344_5566_7788L);
            assertEquals(0x88, memory.getByte(0x100) & 0xFF, "lowest byte first");
            assertEquals((short)0x7788, memory.getShortLE(0x100));
            assertEquals(0x5566_7788, memory.getIntLE(0x100));
            assertEquals(0x1122_3344_5566_7788L, memory.getLongLE(0x100));

            memory.putShortLE(2 * MIB + 1, (short)0xBEEF);
            assertEquals(0xEF, memory.getByte(2 * MIB + 1) & 0xFF);
            memory.putIntLE(2 * MIB + 7, 0xCAFE_BABE);
            assertEquals(0xCAFE_BABEL, memory.getLE(2 * MIB + 7, 4), "getLE zero-extends");
            memory.putLE(8, 2, 0xFFFF_1234L);
            assertEquals(0x1234, memory.getLE(8, 2));
            assertEquals(0, memory.getLE(10, 2), "putLE writes only size bytes");
        }
    }

    @Test
    void shouldPairAcquireAndReleaseAccessors()
    {
        try (GuestMemory memory = GuestMemory.anonymous(MIB))
        {
            memory.putShortReleaseLE(0x10, (short)7);
            memory.putIntReleaseLE(0x20, 8);
            memory.putLongReleaseLE(0x30, 9);
            assertEquals(7, memory.getShortAcquireLE(0x10));
            assertEquals(8, memory.getIntAcquireLE(0x20));
            assertEquals(9, memory.getLongAcquireLE(0x30));
        }
    }

    @Test
    void shouldRefuseRangeThatWrapsPastTopOfAddressSpace()
    {
        try (GuestMemory memory = twoRegions())
        {
            final GuestMemoryException ex =
                assertThrows(GuestMemoryException.class, () -> memory.getLongLE(0xFFFF_FFFF_FFFF_FFFCL));
            assertEquals(GuestMemoryException.Reason.WRAPS, ex.reason());
            assertEquals(0xFFFF_FFFF_FFFF_FFFCL, ex.gpa());
            assertEquals(8, ex.length());
            assertTrue(ex.getMessage().contains("gpa=0xfffffffffffffffc") && ex.getMessage().contains("length=8"),
                ex.getMessage());
            assertFalse(memory.isRam(0xFFFF_FFFF_FFFF_FFFCL, 8));
        }
    }

    @Test
    void shouldRefuseRangeOutsideRam()
    {
        try (GuestMemory memory = twoRegions())
        {
            final GuestMemoryException hole = assertThrows(GuestMemoryException.class, () -> memory.getByte(MIB));
            assertEquals(GuestMemoryException.Reason.NOT_RAM, hole.reason());
            final GuestMemoryException above =
                assertThrows(GuestMemoryException.class, () -> memory.putIntLE(3 * MIB, 1));
            assertEquals(GuestMemoryException.Reason.NOT_RAM, above.reason());
            assertFalse(memory.isRam(MIB));
            assertTrue(memory.isRam(MIB - 1));
        }
    }

    @Test
    void shouldRefuseRangeThatRunsOffTheEndOfItsRegion()
    {
        try (GuestMemory memory = twoRegions())
        {
            final GuestMemoryException ex =
                assertThrows(GuestMemoryException.class, () -> memory.getIntLE(MIB - 2));
            assertEquals(GuestMemoryException.Reason.CROSSES_REGION, ex.reason());
            assertThrows(GuestMemoryException.class, () -> memory.getLongLE(3 * MIB - 4));
        }
    }

    @Test
    void shouldRefuseRangeThatCrossesIntoAdjacentRegion()
    {
        try (GuestMemory memory = GuestMemory.of(GuestRegion.anonymous(0, MIB), GuestRegion.anonymous(MIB, MIB)))
        {
            final GuestMemoryException ex =
                assertThrows(GuestMemoryException.class, () -> memory.copyOut(MIB - 8, new byte[16], 0, 16));
            assertEquals(GuestMemoryException.Reason.CROSSES_REGION, ex.reason());
            assertFalse(memory.isRam(MIB - 8, 16), "adjacent regions are still two regions");
            assertTrue(memory.isRam(MIB, 16));
        }
    }

    @Test
    void shouldRefuseNegativeLength()
    {
        try (GuestMemory memory = GuestMemory.anonymous(MIB))
        {
            final GuestMemoryException ex = assertThrows(GuestMemoryException.class, () -> memory.slice(0, -1));
            assertEquals(GuestMemoryException.Reason.BAD_LENGTH, ex.reason());
        }
    }

    @Test
    void shouldRefuseOverlappingRegions()
    {
        final GuestRegion a = GuestRegion.anonymous(0, 2 * MIB);
        final GuestRegion b = GuestRegion.anonymous(MIB, MIB);
        try
        {
            assertThrows(IllegalArgumentException.class, () -> GuestMemory.of(a, b));
        }
        finally
        {
            a.close();
            b.close();
        }
    }

    @Test
    void shouldCopyInAndOutAndWithin()
    {
        try (GuestMemory memory = twoRegions())
        {
            final byte[] data = {1, 2, 3, 4, 5, 6, 7, 8};
            memory.copyIn(0x40, data, 0, data.length);
            memory.copyWithin(2 * MIB, 0x40, data.length);
            final byte[] back = new byte[8];
            memory.copyOut(2 * MIB, back, 0, back.length);
            assertArrayEquals(data, back);

            final MemorySegment native8 = MemorySegment.ofArray(new byte[8]);
            memory.copyOut(0x40, native8, 0, 8);
            assertEquals(5, native8.get(ValueLayout.JAVA_BYTE, 4));
            memory.copyIn(0x80, native8, 2, 4);
            assertEquals(3, memory.getByte(0x80));
            memory.fill(0x40, 8, (byte)0x5A);
            assertEquals(0x5A5A_5A5A_5A5A_5A5AL, memory.getLongLE(0x40));
        }
    }

    @Test
    void shouldCheckEveryAccessThroughASlice()
    {
        try (GuestMemory memory = GuestMemory.anonymous(MIB))
        {
            final MemorySegment slice = memory.slice(0x1000, 16);
            slice.set(ValueLayout.JAVA_BYTE, 15, (byte)9);
            assertEquals(9, memory.getByte(0x100F));
            assertThrows(IndexOutOfBoundsException.class, () -> slice.get(ValueLayout.JAVA_BYTE, 16));
            assertEquals(0, memory.slice(MIB, 0).byteSize(), "an empty range at the end of RAM is valid");
        }
    }

    @Test
    void shouldFailAfterCloseInsteadOfTouchingUnmappedMemory()
    {
        final GuestMemory memory = GuestMemory.anonymous(MIB);
        memory.putIntLE(0, 1);
        memory.close();
        assertThrows(IllegalStateException.class, () -> memory.getIntLE(0));
    }

    @Test
    void shouldShareMemfdPagesThroughItsFd() throws IOException
    {
        assumeTrue(Libc.isAvailable(), Libc.unavailableReason());
        try (GuestMemory memory = GuestMemory.of(GuestRegion.memfd(0x10_0000, MIB, "guest-ram")))
        {
            final GuestRegion region = memory.regions().getFirst();
            assertEquals(GuestRegion.Backing.MEMFD, region.backing());
            assertTrue(region.fd() >= 0);
            memory.putLongLE(0x10_0000 + 64, 0x0123_4567_89AB_CDEFL);
            // Another process would open /proc/<pid>/fd/<fd>; a second mapping of the same fd sees the same bytes.
            final Path procFd = Path.of("/proc/self/fd/" + region.fd());
            try (FileChannel channel = FileChannel.open(procFd, StandardOpenOption.READ))
            {
                final ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                channel.read(buf, 64);
                assertEquals(0x0123_4567_89AB_CDEFL, buf.flip().getLong());
            }
        }
    }

    @Test
    void shouldBackRegionWithFile(@TempDir final Path dir) throws IOException
    {
        final Path image = dir.resolve("ram.img");
        try (GuestMemory memory = GuestMemory.of(GuestRegion.file(0, 64 * 1024, image)))
        {
            memory.putIntLE(100, 0xA5A5_0001);
        }
        assertEquals(64 * 1024, Files.size(image));
        final ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(image)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0xA5A5_0001, buf.getInt(100));
    }

    @Test
    void shouldRefuseUnalignedRegionGeometry()
    {
        assertThrows(IllegalArgumentException.class, () -> GuestRegion.anonymous(0x800, MIB));
        assertThrows(IllegalArgumentException.class, () -> GuestRegion.anonymous(0, 100));
        assertThrows(IllegalArgumentException.class, () -> GuestRegion.anonymous(-4096, 8192));
    }

    @Test
    void shouldShareMemfdPagesWhenDescriptorIsAdoptedAtOffset()
    {
        assumeTrue(Libc.isAvailable(), Libc.unavailableReason());
        try (GuestRegion front = GuestRegion.memfd(0, 4 * 4096, "front-end"))
        {
            front.segment().set(ValueLayout.JAVA_INT_UNALIGNED, 2 * 4096 + 0x10, 0x5151_7272);
            final int fd = Libc.dup(front.fd());
            try (GuestMemory back = GuestMemory.of(wrap(() -> GuestRegion.adopt(0x10_0000, 4096 + 0x800, fd,
                4096 + 0x800))))
            {
                final GuestRegion region = back.regions().get(0);
                assertEquals(GuestRegion.Backing.ADOPTED, region.backing());
                assertEquals(4096 + 0x800, region.size());
                assertEquals(0x5151_7272, back.getIntLE(0x10_0000 + 0x800 + 0x10), "the file at offset 2 pages + 0x10");
                back.putIntLE(0x10_0000, 0x0102_0304);
                assertEquals(0x0102_0304, front.segment().get(ValueLayout.JAVA_INT_UNALIGNED, 4096 + 0x800));
            }
            assertFalse(isOpen(fd), "closing the adopted region closes its descriptor");
        }
    }

    @Test
    void shouldRefuseAdoptedRegionWhenSizeIsZeroOrWrapsOrDoesNotMap()
    {
        assumeTrue(Libc.isAvailable(), Libc.unavailableReason());
        try (GuestRegion front = GuestRegion.memfd(0, 4096, "front-end"))
        {
            final int zero = Libc.dup(front.fd());
            assertThrows(GuestMemoryException.class, () -> GuestRegion.adopt(0, 0, zero, 0));
            assertFalse(isOpen(zero), "a refused descriptor is closed");
            final int wraps = Libc.dup(front.fd());
            assertThrows(GuestMemoryException.class, () -> GuestRegion.adopt(-4096, 8192, wraps, 0));
            final int notOpen = Libc.dup(front.fd());
            Libc.close(notOpen);
            assertThrows(IOException.class, () -> GuestRegion.adopt(0, 4096, notOpen, 0));
            final int shortFile = Libc.dup(front.fd());
            assertThrows(IOException.class, () -> GuestRegion.adopt(0, 8192, shortFile, 0),
                "a region past the end of its file would raise SIGBUS on access");
            assertFalse(isOpen(shortFile));
            final int eventFd = Libc.eventfd(0, Libc.EFD_CLOEXEC);
            assertThrows(IOException.class, () -> GuestRegion.adopt(0, 4096, eventFd, 0), "an eventfd does not map");
        }
    }

    private static boolean isOpen(final int fd)
    {
        final int copy = Libc.dup(fd);
        if (copy >= 0)
        {
            Libc.close(copy);
            return true;
        }
        return false;
    }

    /** The region factory that declares IOException, for use inside an expression. */
    private interface RegionFactory
    {
        GuestRegion make() throws IOException;
    }

    private static GuestRegion wrap(final RegionFactory factory)
    {
        try
        {
            return factory.make();
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
