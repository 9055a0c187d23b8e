package io.jvirtio.bus.x86;

import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static io.jvirtio.bus.x86.X86Registers.R11;
import static io.jvirtio.bus.x86.X86Registers.R12;
import static io.jvirtio.bus.x86.X86Registers.R9;
import static io.jvirtio.bus.x86.X86Registers.RAX;
import static io.jvirtio.bus.x86.X86Registers.RBX;
import static io.jvirtio.bus.x86.X86Registers.RCX;
import static io.jvirtio.bus.x86.X86Registers.RDI;
import static io.jvirtio.bus.x86.X86Registers.RDX;
import static io.jvirtio.bus.x86.X86Registers.RSI;
import static io.jvirtio.bus.x86.X86Registers.RSP;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Effective addresses, store data and load completion of decoded instructions. */
class DecodedInstructionTest
{
    private static final long BEFORE = 0x1122_3344_5566_7788L;
    private static final long RIP = 0x40_0000L;

    private final InstructionDecoder decoder = new InstructionDecoder();
    private final DecodedInstruction insn = new DecodedInstruction();
    private final X86Registers regs = new X86Registers().rip(RIP);

    private void decode(final String hex)
    {
        final byte[] bytes = Hex.bytes(hex);
        assertEquals(DecodeStatus.OK, decoder.decode(bytes, bytes.length, insn), hex);
    }

    @Test
    void shouldAddScaledIndexAndDisp8WhenSib()
    {
        decode("89 44 b7 08"); // mov %eax,0x8(%rdi,%rsi,4)
        regs.gpr(RDI, 0x1000).gpr(RSI, 3);
        assertEquals(0x1000 + 3 * 4 + 8, insn.effectiveAddress(regs));
    }

    @Test
    void shouldSignExtendNegativeDisp8()
    {
        decode("89 47 f8"); // mov %eax,-0x8(%rdi)
        regs.gpr(RDI, 0x2000);
        assertEquals(0x1FF8, insn.effectiveAddress(regs));
        decode("89 43 80"); // mov %eax,-0x80(%rbx)
        regs.gpr(RBX, 0x100);
        assertEquals(0x80, insn.effectiveAddress(regs));
    }

    @Test
    void shouldWrapModulo2To64()
    {
        decode("48 8b 47 f8"); // mov -0x8(%rdi),%rax
        regs.gpr(RDI, 4);
        assertEquals(0xFFFF_FFFF_FFFF_FFFCL, insn.effectiveAddress(regs));
    }

    @Test
    void shouldAddressRelativeToEndOfInstructionWhenRipRelative()
    {
        decode("8b 05 10 00 00 00"); // mov 0x10(%rip),%eax: 6 bytes
        assertEquals(RIP + 6 + 0x10, insn.effectiveAddress(regs));
        decode("89 05 f0 ff ff ff"); // mov %eax,-0x10(%rip)
        assertEquals(RIP + 6 - 0x10, insn.effectiveAddress(regs));
        decode("c7 05 10 00 00 00 01 00 00 00"); // movl $0x1,0x10(%rip): the immediate counts in the length
        assertEquals(RIP + 10 + 0x10, insn.effectiveAddress(regs));
    }

    @Test
    void shouldUseIndexR12AndNoBaseForms()
    {
        decode("42 89 04 67"); // mov %eax,(%rdi,%r12,2)
        regs.gpr(RDI, 0x100).gpr(R12, 5);
        assertEquals(0x10A, insn.effectiveAddress(regs));
        decode("89 04 b5 10 00 00 00"); // mov %eax,0x10(,%rsi,4)
        regs.gpr(RSI, 4);
        assertEquals(0x20, insn.effectiveAddress(regs));
        decode("89 04 25 00 f0 ff ff"); // mov %eax,0xfffffffffffff000
        assertEquals(0xFFFF_FFFF_FFFF_F000L, insn.effectiveAddress(regs));
    }

    @Test
    void shouldTruncateTo32BitsWhenAddressSizePrefix()
    {
        decode("67 89 07"); // mov %eax,(%edi)
        regs.gpr(RDI, 0xFFFF_FFFF_0000_1234L);
        assertEquals(0x1234, insn.effectiveAddress(regs));
        decode("67 8b 04 8e"); // mov (%esi,%ecx,4),%eax
        regs.gpr(RSI, 0xFFFF_FFF0L).gpr(RCX, 8);
        assertEquals(0x10, insn.effectiveAddress(regs), "the 32-bit sum wraps");
        decode("67 89 05 10 00 00 00"); // mov %eax,0x10(%eip)
        regs.rip(0xFFFF_FFF0L);
        assertEquals(0x7, insn.effectiveAddress(regs), "eip-relative wraps at 2^32");
    }

    @Test
    void shouldAddFsOrGsBaseToLinearAddressOnly()
    {
        regs.fsBase(0x7000_0000L).gsBase(0x1000);
        decode("64 8b 07"); // mov %fs:(%rdi),%eax
        regs.gpr(RDI, 0x10);
        assertEquals(0x10, insn.effectiveAddress(regs));
        assertEquals(0x7000_0010L, insn.linearAddress(regs));
        decode("2e 89 07"); // cs mov %eax,(%rdi): CS base is 0 in 64-bit mode
        assertEquals(0x10, insn.linearAddress(regs));
        decode("65 48 a1 01 02 03 04 05 06 07 08"); // movabs %gs:0x807060504030201,%rax
        assertEquals(0x0807_0605_0403_1201L, insn.linearAddress(regs));
    }

    @Test
    void shouldUseAbsoluteAddressWhenMoffs()
    {
        decode("a1 10 32 54 76 98 ba dc fe"); // movabs 0xfedcba9876543210,%eax
        assertEquals(0xFEDC_BA98_7654_3210L, insn.linearAddress(regs));
    }

    @Test
    void shouldGiveStoreDataOfAccessSize()
    {
        regs.gpr(RAX, BEFORE).gpr(RSI, BEFORE);
        decode("88 27"); // mov %ah,(%rdi)
        assertEquals(0x77, insn.storeValue(regs));
        decode("40 88 37"); // mov %sil,(%rdi)
        assertEquals(0x88, insn.storeValue(regs));
        decode("66 89 07"); // mov %ax,(%rdi)
        assertEquals(0x7788, insn.storeValue(regs));
        decode("89 07"); // mov %eax,(%rdi)
        assertEquals(0x5566_7788L, insn.storeValue(regs));
        decode("48 89 07"); // mov %rax,(%rdi)
        assertEquals(BEFORE, insn.storeValue(regs));
        decode("c6 07 ff"); // movb $0xff,(%rdi)
        assertEquals(0xFF, insn.storeValue(regs));
        decode("c7 07 ff ff ff ff"); // movl $0xffffffff,(%rdi)
        assertEquals(0xFFFF_FFFFL, insn.storeValue(regs));
        decode("48 c7 07 ff ff ff ff"); // movq $-1,(%rdi)
        assertEquals(-1L, insn.storeValue(regs));
        decode("a3 88 77 66 55 44 33 22 11"); // movabs %eax,0x1122334455667788
        assertEquals(0x5566_7788L, insn.storeValue(regs));
    }

    @Test
    void shouldRefuseStoreValueOfLoadAndCompletionOfStore()
    {
        decode("8b 07");
        assertEquals("not a store: kind=LOAD",
            assertThrows(IllegalStateException.class, () -> insn.storeValue(regs)).getMessage());
        decode("89 07");
        assertEquals("not a load: kind=STORE_REG",
            assertThrows(IllegalStateException.class, () -> insn.completeLoad(regs, 0)).getMessage());
    }

    @Test
    void shouldAdvanceRipByLength()
    {
        decode("66 c7 47 04 ff ff"); // movw $0xffff,0x4(%rdi)
        insn.advanceRip(regs);
        assertEquals(RIP + 6, regs.rip());
    }

    /** Every size, extension and high-byte combination: register before, value loaded, register after. */
    static Stream<Arguments> loads()
    {
        return Stream.of(
            load("8a 07", "mov (%rdi),%al", RAX, 0xAB, 0x1122_3344_5566_77ABL),
            load("8a 07", "mov (%rdi),%al  [bits above the access are ignored]", RAX, 0xFFFF_FF12L,
                0x1122_3344_5566_7712L),
            load("8a 27", "mov (%rdi),%ah", RAX, 0xAB, 0x1122_3344_5566_AB88L),
            load("8a 0f", "mov (%rdi),%cl", RCX, 0xAB, 0x1122_3344_5566_77ABL),
            load("8a 2f", "mov (%rdi),%ch", RCX, 0xAB, 0x1122_3344_5566_AB88L),
            load("8a 37", "mov (%rdi),%dh", RDX, 0xAB, 0x1122_3344_5566_AB88L),
            load("8a 3f", "mov (%rdi),%bh", RBX, 0xAB, 0x1122_3344_5566_AB88L),
            load("40 8a 27", "mov (%rdi),%spl", RSP, 0xAB, 0x1122_3344_5566_77ABL),
            load("40 8a 37", "mov (%rdi),%sil", RSI, 0xAB, 0x1122_3344_5566_77ABL),
            load("44 8a 1f", "mov (%rdi),%r11b", R11, 0xAB, 0x1122_3344_5566_77ABL),
            load("66 8b 07", "mov (%rdi),%ax", RAX, 0xBEEF, 0x1122_3344_5566_BEEFL),
            load("66 44 8b 0f", "mov (%rdi),%r9w", R9, 0xBEEF, 0x1122_3344_5566_BEEFL),
            load("8b 07", "mov (%rdi),%eax  [32-bit zero-extends]", RAX, 0xCAFE_BABEL, 0x0000_0000_CAFE_BABEL),
            load("48 8b 07", "mov (%rdi),%rax", RAX, 0x0102_0304_0506_0708L, 0x0102_0304_0506_0708L),
            load("a0 00 10 00 00 00 00 00 00", "movabs 0x1000,%al", RAX, 0xAB, 0x1122_3344_5566_77ABL),
            load("66 a1 00 10 00 00 00 00 00 00", "movabs 0x1000,%ax", RAX, 0xBEEF, 0x1122_3344_5566_BEEFL),
            load("a1 00 10 00 00 00 00 00 00", "movabs 0x1000,%eax", RAX, 0xCAFE_BABEL, 0xCAFE_BABEL),
            load("48 a1 00 10 00 00 00 00 00 00", "movabs 0x1000,%rax", RAX, -1, -1),
            load("66 0f b6 07", "movzbw (%rdi),%ax", RAX, 0x80, 0x1122_3344_5566_0080L),
            load("0f b6 07", "movzbl (%rdi),%eax", RAX, 0x80, 0x80),
            load("48 0f b6 07", "movzbq (%rdi),%rax", RAX, 0x80, 0x80),
            load("0f b6 07", "movzbl (%rdi),%eax  [bits above the byte are ignored]", RAX, 0x1_80, 0x80),
            load("66 0f b7 07", "movzww (%rdi),%ax", RAX, 0x8000, 0x1122_3344_5566_8000L),
            load("0f b7 07", "movzwl (%rdi),%eax", RAX, 0x8000, 0x8000),
            load("48 0f b7 07", "movzwq (%rdi),%rax", RAX, 0x8000, 0x8000),
            load("66 0f be 07", "movsbw (%rdi),%ax", RAX, 0x80, 0x1122_3344_5566_FF80L),
            load("66 0f be 07", "movsbw (%rdi),%ax  [positive]", RAX, 0x7F, 0x1122_3344_5566_007FL),
            load("0f be 07", "movsbl (%rdi),%eax", RAX, 0x80, 0x0000_0000_FFFF_FF80L),
            load("0f be 07", "movsbl (%rdi),%eax  [positive]", RAX, 0x7F, 0x7F),
            load("48 0f be 07", "movsbq (%rdi),%rax", RAX, 0x80, 0xFFFF_FFFF_FFFF_FF80L),
            load("48 0f be 07", "movsbq (%rdi),%rax  [positive]", RAX, 0x7F, 0x7F),
            load("66 0f bf 07", "movsww (%rdi),%ax", RAX, 0x8000, 0x1122_3344_5566_8000L),
            load("0f bf 07", "movswl (%rdi),%eax", RAX, 0x8000, 0x0000_0000_FFFF_8000L),
            load("0f bf 07", "movswl (%rdi),%eax  [positive]", RAX, 0x7FFF, 0x7FFF),
            load("48 0f bf 07", "movswq (%rdi),%rax", RAX, 0x8000, 0xFFFF_FFFF_FFFF_8000L),
            load("48 0f bf 07", "movswq (%rdi),%rax  [bits above the word are ignored]", RAX, 0xFFFF_7FFFL,
                0x7FFF),
            load("0f b6 27", "movzbl (%rdi),%esp", RSP, 0xFF, 0xFF)
        );
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("loads")
    void shouldCompleteLoadWithSizeAndExtension(final Load load)
    {
        for (int reg = 0; reg < X86Registers.GPR_COUNT; reg++)
        {
            regs.gpr(reg, BEFORE);
        }
        decode(load.hex);
        insn.completeLoad(regs, load.value);
        assertEquals(load.after, regs.gpr(load.reg), load.asm);
        for (int reg = 0; reg < X86Registers.GPR_COUNT; reg++)
        {
            if (reg != load.reg)
            {
                assertEquals(BEFORE, regs.gpr(reg), load.asm + ": register " + reg + " is untouched");
            }
        }
        assertEquals(X86Registers.RFLAGS_FIXED, regs.rflags(), "MOV leaves RFLAGS alone");
    }

    private static Arguments load(
        final String hex, final String asm, final int reg, final long value, final long after)
    {
        return Arguments.of(Named.of(hex + "  " + asm, new Load(hex, asm, reg, value, after)));
    }

    record Load(String hex, String asm, int reg, long value, long after)
    {
    }
}
