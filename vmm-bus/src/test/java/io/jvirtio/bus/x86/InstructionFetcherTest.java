package io.jvirtio.bus.x86;

import io.jvirtio.bus.guest.PageTableBuilder;
import io.jvirtio.bus.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Instruction fetch at RIP through the page tables. The code page at linear 0x400000 maps guest-physical 0x200000;
 * the page after it, when mapped, maps 0x300000, so a fetch across the boundary must translate each page.
 */
class InstructionFetcherTest
{
    private static final long CODE = 0x40_0000L;
    private static final long NEXT = CODE + 0x1000;
    private static final long CODE_GPA = 0x20_0000L;
    private static final long NEXT_GPA = 0x30_0000L;
    /** {@code movq $0x1,0x1000}: 12 bytes. */
    private static final String LONG_INSN = "48 c7 04 25 00 10 00 00 01 00 00 00";
    /** 6 bytes before the end of the code page. */
    private static final long NEAR_END = NEXT - 6;

    private final GuestMemory memory = GuestMemory.anonymous(8L << 20);
    private final PageTableBuilder tables = new PageTableBuilder(memory, 0x10_0000L, 0x10_000L);
    private final PageWalker walker = new PageWalker(memory);
    private final InstructionFetcher fetcher = new InstructionFetcher(memory, walker);
    private final InstructionDecoder decoder = new InstructionDecoder();
    private final DecodedInstruction insn = new DecodedInstruction();
    private final X86Registers regs = new X86Registers();

    InstructionFetcherTest()
    {
        tables.map(CODE, CODE_GPA, 0x1000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_CODE);
        regs.enterLongMode(tables.cr3());
        memory.fill(CODE_GPA, 0x1000, (byte)0x90);
        memory.fill(NEXT_GPA, 0x1000, (byte)0x90);
    }

    @AfterEach
    void close()
    {
        memory.close();
    }

    /** Writes instruction bytes as they would lie at {@code linear}, page by page. */
    private void place(final long linear, final String hex)
    {
        final byte[] bytes = Hex.bytes(hex);
        for (int i = 0; i < bytes.length; i++)
        {
            final long at = linear + i;
            final long gpa = (at < NEXT ? CODE_GPA : NEXT_GPA) + (at & 0xFFF);
            memory.putByte(gpa, bytes[i]);
        }
    }

    @Test
    void shouldFetchAcrossPageBoundaryFromTwoSeparatelyTranslatedPages()
    {
        tables.map(NEXT, NEXT_GPA, 0x1000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_CODE);
        place(NEAR_END, LONG_INSN);
        regs.rip(NEAR_END);

        assertEquals(FetchStatus.OK, fetcher.fetch(regs));
        assertEquals(15, fetcher.count());
        final byte[] expected = Hex.bytes(LONG_INSN + " 90 90 90");
        assertArrayEquals(expected, fetcher.bytes());
        assertEquals(DecodeStatus.OK, decoder.decode(fetcher.bytes(), fetcher.count(), insn));
        assertEquals(12, insn.length());
        assertEquals(1, insn.immediate());
    }

    @Test
    void shouldReadFifteenBytesFromRipPageWithoutTouchingTheNext()
    {
        regs.rip(NEXT - 15); // the next page is not mapped, and the fetch does not need it
        place(NEXT - 15, "66 89 07");
        assertEquals(FetchStatus.OK, fetcher.fetch(regs));
        assertEquals(15, fetcher.count());
        assertEquals(0, walker.faults(WalkStatus.NOT_PRESENT));
    }

    @Test
    void shouldDecodeFromFirstPageWhenSecondPageIsNotPresentButNotNeeded()
    {
        place(NEAR_END, "66 89 07"); // mov %ax,(%rdi): ends inside the code page
        regs.rip(NEAR_END);

        assertEquals(FetchStatus.SECOND_PAGE_FAULT, fetcher.fetch(regs));
        assertTrue(FetchStatus.SECOND_PAGE_FAULT.hasBytes());
        assertEquals(6, fetcher.count());
        assertEquals(NEXT, fetcher.faultAddress());
        assertEquals(WalkStatus.NOT_PRESENT, fetcher.fault().status());
        assertEquals(Translation.PF_FETCH, fetcher.fault().errorCode());
        assertEquals(DecodeStatus.OK, decoder.decode(fetcher.bytes(), fetcher.count(), insn),
            "hardware faults on the second page only if it needs bytes from it");
        assertEquals(3, insn.length());
        assertEquals(1, fetcher.outcomes(FetchStatus.SECOND_PAGE_FAULT));
    }

    @Test
    void shouldReportTruncatedWhenInstructionNeedsTheMissingPage()
    {
        place(NEAR_END, LONG_INSN);
        regs.rip(NEAR_END);

        assertEquals(FetchStatus.SECOND_PAGE_FAULT, fetcher.fetch(regs));
        assertEquals(DecodeStatus.TRUNCATED, decoder.decode(fetcher.bytes(), fetcher.count(), insn));
        assertEquals(6, insn.failOffset());
        assertEquals(NEXT, fetcher.faultAddress(), "the #PF to raise is the second page's");
    }

    @Test
    void shouldKeepFirstPageBytesWhenSecondPageIsNotRam()
    {
        tables.map(NEXT, 0xFEE0_0000L, 0x1000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_CODE);
        place(NEAR_END, "89 07");
        regs.rip(NEAR_END);

        assertEquals(FetchStatus.SECOND_PAGE_NOT_IN_RAM, fetcher.fetch(regs));
        assertEquals(6, fetcher.count());
        assertEquals(WalkStatus.OK, fetcher.fault().status());
        assertEquals(0xFEE0_0000L, fetcher.fault().gpa());
        assertEquals(DecodeStatus.OK, decoder.decode(fetcher.bytes(), fetcher.count(), insn));
    }

    @Test
    void shouldFaultWhenRipPageIsNotPresent()
    {
        regs.rip(0x50_0000L);
        assertEquals(FetchStatus.FAULT, fetcher.fetch(regs));
        assertFalse(FetchStatus.FAULT.hasBytes());
        assertEquals(0, fetcher.count());
        assertEquals(0x50_0000L, fetcher.faultAddress());
        assertEquals(WalkStatus.NOT_PRESENT, fetcher.fault().status());
        assertEquals(1, fetcher.outcomes(FetchStatus.FAULT));
    }

    @Test
    void shouldFaultWhenRipPageIsExecuteDisabled()
    {
        tables.map(0x60_0000L, CODE_GPA, 0x1000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_DATA);
        regs.rip(0x60_0000L);
        assertEquals(FetchStatus.FAULT, fetcher.fetch(regs));
        assertEquals(WalkStatus.EXECUTE_DISABLED, fetcher.fault().status());
    }

    @Test
    void shouldReportNotInRamWhenCodeMapsToDeviceMemory()
    {
        tables.map(0x60_0000L, 0xFEE0_0000L, 0x1000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_CODE);
        regs.rip(0x60_0010L);
        assertEquals(FetchStatus.NOT_IN_RAM, fetcher.fetch(regs));
        assertEquals(0, fetcher.count());
        assertEquals(1, fetcher.outcomes(FetchStatus.NOT_IN_RAM));
    }

    @Test
    void shouldStopAtNonCanonicalSecondPage()
    {
        final long lastLowPage = 0x7FFF_FFFF_F000L;
        tables.map(lastLowPage, CODE_GPA, 0x1000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_CODE);
        regs.rip(lastLowPage + 0xFFA);
        memory.putByte(CODE_GPA + 0xFFA, (byte)0x89);
        memory.putByte(CODE_GPA + 0xFFB, (byte)0x07);

        assertEquals(FetchStatus.SECOND_PAGE_FAULT, fetcher.fetch(regs));
        assertEquals(WalkStatus.NON_CANONICAL, fetcher.fault().status());
        assertEquals(DecodeStatus.OK, decoder.decode(fetcher.bytes(), fetcher.count(), insn));
        assertEquals(2, insn.length());
    }

    @Test
    void shouldFetchThroughLargePages()
    {
        tables.map(0x4000_0000L, 0, 2L << 20, PageSize.SIZE_2M, PageTableBuilder.KERNEL_CODE);
        memory.putByte(0x1_0FFF, (byte)0x8B); // the instruction straddles two 4 KiB halves of one 2 MiB page
        memory.putByte(0x1_1000, (byte)0x07);
        regs.rip(0x4001_0FFFL);
        assertEquals(FetchStatus.OK, fetcher.fetch(regs));
        assertEquals(DecodeStatus.OK, decoder.decode(fetcher.bytes(), fetcher.count(), insn));
        assertEquals(InstructionKind.LOAD, insn.kind());
    }
}
