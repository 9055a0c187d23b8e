package io.jvirtio.bus.guest;

import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.x86.AccessType;
import io.jvirtio.bus.x86.PageSize;
import io.jvirtio.bus.x86.PageTableEntry;
import io.jvirtio.bus.x86.PageWalker;
import io.jvirtio.bus.x86.Translation;
import io.jvirtio.bus.x86.WalkStatus;
import io.jvirtio.bus.x86.X86Registers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Page tables laid out by the builder, checked by walking them as the exit path does. */
class PageTableBuilderTest
{
    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;
    private static final long POOL = 0x10_0000L;

    private final GuestMemory memory = GuestMemory.anonymous(16 * MIB);
    private final PageTableBuilder builder = new PageTableBuilder(memory, POOL, 64 * 1024);
    private final PageWalker walker = new PageWalker(memory);
    private final X86Registers regs = new X86Registers().enterLongMode(builder.cr3());
    private final Translation out = new Translation();

    @AfterEach
    void close()
    {
        memory.close();
    }

    private long translate(final long linear, final AccessType access, final PageSize expectedSize)
    {
        assertEquals(WalkStatus.OK, walker.translate(regs, linear, access, out), () -> out.toString());
        assertEquals(expectedSize, out.pageSize());
        return out.gpa();
    }

    @Test
    void shouldPutPml4AtStartOfPoolAndGiveItAsCr3()
    {
        assertEquals(POOL, builder.cr3());
        assertEquals(1, builder.tablesUsed());
        assertEquals(15, builder.tablesFree());
    }

    @Test
    void shouldIdentityMapWith4KiBPages()
    {
        builder.identityMap(0x20_0000L, 0x3000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_DATA);
        assertEquals(0x20_0000L, translate(0x20_0000L, AccessType.READ, PageSize.SIZE_4K));
        assertEquals(0x20_2FFFL, translate(0x20_2FFFL, AccessType.WRITE, PageSize.SIZE_4K));
        assertEquals(WalkStatus.NOT_PRESENT, walker.translate(regs, 0x20_3000L, AccessType.READ, out));
        assertEquals(4, builder.tablesUsed(), "one table per level, shared by the three pages");
    }

    @Test
    void shouldMapWith2MiBPages()
    {
        builder.identityMap(0, 4 * MIB, PageSize.SIZE_2M, PageTableBuilder.KERNEL_CODE);
        assertEquals(0x31_2345L, translate(0x31_2345L, AccessType.FETCH, PageSize.SIZE_2M));
        assertEquals(3, builder.tablesUsed(), "PML4, PDPT, PD");
    }

    @Test
    void shouldMapWith1GiBPagesBeyondRam()
    {
        builder.map(0xFFFF_FFFF_8000_0000L, 3 * GIB, GIB, PageSize.SIZE_1G, PageTableBuilder.DEVICE);
        assertEquals(3 * GIB + 0x1234_5678L, translate(0xFFFF_FFFF_9234_5678L, AccessType.WRITE, PageSize.SIZE_1G));
        assertEquals(WalkStatus.EXECUTE_DISABLED,
            walker.translate(regs, 0xFFFF_FFFF_8000_0000L, AccessType.FETCH, out), "device memory is not code");
        final long leaf = out.entry();
        assertEquals(PageTableEntry.CACHE_DISABLE | PageTableEntry.WRITE_THROUGH,
            leaf & (PageTableEntry.CACHE_DISABLE | PageTableEntry.WRITE_THROUGH));
    }

    @Test
    void shouldDirectMapRamAtLinuxPageOffset()
    {
        builder.directMap(PageTableBuilder.LINUX_PAGE_OFFSET, 0, 16 * MIB, PageSize.SIZE_2M,
            PageTableBuilder.KERNEL_DATA);
        assertEquals(0x1000, translate(0xFFFF_8880_0000_1000L, AccessType.READ, PageSize.SIZE_2M));
        assertEquals(16 * MIB - 1, translate(0xFFFF_8880_00FF_FFFFL, AccessType.READ, PageSize.SIZE_2M));
        assertEquals(WalkStatus.NOT_PRESENT, walker.translate(regs, 0x1000, AccessType.READ, out),
            "the direct map alone leaves low addresses unmapped");
    }

    @Test
    void shouldMixPageSizesInOneTree()
    {
        builder.identityMap(0, 2 * MIB, PageSize.SIZE_4K, PageTableBuilder.KERNEL_CODE)
            .identityMap(2 * MIB, 2 * MIB, PageSize.SIZE_2M, PageTableBuilder.KERNEL_DATA)
            .identityMap(GIB, GIB, PageSize.SIZE_1G, PageTableBuilder.KERNEL_DATA);
        assertEquals(0x1_F000L, translate(0x1_F000L, AccessType.FETCH, PageSize.SIZE_4K));
        assertEquals(3 * MIB, translate(3 * MIB, AccessType.READ, PageSize.SIZE_2M));
        assertEquals(GIB + 5, translate(GIB + 5, AccessType.READ, PageSize.SIZE_1G));
    }

    @Test
    void shouldKeepLeafFlagsAndAllowUserLeaves()
    {
        builder.identityMap(0x40_0000L, 0x1000, PageSize.SIZE_4K, PageTableEntry.USER);
        assertEquals(WalkStatus.WRITE_PROTECTED, walker.translate(regs, 0x40_0000L, AccessType.WRITE, out),
            "a leaf without R/W is read-only");
        assertEquals(PageTableEntry.USER | PageTableEntry.PRESENT, out.entry() & 0xFFF);
        assertTrue(walker.translate(regs, 0x40_0000L, AccessType.READ, out).isOk());
    }

    @Test
    void shouldRefuseToMapTwice()
    {
        builder.identityMap(0x20_0000L, 0x1000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_DATA);
        final IllegalStateException ex = assertThrows(IllegalStateException.class,
            () -> builder.identityMap(0x20_0000L, 0x1000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_DATA));
        assertEquals("linear address is already mapped: linear=0x200000, pageSize=SIZE_4K", ex.getMessage());
        assertThrows(IllegalStateException.class,
            () -> builder.identityMap(0x20_0000L, 2 * MIB, PageSize.SIZE_2M, PageTableBuilder.KERNEL_DATA),
            "a large page over an existing table");
    }

    @Test
    void shouldRefuseSmallPageInsideLargePage()
    {
        builder.identityMap(0, 2 * MIB, PageSize.SIZE_2M, PageTableBuilder.KERNEL_DATA);
        final IllegalStateException ex = assertThrows(IllegalStateException.class,
            () -> builder.identityMap(0x1000, 0x1000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_DATA));
        assertEquals("linear address is already mapped by a large page: linear=0x1000, level=2", ex.getMessage());
    }

    @Test
    void shouldRefuseMisalignedOrNonCanonicalRanges()
    {
        assertThrows(IllegalArgumentException.class,
            () -> builder.identityMap(0x1000, 2 * MIB, PageSize.SIZE_2M, PageTableBuilder.KERNEL_DATA));
        assertThrows(IllegalArgumentException.class,
            () -> builder.map(0, 0x800, 0x1000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_DATA));
        assertThrows(IllegalArgumentException.class,
            () -> builder.map(0x0000_8000_0000_0000L, 0, 0x1000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_DATA));
        assertThrows(IllegalArgumentException.class,
            () -> builder.map(0x7FFF_FFFF_F000L, 0, 0x2000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_DATA),
            "a range that runs into the canonical hole");
        assertThrows(IllegalArgumentException.class,
            () -> builder.map(0, 1L << 52, 0x1000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_DATA));
        assertThrows(IllegalArgumentException.class,
            () -> builder.map(0, 0, 0x1000, PageSize.SIZE_4K, PageTableEntry.PAGE_SIZE));
        assertThrows(IllegalArgumentException.class,
            () -> builder.map(0, 0, 0, PageSize.SIZE_4K, PageTableBuilder.KERNEL_DATA));
    }

    @Test
    void shouldFailWhenPoolIsExhausted()
    {
        final PageTableBuilder small = new PageTableBuilder(memory, 0x20_0000L, 0x2000);
        final IllegalStateException ex = assertThrows(IllegalStateException.class,
            () -> small.identityMap(0, 0x1000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_DATA));
        assertEquals("page-table pool is exhausted: poolBase=0x200000, tables=2", ex.getMessage());
    }

    @Test
    void shouldRefusePoolOutsideRam()
    {
        assertThrows(IllegalArgumentException.class, () -> new PageTableBuilder(memory, 16 * MIB, 0x1000));
        assertThrows(IllegalArgumentException.class, () -> new PageTableBuilder(memory, 0x800, 0x1000));
    }

    @Test
    void shouldZeroTablesTakenFromPool()
    {
        memory.fill(0x30_0000L, 0x4000, (byte)0xFF);
        final PageTableBuilder dirty = new PageTableBuilder(memory, 0x30_0000L, 0x4000);
        dirty.identityMap(0, 0x1000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_DATA);
        regs.cr3(dirty.cr3());
        assertEquals(WalkStatus.NOT_PRESENT, walker.translate(regs, 0x1000, AccessType.READ, out),
            "the PT entry next to the mapped one must read as not present");
        assertEquals(1, out.level());
    }
}
