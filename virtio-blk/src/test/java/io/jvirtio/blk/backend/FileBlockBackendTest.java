package io.jvirtio.blk.backend;

import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The raw-image backend: persistence, locking, size rules, read-only mode, zeroing. */
class FileBlockBackendTest
{
    private static final long SECTORS = 128;

    @TempDir
    Path dir;

    private final GuestMemory memory = GuestMemory.of(GuestRegion.anonymous(0, 1L << 20));

    @AfterEach
    void tearDown()
    {
        memory.close();
    }

    private byte[] guest(final long gpa, final int length)
    {
        final byte[] bytes = new byte[length];
        memory.copyOut(gpa, bytes, 0, length);
        return bytes;
    }

    @Test
    void shouldKeepDataAcrossCloseAndReopen() throws IOException
    {
        final Path image = dir.resolve("disk.img");
        memory.fill(0x1000, 4096, (byte)0xA5);
        try (FileBlockBackend disk = FileBlockBackend.create(image, SECTORS, "d"))
        {
            assertEquals(SECTORS, disk.capacity());
            assertEquals(SECTORS * 512, Files.size(image));
            disk.write(3 * 512, memory, 0x1000, 4096);
            disk.flush();
        }
        try (FileBlockBackend disk = FileBlockBackend.open(image, SECTORS, false, "d"))
        {
            disk.read(3 * 512, memory, 0x8000, 4096);
            assertArrayEquals(guest(0x1000, 4096), guest(0x8000, 4096));
            disk.read(0, memory, 0x8000, 512);
            assertArrayEquals(new byte[512], guest(0x8000, 512), "never-written sectors read as zeroes");
        }
    }

    @Test
    void shouldCountAForceForEveryFlush() throws IOException
    {
        try (FileBlockBackend disk = FileBlockBackend.create(dir.resolve("f.img"), SECTORS, "d"))
        {
            disk.flush();
            disk.flush();
            assertEquals(2, disk.forces());
        }
    }

    @Test
    void shouldRefuseASecondWriterAndAReaderWhileAWriterHoldsTheImage() throws IOException
    {
        final Path image = dir.resolve("locked.img");
        try (FileBlockBackend first = FileBlockBackend.create(image, SECTORS, "d"))
        {
            assertThrows(BlockBackendException.class, () -> FileBlockBackend.open(image, false, "d"));
            assertThrows(BlockBackendException.class, () -> FileBlockBackend.open(image, true, "d"));
            assertFalse(first.isReadOnly());
        }
        try (FileBlockBackend again = FileBlockBackend.open(image, false, "d"))
        {
            assertEquals(SECTORS, again.capacity(), "the lock is released on close");
        }
    }

    @Test
    void shouldOpenReadOnlyWithASharedLockAndRefuseWrites() throws IOException
    {
        final Path image = dir.resolve("ro.img");
        final byte[] content = new byte[(int)SECTORS * 512];
        Arrays.fill(content, (byte)9);
        Files.write(image, content);
        try (FileBlockBackend ro = FileBlockBackend.open(image, true, "d"))
        {
            assertTrue(ro.isReadOnly());
            assertThrows(BlockBackendException.class, () -> FileBlockBackend.open(image, false, "d"));
            memory.fill(0, 512, (byte)1);
            assertThrows(BlockBackendException.class, () -> ro.write(0, memory, 0, 512));
            assertThrows(BlockBackendException.class, () -> ro.writeZeroes(0, 512, false));
            assertThrows(BlockBackendException.class, () -> ro.discard(0, 512));
        }
        assertArrayEquals(content, Files.readAllBytes(image));
    }

    @Test
    void shouldRefuseASizeMismatchAndLeaveTheFileAlone() throws IOException
    {
        final Path image = dir.resolve("size.img");
        Files.write(image, new byte[1000]);
        assertThrows(BlockBackendException.class, () -> FileBlockBackend.open(image, false, "d"));
        assertEquals(1000, Files.size(image));
        final Path exact = dir.resolve("exact.img");
        Files.write(exact, new byte[4096]);
        assertThrows(BlockBackendException.class, () -> FileBlockBackend.open(exact, 9, false, "d"));
        assertThrows(BlockBackendException.class, () -> FileBlockBackend.open(exact, 7, false, "d"));
        assertEquals(4096, Files.size(exact));
        final Path empty = dir.resolve("empty.img");
        Files.write(empty, new byte[0]);
        assertThrows(BlockBackendException.class, () -> FileBlockBackend.open(empty, false, "d"));
        assertEquals(0, Files.size(empty));
    }

    @Test
    void shouldNotCreateOverAnExistingImage() throws IOException
    {
        final Path image = dir.resolve("exists.img");
        Files.write(image, new byte[512]);
        assertThrows(FileAlreadyExistsException.class, () -> FileBlockBackend.create(image, SECTORS, "d"));
        assertEquals(512, Files.size(image));
    }

    @Test
    void shouldReadZeroesAfterDiscardAndWriteZeroes() throws IOException
    {
        try (FileBlockBackend disk = FileBlockBackend.create(dir.resolve("z.img"), SECTORS, "d"))
        {
            memory.fill(0, 200 * 1024, (byte)0x3C);
            disk.write(0, memory, 0, SECTORS * 512);
            disk.discard(512, 1024);
            disk.writeZeroes(100 * 512, 20 * 512, true);
            disk.read(0, memory, 0x10_0000 - 0x1_0000, 4096);
            final byte[] head = guest(0x10_0000 - 0x1_0000, 4096);
            assertEquals(0x3C, head[511]);
            assertArrayEquals(new byte[1024], Arrays.copyOfRange(head, 512, 1536));
            assertEquals(0x3C, head[1536]);
            disk.read(100 * 512, memory, 0x8_0000, 20 * 512);
            assertArrayEquals(new byte[20 * 512], guest(0x8_0000, 20 * 512));
        }
    }

    @Test
    void shouldRefuseIdsLongerThanTwentyBytes()
    {
        assertThrows(IllegalArgumentException.class,
            () -> FileBlockBackend.create(dir.resolve("id.img"), SECTORS, "123456789012345678901"));
        assertFalse(Files.exists(dir.resolve("id.img")));
    }

    @Test
    void shouldCountAndThrowWhenTheImageEndsBeforeTheRead() throws IOException
    {
        final Path image = dir.resolve("shrunk.img");
        try (FileBlockBackend disk = FileBlockBackend.create(image, SECTORS, "d"))
        {
            // another process cuts the image short under the open backend
            try (FileChannel other = FileChannel.open(image, StandardOpenOption.WRITE))
            {
                other.truncate(SECTORS * 512 / 2);
            }
            final BlockBackendException ex = assertThrows(BlockBackendException.class,
                () -> disk.read((SECTORS - 8) * 512, memory, 0x1000, 4096));
            assertTrue(ex.getMessage().startsWith("image ended before the read did"), ex.getMessage());
            assertEquals(1, disk.errors());
            disk.read(0, memory, 0x1000, 4096);
            assertEquals(1, disk.errors(), "a read inside the file still works");
        }
    }

    @Test
    void shouldCountAndThrowWhenTheGuestRangeIsNotRam() throws IOException
    {
        try (FileBlockBackend disk = FileBlockBackend.create(dir.resolve("norm.img"), SECTORS, "d"))
        {
            assertThrows(BlockBackendException.class, () -> disk.read(0, memory, (1L << 20) - 512, 4096));
            assertThrows(BlockBackendException.class, () -> disk.write(0, memory, 1L << 40, 512));
            assertEquals(2, disk.errors());
        }
    }
}
