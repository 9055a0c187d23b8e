package io.jvirtio.blk.backend;

import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestRegion;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The memory backend: transfers, zeroing, read-only refusal, ID. */
class MemoryBlockBackendTest
{
    @Test
    void shouldRoundTripThroughGuestMemory() throws Exception
    {
        try (GuestMemory memory = GuestMemory.of(GuestRegion.anonymous(0, 1L << 16));
            MemoryBlockBackend disk = new MemoryBlockBackend(16, false, "mem"))
        {
            for (int i = 0; i < 1024; i++)
            {
                memory.putByte(i, (byte)i);
            }
            disk.write(1024, memory, 0, 1024);
            disk.read(1024, memory, 0x4000, 1024);
            final byte[] a = new byte[1024];
            final byte[] b = new byte[1024];
            memory.copyOut(0, a, 0, 1024);
            memory.copyOut(0x4000, b, 0, 1024);
            assertArrayEquals(a, b);
            disk.writeZeroes(1024, 512, false);
            disk.discard(1536, 512);
            assertArrayEquals(new byte[1024], disk.segment().asSlice(1024, 1024).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(16, disk.capacity());
            assertArrayEquals("mem".getBytes(), disk.id());
        }
    }

    @Test
    void shouldRefuseWritesWhenReadOnly() throws Exception
    {
        try (GuestMemory memory = GuestMemory.of(GuestRegion.anonymous(0, 1L << 16));
            MemoryBlockBackend disk = new MemoryBlockBackend(16, true, "ro"))
        {
            memory.fill(0, 512, (byte)1);
            assertThrows(BlockBackendException.class, () -> disk.write(0, memory, 0, 512));
            assertThrows(BlockBackendException.class, () -> disk.writeZeroes(0, 512, false));
            assertThrows(BlockBackendException.class, () -> disk.discard(0, 512));
            assertEquals(0, disk.segment().get(ValueLayout.JAVA_BYTE, 0));
        }
    }
}
