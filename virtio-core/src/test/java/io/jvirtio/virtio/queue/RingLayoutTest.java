package io.jvirtio.virtio.queue;

import io.jvirtio.bus.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The three split-ring layouts against virtio-v1.2 §2.7: offsets, sizes, alignments and byte order. */
class RingLayoutTest
{
    @Test
    void shouldPlaceDescriptorFieldsAsStructVirtqDesc()
    {
        assertEquals(0, DescriptorLayout.ADDR_OFFSET);
        assertEquals(8, DescriptorLayout.LEN_OFFSET);
        assertEquals(12, DescriptorLayout.FLAGS_OFFSET);
        assertEquals(14, DescriptorLayout.NEXT_OFFSET);
        assertEquals(16, DescriptorLayout.LENGTH);
        assertEquals(16 * 256, DescriptorLayout.tableLength(256));
        assertEquals(16L * 32768, DescriptorLayout.tableLength(32768));
        assertEquals(1, DescriptorLayout.VIRTQ_DESC_F_NEXT);
        assertEquals(2, DescriptorLayout.VIRTQ_DESC_F_WRITE);
        assertEquals(4, DescriptorLayout.VIRTQ_DESC_F_INDIRECT);
    }

    @Test
    void shouldSizeAvailRingAsSixPlusTwoN()
    {
        assertEquals(0, AvailRingLayout.FLAGS_OFFSET);
        assertEquals(2, AvailRingLayout.IDX_OFFSET);
        assertEquals(4, AvailRingLayout.RING_OFFSET);
        assertEquals(4 + 2 * 7, AvailRingLayout.ringEntryOffset(7));
        assertEquals(4 + 2 * 256, AvailRingLayout.usedEventOffset(256));
        assertEquals(6 + 2 * 256, AvailRingLayout.length(256));
        assertEquals(6 + 2L * 32768, AvailRingLayout.length(32768));
    }

    @Test
    void shouldSizeUsedRingAsSixPlusEightN()
    {
        assertEquals(0, UsedRingLayout.FLAGS_OFFSET);
        assertEquals(2, UsedRingLayout.IDX_OFFSET);
        assertEquals(4, UsedRingLayout.RING_OFFSET);
        assertEquals(0, UsedRingLayout.ELEMENT_ID_OFFSET);
        assertEquals(4, UsedRingLayout.ELEMENT_LEN_OFFSET);
        assertEquals(8, UsedRingLayout.ELEMENT_LENGTH);
        assertEquals(4 + 8 * 3, UsedRingLayout.elementOffset(3));
        assertEquals(4 + 8 * 256, UsedRingLayout.availEventOffset(256));
        assertEquals(6 + 8 * 256, UsedRingLayout.length(256));
        assertEquals(6 + 8L * 32768, UsedRingLayout.length(32768));
    }

    @Test
    void shouldLayOutContiguousRingsWithSpecAlignment()
    {
        final SplitQueueConfig config = SplitQueueConfig.contiguous(0x10000, 8, true, false);
        assertEquals(0x10000, config.descTable());
        assertEquals(0x10000 + 128, config.availRing());
        assertEquals(0x10000 + 128 + 24, config.usedRing(), "6 + 2 * 8 = 22 bytes, rounded up to 4-byte alignment");
        assertEquals(128 + 24 + 70, SplitQueueConfig.contiguousLength(8));
        assertEquals(0, config.usedRing() % UsedRingLayout.ALIGNMENT);
        assertEquals(true, config.eventIdx());
    }

    /** A descriptor and a used element as little-endian bytes, field by field. */
    @Test
    void shouldEncodeFieldsLittleEndian()
    {
        try (GuestMemory memory = GuestMemory.anonymous(1 << 20))
        {
            final SplitQueueConfig config = SplitQueueConfig.contiguous(0x1000, 4, false, false);
            final RawSplitRing raw = new RawSplitRing(memory, config);
            raw.descriptor(1, 0x1122_3344_5566_7788L, 0xAABB_CCDDL, 0x0003, 0x0102);
            final byte[] bytes = new byte[16];
            memory.copyOut(0x1000 + 16, bytes, 0, 16);
            assertEquals("8877665544332211" + "ddccbbaa" + "0300" + "0201", HexFormat.of().formatHex(bytes));

            memory.putIntLE(config.usedRing() + UsedRingLayout.elementOffset(2), 3);
            memory.putIntLE(config.usedRing() + UsedRingLayout.elementOffset(2) + 4, 0x200);
            assertEquals(3, raw.usedId(2));
            assertEquals(0x200, raw.usedLen(2));
        }
    }
}
