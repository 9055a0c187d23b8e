package io.jvirtio.bus.x86;

import org.junit.jupiter.api.Test;

import static io.jvirtio.bus.x86.X86Registers.RAX;
import static io.jvirtio.bus.x86.X86Registers.RBX;
import static io.jvirtio.bus.x86.X86Registers.RCX;
import static io.jvirtio.bus.x86.X86Registers.RDI;
import static io.jvirtio.bus.x86.X86Registers.RDX;
import static io.jvirtio.bus.x86.X86Registers.RSI;
import static io.jvirtio.bus.x86.X86Registers.RSP;
import static io.jvirtio.bus.x86.X86Registers.R15;
import static io.jvirtio.bus.x86.X86Registers.R8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class X86RegistersTest
{
    private static final long PATTERN = 0x1122_3344_5566_7788L;

    @Test
    void shouldZeroExtendWhenWriting32Bits()
    {
        final X86Registers regs = new X86Registers().gpr(RAX, PATTERN);
        regs.write(RAX, 4, false, 0xFFFF_FFFF_CAFE_BABEL);
        assertEquals(0x0000_0000_CAFE_BABEL, regs.gpr(RAX));
    }

    @Test
    void shouldPreserveUpperBitsWhenWriting16Or8Bits()
    {
        final X86Registers regs = new X86Registers().gpr(R8, PATTERN).gpr(RSI, PATTERN);
        regs.write(R8, 2, false, 0xBEEF);
        assertEquals(0x1122_3344_5566_BEEFL, regs.gpr(R8));
        regs.write(RSI, 1, false, 0x1AB);
        assertEquals(0x1122_3344_5566_77ABL, regs.gpr(RSI), "only the low byte is written");
    }

    @Test
    void shouldWriteBits15To8WhenHighByte()
    {
        final X86Registers regs = new X86Registers().gpr(RBX, PATTERN);
        regs.write(RBX, 1, true, 0xAB);
        assertEquals(0x1122_3344_5566_AB88L, regs.gpr(RBX));
        assertEquals(0xAB, regs.read(RBX, 1, true));
        assertEquals(0x88, regs.read(RBX, 1, false));
    }

    @Test
    void shouldReplaceAllBitsWhenWriting64Bits()
    {
        final X86Registers regs = new X86Registers().gpr(R15, PATTERN);
        regs.write(R15, 8, false, -2);
        assertEquals(-2, regs.gpr(R15));
        assertEquals(-2, regs.read(R15, 8, false));
    }

    @Test
    void shouldReadOperandsZeroExtended()
    {
        final X86Registers regs = new X86Registers().gpr(RDX, 0xFFFF_FFFF_FFFF_FF80L);
        assertEquals(0x80, regs.read(RDX, 1, false));
        assertEquals(0xFF, regs.read(RDX, 1, true));
        assertEquals(0xFF80, regs.read(RDX, 2, false));
        assertEquals(0xFFFF_FF80L, regs.read(RDX, 4, false));
    }

    @Test
    void shouldMapByteRegisters4To7ToHighBytesOnlyWithoutRex()
    {
        assertTrue(X86Registers.isHighByteEncoding(4, false), "4 without REX is AH");
        assertTrue(X86Registers.isHighByteEncoding(7, false), "7 without REX is BH");
        assertFalse(X86Registers.isHighByteEncoding(4, true), "4 with REX is SPL");
        assertFalse(X86Registers.isHighByteEncoding(3, false), "3 is BL");
        assertFalse(X86Registers.isHighByteEncoding(12, false), "12 is R12B (REX needed to encode it anyway)");

        final X86Registers regs = new X86Registers().gpr(RAX, 0x1234).gpr(RSP, 0x5678).gpr(RDI, 0x9ABC);
        assertEquals(0x12, regs.readByteEncoded(4, false), "AH");
        assertEquals(0x78, regs.readByteEncoded(4, true), "SPL");
        assertEquals(0xBC, regs.readByteEncoded(7, true), "DIL");
        regs.writeByteEncoded(5, false, 0xEE);
        assertEquals(0xEE00, regs.gpr(RCX), "CH written");
        regs.writeByteEncoded(6, true, 0x11);
        assertEquals(0x11, regs.gpr(RSI), "SIL written");
    }

    @Test
    void shouldRefuseHighByteOfRegisterAboveRbx()
    {
        final X86Registers regs = new X86Registers();
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> regs.write(RSP, 1, true, 0));
        assertEquals("only rax, rcx, rdx and rbx have a high byte: reg=4", ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> regs.read(RSI, 1, true));
    }

    @Test
    void shouldRefuseOperandSizeOtherThan1248()
    {
        final X86Registers regs = new X86Registers();
        assertThrows(IllegalArgumentException.class, () -> regs.write(RAX, 3, false, 0));
        assertThrows(IllegalArgumentException.class, () -> regs.read(RAX, 16, false));
    }

    @Test
    void shouldKeepRflagsBit1Set()
    {
        final X86Registers regs = new X86Registers();
        assertEquals(X86Registers.RFLAGS_FIXED, regs.rflags());
        regs.rflags(0);
        assertEquals(X86Registers.RFLAGS_FIXED, regs.rflags());
    }

    @Test
    void shouldReportFourLevelPagingWhenInLongMode()
    {
        final X86Registers regs = new X86Registers();
        assertFalse(regs.isFourLevelPaging());
        regs.enterLongMode(0x1000);
        assertTrue(regs.isFourLevelPaging());
        assertEquals(0x1000, regs.cr3());
        regs.cr4(regs.cr4() | X86Registers.CR4_LA57);
        assertFalse(regs.isFourLevelPaging(), "5-level paging is not 4-level paging");
    }

    @Test
    void shouldCopyEveryRegister()
    {
        final X86Registers source = new X86Registers().enterLongMode(0x5000).rip(0x400000).rflags(0x246)
            .fsBase(0x7000).gsBase(0x8000);
        for (int i = 0; i < X86Registers.GPR_COUNT; i++)
        {
            source.gpr(i, i * 0x1111L);
        }
        final X86Registers copy = new X86Registers();
        copy.copyFrom(source);
        assertEquals(source.toString(), copy.toString());
        assertEquals(0x7000, copy.fsBase());
        assertEquals(0x8000, copy.gsBase());
    }
}
