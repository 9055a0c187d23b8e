package io.jvirtio.bus.x86;

import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static io.jvirtio.bus.x86.InstructionKind.LOAD;
import static io.jvirtio.bus.x86.InstructionKind.LOAD_SIGN_EXTEND;
import static io.jvirtio.bus.x86.InstructionKind.LOAD_ZERO_EXTEND;
import static io.jvirtio.bus.x86.InstructionKind.STORE_IMM;
import static io.jvirtio.bus.x86.InstructionKind.STORE_REG;
import static io.jvirtio.bus.x86.MemoryOperand.NONE;
import static io.jvirtio.bus.x86.X86Registers.R10;
import static io.jvirtio.bus.x86.X86Registers.R11;
import static io.jvirtio.bus.x86.X86Registers.R12;
import static io.jvirtio.bus.x86.X86Registers.R13;
import static io.jvirtio.bus.x86.X86Registers.R14;
import static io.jvirtio.bus.x86.X86Registers.R15;
import static io.jvirtio.bus.x86.X86Registers.R8;
import static io.jvirtio.bus.x86.X86Registers.R9;
import static io.jvirtio.bus.x86.X86Registers.RAX;
import static io.jvirtio.bus.x86.X86Registers.RBP;
import static io.jvirtio.bus.x86.X86Registers.RBX;
import static io.jvirtio.bus.x86.X86Registers.RCX;
import static io.jvirtio.bus.x86.X86Registers.RDI;
import static io.jvirtio.bus.x86.X86Registers.RDX;
import static io.jvirtio.bus.x86.X86Registers.RSI;
import static io.jvirtio.bus.x86.X86Registers.RSP;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The decoder table: every supported form and prefix combination, each row a hex byte string with the instruction in
 * GNU as syntax (as objdump prints it), and the expected length, kind, sizes, register, immediate and addressing.
 */
class InstructionDecoderTest
{
    private final InstructionDecoder decoder = new InstructionDecoder();
    private final DecodedInstruction out = new DecodedInstruction();

    static Stream<Arguments> table()
    {
        return Stream.of(
            // MOV r/m8, r8 (88): low bytes, high bytes without REX, SPL..DIL with REX, R8B..R15B
            row("88 07", "mov %al,(%rdi)").store(1, RAX).base(RDI),
            row("88 27", "mov %ah,(%rdi)").storeHigh(RAX).base(RDI),
            row("88 39", "mov %bh,(%rcx)").storeHigh(RBX).base(RCX),
            row("40 88 37", "mov %sil,(%rdi)").store(1, RSI).base(RDI),
            row("40 88 38", "mov %dil,(%rax)").store(1, RDI).base(RAX),
            row("44 88 07", "mov %r8b,(%rdi)").store(1, R8).base(RDI),
            row("45 88 3f", "mov %r15b,(%r15)").store(1, R15).base(R15),
            row("66 88 07", "data16 mov %al,(%rdi)  [66 has no effect on a byte op]").store(1, RAX).base(RDI),
            row("48 88 27", "rex.W mov %spl,(%rdi)  [REX.W keeps a byte op]").store(1, RSP).base(RDI),
            // MOV r/m, r (89): 16/32/64-bit
            row("66 89 07", "mov %ax,(%rdi)").store(2, RAX).base(RDI),
            row("89 07", "mov %eax,(%rdi)").store(4, RAX).base(RDI),
            row("48 89 07", "mov %rax,(%rdi)").store(8, RAX).base(RDI),
            row("4d 89 0a", "mov %r9,(%r10)").store(8, R9).base(R10),
            row("46 89 2c 60", "mov %r13d,(%rax,%r12,2)").store(4, R13).base(RAX).index(R12, 2),
            // ModRM special cases: RSP/R12 need SIB, RBP/R13 need disp8 0
            row("89 0c 24", "mov %ecx,(%rsp)").store(4, RCX).base(RSP),
            row("41 89 14 24", "mov %edx,(%r12)").store(4, RDX).base(R12),
            row("49 89 04 24", "mov %rax,(%r12)").store(8, RAX).base(R12),
            row("89 5d 00", "mov %ebx,0x0(%rbp)").store(4, RBX).base(RBP).disp(0, 1),
            row("45 89 65 00", "mov %r12d,0x0(%r13)").store(4, R12).base(R13).disp(0, 1),
            // displacements: disp8 sign-extended, disp32 sign-extended
            row("89 47 10", "mov %eax,0x10(%rdi)").store(4, RAX).base(RDI).disp(0x10, 1),
            row("89 47 f8", "mov %eax,-0x8(%rdi)").store(4, RAX).base(RDI).disp(-8, 1),
            row("89 43 7f", "mov %eax,0x7f(%rbx)").store(4, RAX).base(RBX).disp(0x7F, 1),
            row("89 43 80", "mov %eax,-0x80(%rbx)").store(4, RAX).base(RBX).disp(-0x80, 1),
            row("89 83 80 00 00 00", "mov %eax,0x80(%rbx)").store(4, RAX).base(RBX).disp(0x80, 4),
            row("89 87 00 10 00 00", "mov %eax,0x1000(%rdi)").store(4, RAX).base(RDI).disp(0x1000, 4),
            row("89 87 00 00 00 80", "mov %eax,-0x80000000(%rdi)").store(4, RAX).base(RDI).disp(-0x8000_0000L, 4),
            row("41 89 44 24 f0", "mov %eax,-0x10(%r12)").store(4, RAX).base(R12).disp(-0x10, 1),
            // SIB
            row("89 04 b7", "mov %eax,(%rdi,%rsi,4)").store(4, RAX).base(RDI).index(RSI, 4),
            row("89 44 b7 08", "mov %eax,0x8(%rdi,%rsi,4)").store(4, RAX).base(RDI).index(RSI, 4).disp(8, 1),
            row("89 84 f7 00 10 00 00", "mov %eax,0x1000(%rdi,%rsi,8)").store(4, RAX).base(RDI).index(RSI, 8)
                .disp(0x1000, 4),
            row("89 04 18", "mov %eax,(%rax,%rbx,1)").store(4, RAX).base(RAX).index(RBX, 1),
            row("89 04 58", "mov %eax,(%rax,%rbx,2)").store(4, RAX).base(RAX).index(RBX, 2),
            row("43 89 04 c8", "mov %eax,(%r8,%r9,8)").store(4, RAX).base(R8).index(R9, 8),
            row("42 89 04 67", "mov %eax,(%rdi,%r12,2)").store(4, RAX).base(RDI).index(R12, 2),
            row("42 89 04 27", "mov %eax,(%rdi,%r12,1)  [index 100b with REX.X is R12]").store(4, RAX).base(RDI)
                .index(R12, 1),
            row("89 44 25 08", "mov %eax,0x8(%rbp,%riz,1)  [index 100b: none]").store(4, RAX).base(RBP).disp(8, 1),
            row("89 04 b5 10 00 00 00", "mov %eax,0x10(,%rsi,4)  [base 101b, mod 00: no base]").store(4, RAX)
                .index(RSI, 4).disp(0x10, 4),
            row("89 04 25 00 10 00 00", "mov %eax,0x1000  [absolute disp32]").store(4, RAX).disp(0x1000, 4),
            row("89 04 25 00 f0 ff ff", "mov %eax,0xfffffffffffff000").store(4, RAX).disp(-0x1000, 4),
            row("41 89 04 25 00 10 00 00", "mov %eax,0x1000  [REX.B does not give SIB base 101b a base]")
                .store(4, RAX).disp(0x1000, 4),
            row("4f 8b 94 c9 78 56 34 12", "mov 0x12345678(%r9,%r9,8),%r10").load(8, R10).base(R9).index(R9, 8)
                .disp(0x1234_5678, 4),
            // RIP-relative
            row("66 89 05 34 12 00 00", "mov %ax,0x1234(%rip)").store(2, RAX).rip(0x1234),
            row("89 05 f0 ff ff ff", "mov %eax,-0x10(%rip)").store(4, RAX).rip(-0x10),
            row("41 89 05 10 00 00 00", "mov %eax,0x10(%rip)  [REX.B does not change rip-relative]").store(4, RAX)
                .rip(0x10),
            // REX placement rules
            row("40 89 07", "rex mov %eax,(%rdi)  [empty REX]").store(4, RAX).base(RDI),
            row("66 48 89 07", "data16 mov %rax,(%rdi)  [REX.W wins over 66]").store(8, RAX).base(RDI),
            row("48 66 89 07", "rex.W; mov %ax,(%rdi)  [REX before a legacy prefix is ignored]").store(2, RAX)
                .base(RDI).noRex(),
            row("48 40 89 07", "rex.W; rex mov %eax,(%rdi)  [only the last REX counts]").store(4, RAX).base(RDI),
            row("40 48 89 07", "rex; mov %rax,(%rdi)").store(8, RAX).base(RDI),
            row("66 66 66 89 07", "data16 data16 mov %ax,(%rdi)").store(2, RAX).base(RDI),
            // MOV r, r/m (8A, 8B)
            row("8a 07", "mov (%rdi),%al").load(1, RAX).base(RDI),
            row("8a 27", "mov (%rdi),%ah").loadHigh(RAX).base(RDI),
            row("8a 37", "mov (%rdi),%dh").loadHigh(RDX).base(RDI),
            row("40 8a 27", "mov (%rdi),%spl").load(1, RSP).base(RDI),
            row("44 8a 1f", "mov (%rdi),%r11b").load(1, R11).base(RDI),
            row("4c 8a 37", "rex.WR mov (%rdi),%r14b").load(1, R14).base(RDI),
            row("66 8b 07", "mov (%rdi),%ax").load(2, RAX).base(RDI),
            row("8b 07", "mov (%rdi),%eax").load(4, RAX).base(RDI),
            row("48 8b 07", "mov (%rdi),%rax").load(8, RAX).base(RDI),
            row("4c 8b 3f", "mov (%rdi),%r15").load(8, R15).base(RDI),
            row("44 8b 46 20", "mov 0x20(%rsi),%r8d").load(4, R8).base(RSI).disp(0x20, 1),
            row("8b 05 10 00 00 00", "mov 0x10(%rip),%eax").load(4, RAX).rip(0x10),
            row("4c 8b 3c 25 00 20 00 00", "mov 0x2000,%r15").load(8, R15).disp(0x2000, 4),
            // MOV r/m, imm (C6 /0 ib, C7 /0 iw/id)
            row("c6 07 12", "movb $0x12,(%rdi)").storeImm(1, 0x12).base(RDI),
            row("c6 07 ff", "movb $0xff,(%rdi)").storeImm(1, 0xFF).base(RDI),
            row("66 c7 07 34 12", "movw $0x1234,(%rdi)").storeImm(2, 0x1234).base(RDI),
            row("66 c7 47 04 ff ff", "movw $0xffff,0x4(%rdi)").storeImm(2, 0xFFFF).base(RDI).disp(4, 1),
            row("c7 07 78 56 34 12", "movl $0x12345678,(%rdi)").storeImm(4, 0x1234_5678).base(RDI),
            row("c7 07 ff ff ff ff", "movl $0xffffffff,(%rdi)").storeImm(4, 0xFFFF_FFFFL).base(RDI),
            row("48 c7 07 78 56 34 12", "movq $0x12345678,(%rdi)").storeImm(8, 0x1234_5678).base(RDI),
            row("48 c7 07 ff ff ff ff", "movq $0xffffffffffffffff,(%rdi)  [imm32 sign-extended]").storeImm(8, -1)
                .base(RDI),
            row("49 c7 03 00 00 00 80", "movq $0xffffffff80000000,(%r11)").storeImm(8, 0xFFFF_FFFF_8000_0000L)
                .base(R11),
            row("c7 05 10 00 00 00 01 00 00 00", "movl $0x1,0x10(%rip)").storeImm(4, 1).rip(0x10),
            row("c6 05 ff ff ff ff 01", "movb $0x1,-0x1(%rip)").storeImm(1, 1).rip(-1),
            row("67 66 c7 44 24 fe cd ab", "movw $0xabcd,-0x2(%esp)").storeImm(2, 0xABCD).base(RSP).disp(-2, 1)
                .addr32(),
            row("64 66 c7 05 10 00 00 00 05 00", "movw $0x5,%fs:0x10(%rip)").storeImm(2, 5).rip(0x10)
                .seg(SegmentOverride.FS),
            // MOVZX (0F B6, 0F B7)
            row("0f b6 07", "movzbl (%rdi),%eax").zeroExtend(1, 4, RAX).base(RDI),
            row("66 0f b6 07", "movzbw (%rdi),%ax").zeroExtend(1, 2, RAX).base(RDI),
            row("48 0f b6 07", "movzbq (%rdi),%rax").zeroExtend(1, 8, RAX).base(RDI),
            row("0f b7 07", "movzwl (%rdi),%eax").zeroExtend(2, 4, RAX).base(RDI),
            row("4c 0f b7 0f", "movzwq (%rdi),%r9").zeroExtend(2, 8, R9).base(RDI),
            row("66 0f b7 07", "movzww (%rdi),%ax").zeroExtend(2, 2, RAX).base(RDI),
            row("44 0f b6 54 4f 08", "movzbl 0x8(%rdi,%rcx,2),%r10d").zeroExtend(1, 4, R10).base(RDI)
                .index(RCX, 2).disp(8, 1),
            row("0f b6 27", "movzbl (%rdi),%esp  [reg 4 of a wide destination is ESP, not AH]")
                .zeroExtend(1, 4, RSP).base(RDI),
            // MOVSX (0F BE, 0F BF)
            row("0f be 07", "movsbl (%rdi),%eax").signExtend(1, 4, RAX).base(RDI),
            row("66 0f be 07", "movsbw (%rdi),%ax").signExtend(1, 2, RAX).base(RDI),
            row("48 0f be 07", "movsbq (%rdi),%rax").signExtend(1, 8, RAX).base(RDI),
            row("0f bf 07", "movswl (%rdi),%eax").signExtend(2, 4, RAX).base(RDI),
            row("48 0f bf 17", "movswq (%rdi),%rdx").signExtend(2, 8, RDX).base(RDI),
            row("66 0f bf 07", "movsww (%rdi),%ax").signExtend(2, 2, RAX).base(RDI),
            row("45 0f be 75 00", "movsbl 0x0(%r13),%r14d").signExtend(1, 4, R14).base(R13).disp(0, 1),
            // MOV moffs (A0-A3): 64-bit absolute address, or 32-bit with 67
            row("a2 88 77 66 55 44 33 22 11", "movabs %al,0x1122334455667788").store(1, RAX)
                .moffs(0x1122_3344_5566_7788L, 8),
            row("66 a3 88 77 66 55 44 33 22 11", "movabs %ax,0x1122334455667788").store(2, RAX)
                .moffs(0x1122_3344_5566_7788L, 8),
            row("a3 88 77 66 55 44 33 22 11", "movabs %eax,0x1122334455667788").store(4, RAX)
                .moffs(0x1122_3344_5566_7788L, 8),
            row("48 a3 88 77 66 55 44 33 22 11", "movabs %rax,0x1122334455667788").store(8, RAX)
                .moffs(0x1122_3344_5566_7788L, 8),
            row("a0 10 32 54 76 98 ba dc fe", "movabs 0xfedcba9876543210,%al").load(1, RAX)
                .moffs(0xFEDC_BA98_7654_3210L, 8),
            row("66 a1 10 32 54 76 98 ba dc fe", "movabs 0xfedcba9876543210,%ax").load(2, RAX)
                .moffs(0xFEDC_BA98_7654_3210L, 8),
            row("a1 10 32 54 76 98 ba dc fe", "movabs 0xfedcba9876543210,%eax").load(4, RAX)
                .moffs(0xFEDC_BA98_7654_3210L, 8),
            row("48 a1 10 32 54 76 98 ba dc fe", "movabs 0xfedcba9876543210,%rax").load(8, RAX)
                .moffs(0xFEDC_BA98_7654_3210L, 8),
            row("67 a3 78 56 34 12", "addr32 mov %eax,0x12345678").store(4, RAX).moffs(0x1234_5678, 4).addr32(),
            row("67 a0 f0 ff ff ff", "addr32 mov 0xfffffff0,%al  [moffs32 zero-extended]").load(1, RAX)
                .moffs(0xFFFF_FFF0L, 4).addr32(),
            row("65 48 a1 01 02 03 04 05 06 07 08", "movabs %gs:0x807060504030201,%rax").load(8, RAX)
                .moffs(0x0807_0605_0403_0201L, 8).seg(SegmentOverride.GS),
            // address size 32 and segment overrides
            row("67 89 07", "mov %eax,(%edi)").store(4, RAX).base(RDI).addr32(),
            row("67 8b 04 8e", "mov (%esi,%ecx,4),%eax").load(4, RAX).base(RSI).index(RCX, 4).addr32(),
            row("67 89 05 10 00 00 00", "mov %eax,0x10(%eip)").store(4, RAX).rip(0x10).addr32(),
            row("64 8b 07", "mov %fs:(%rdi),%eax").load(4, RAX).base(RDI).seg(SegmentOverride.FS),
            row("65 89 47 08", "mov %eax,%gs:0x8(%rdi)").store(4, RAX).base(RDI).disp(8, 1)
                .seg(SegmentOverride.GS),
            row("26 89 07", "es mov %eax,(%rdi)").store(4, RAX).base(RDI).seg(SegmentOverride.ES),
            row("2e 89 07", "cs mov %eax,(%rdi)").store(4, RAX).base(RDI).seg(SegmentOverride.CS),
            row("36 89 07", "ss mov %eax,(%rdi)").store(4, RAX).base(RDI).seg(SegmentOverride.SS),
            row("3e 89 07", "ds mov %eax,(%rdi)").store(4, RAX).base(RDI).seg(SegmentOverride.DS),
            row("64 65 89 07", "fs mov %eax,%gs:(%rdi)  [the last override wins]").store(4, RAX).base(RDI)
                .seg(SegmentOverride.GS),
            row("3e 48 89 07", "mov %rax,%ds:(%rdi)  [REX after a segment prefix counts]").store(8, RAX).base(RDI)
                .seg(SegmentOverride.DS),
            // exactly 15 bytes: the limit is inclusive
            row("2e 2e 2e 48 c7 04 25 00 10 00 00 01 00 00 00", "cs cs movq $0x1,%cs:0x1000").storeImm(8, 1)
                .disp(0x1000, 4).seg(SegmentOverride.CS)
        ).map(expect -> Arguments.of(Named.of(expect.hex + "  " + expect.asm, expect)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void shouldDecodeEveryRowOfTheTable(final Expect row)
    {
        final byte[] bytes = Hex.padded(row.hex);
        assertEquals(DecodeStatus.OK, decoder.decode(bytes, bytes.length, out), row.asm);
        row.check(out);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void shouldDecodeWhenInputEndsExactlyWithInstruction(final Expect row)
    {
        final byte[] bytes = Hex.bytes(row.hex);
        assertEquals(DecodeStatus.OK, decoder.decode(bytes, bytes.length, out), row.asm);
        row.check(out);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void shouldReportTruncatedForEveryShorterInput(final Expect row)
    {
        final byte[] bytes = Hex.padded(row.hex);
        final int length = Hex.bytes(row.hex).length;
        for (int available = 0; available < length; available++)
        {
            assertEquals(DecodeStatus.TRUNCATED, decoder.decode(bytes, available, out), row.asm + " @" + available);
            assertEquals(available, out.failOffset(), row.asm);
            assertEquals(DecodeStatus.TRUNCATED, decoder.decodeLength(bytes, available, out), row.asm);
        }
        assertEquals(length, decoder.failures(DecodeStatus.TRUNCATED) / 2, "each truncation is counted");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void shouldFindSameLengthInLengthOnlyMode(final Expect row)
    {
        final byte[] bytes = Hex.padded(row.hex);
        assertEquals(DecodeStatus.OK, decoder.decodeLength(bytes, bytes.length, out), row.asm);
        assertEquals(Hex.bytes(row.hex).length, out.length(), row.asm);
        assertEquals(row.kind, out.kind(), row.asm);
        assertEquals(row.size, out.accessSize(), row.asm);
    }

    static Stream<Arguments> failures()
    {
        final String fourteenPrefixes = "66 ".repeat(14);
        return Stream.of(
            failure("90", "nop", DecodeStatus.UNKNOWN_OPCODE, 0),
            failure("01 07", "add %eax,(%rdi)", DecodeStatus.UNKNOWN_OPCODE, 0),
            failure("a4", "movsb %ds:(%rsi),%es:(%rdi)  [MOVS is not decoded]", DecodeStatus.UNKNOWN_OPCODE, 0),
            failure("ee", "out %al,(%dx)  [port I/O is not decoded]", DecodeStatus.UNKNOWN_OPCODE, 0),
            failure("0f 05", "syscall", DecodeStatus.UNKNOWN_OPCODE, 0),
            failure("66 0f 44 07", "cmove (%rdi),%ax", DecodeStatus.UNKNOWN_OPCODE, 1),
            failure("48 0f", "rex.W + 0f with nothing after", DecodeStatus.TRUNCATED, 2),
            failure("c6 4f 10 00", "c6 /1: reserved", DecodeStatus.UNKNOWN_OPCODE, 1),
            failure("c7 f8 00 00 00 00", "xbegin", DecodeStatus.UNKNOWN_OPCODE, 1),
            failure("c6 f8 01", "xabort $0x1", DecodeStatus.UNKNOWN_OPCODE, 1),
            failure("f0 90", "lock nop  [unknown opcode comes first]", DecodeStatus.UNKNOWN_OPCODE, 1),
            failure("f0 89 07", "lock mov %eax,(%rdi)  [#UD]", DecodeStatus.LOCK_PREFIX, 0),
            failure("66 f0 89 07", "lock mov %ax,(%rdi)", DecodeStatus.LOCK_PREFIX, 1),
            failure("f0 0f b6 07", "lock movzbl (%rdi),%eax", DecodeStatus.LOCK_PREFIX, 0),
            failure("f0 48 c7 07 01 00 00 00", "lock movq $1,(%rdi)", DecodeStatus.LOCK_PREFIX, 0),
            failure("f3 89 07", "rep mov %eax,(%rdi)", DecodeStatus.REP_PREFIX, 0),
            failure("f2 c7 07 01 00 00 00", "repnz movl $1,(%rdi)", DecodeStatus.REP_PREFIX, 0),
            failure("89 c0", "mov %eax,%eax", DecodeStatus.REGISTER_OPERAND, 1),
            failure("8b c8", "mov %eax,%ecx", DecodeStatus.REGISTER_OPERAND, 1),
            failure("48 c7 c0 01 00 00 00", "mov $0x1,%rax", DecodeStatus.REGISTER_OPERAND, 2),
            failure("0f b6 c0", "movzbl %al,%eax", DecodeStatus.REGISTER_OPERAND, 2),
            failure("88 e0", "mov %ah,%al", DecodeStatus.REGISTER_OPERAND, 1),
            failure("", "no bytes at all", DecodeStatus.TRUNCATED, 0),
            failure("66", "a prefix and nothing else", DecodeStatus.TRUNCATED, 1),
            failure("89 04", "SIB byte missing", DecodeStatus.TRUNCATED, 2),
            failure("89 87 00 10", "disp32 cut short", DecodeStatus.TRUNCATED, 4),
            failure("c7 07 01 00", "imm32 cut short", DecodeStatus.TRUNCATED, 4),
            failure("a1 01 02 03", "moffs64 cut short", DecodeStatus.TRUNCATED, 4),
            failure(fourteenPrefixes + "89 07", "14 prefixes + mov: 16 bytes", DecodeStatus.TOO_LONG, 15),
            failure("66 ".repeat(15), "15 prefixes and no opcode", DecodeStatus.TOO_LONG, 15),
            failure("40 ".repeat(20) + "89 07", "20 REX prefixes", DecodeStatus.TOO_LONG, 15),
            failure("2e 2e 2e 2e 48 c7 04 25 00 10 00 00 01 00 00 00", "16 bytes with imm32", DecodeStatus.TOO_LONG,
                15)
        );
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("failures")
    void shouldFailWithTypedStatus(final Failure failure)
    {
        final byte[] input = Hex.bytes(failure.hex);
        assertEquals(failure.status, decoder.decode(input, input.length, out), failure.asm);
        assertEquals(failure.status, out.status());
        assertEquals(failure.offset, out.failOffset(), failure.asm);
        assertEquals(InstructionKind.NONE, out.kind());
        assertEquals(1, decoder.failures(failure.status), "the failure is counted");
        assertEquals(failure.status, decoder.decodeLength(input, input.length, out), "length-only mode agrees");
        assertEquals(2, decoder.failures(failure.status));
    }

    @Test
    void shouldReportTooLongEvenWhenFewerBytesAreAvailable()
    {
        // 12 prefixes, c7, ModRM, then an iw that would end at byte 16: too long whatever follows
        final byte[] bytes = Hex.bytes("66 66 66 66 66 66 66 66 66 66 66 66 c7 07");
        assertEquals(DecodeStatus.TOO_LONG, decoder.decode(bytes, bytes.length, out));
        assertEquals(InstructionDecoder.MAX_LENGTH, out.failOffset());
    }

    @Test
    void shouldLookAtNoMoreThan15BytesWhenMoreAreAvailable()
    {
        final byte[] bytes = Hex.bytes("66 ".repeat(40) + "89 07");
        assertEquals(DecodeStatus.TOO_LONG, decoder.decode(bytes, bytes.length, out));
    }

    @Test
    void shouldTreatNegativeOrOversizedAvailableAsBounded()
    {
        final byte[] bytes = Hex.bytes("89 07");
        assertEquals(DecodeStatus.TRUNCATED, decoder.decode(bytes, -5, out));
        assertEquals(DecodeStatus.OK, decoder.decode(bytes, 1000, out));
        assertEquals(2, out.length());
    }

    @Test
    void shouldResetResultBetweenDecodes()
    {
        assertEquals(DecodeStatus.OK, decoder.decode(Hex.bytes("65 48 c7 44 b7 08 01 00 00 00"), 10, out));
        assertEquals(DecodeStatus.OK, decoder.decode(Hex.bytes("8b 07"), 2, out));
        assertEquals(SegmentOverride.NONE, out.operand().segment());
        assertEquals(NONE, out.operand().index());
        assertEquals(0, out.operand().displacement());
        assertEquals(0, out.immediate());
        assertEquals(0, out.rex());
    }

    private static Expect row(final String hex, final String asm)
    {
        return new Expect(hex, asm);
    }

    private static Arguments failure(final String hex, final String asm, final DecodeStatus status, final int offset)
    {
        return Arguments.of(Named.of(hex + "  " + asm, new Failure(hex, asm, status, offset)));
    }

    record Failure(String hex, String asm, DecodeStatus status, int offset)
    {
    }

    /** One expected decode; the fluent setters read like the table's columns. */
    static final class Expect
    {
        final String hex;
        final String asm;
        InstructionKind kind;
        int size;
        int destinationSize;
        int register = DecodedInstruction.NO_REGISTER;
        boolean highByte;
        long immediate;
        int base = NONE;
        int index = NONE;
        int scale = 1;
        long displacement;
        int displacementSize;
        boolean ripRelative;
        boolean moffs;
        int addressSize = 8;
        SegmentOverride segment = SegmentOverride.NONE;
        boolean expectRex = true;

        Expect(final String hex, final String asm)
        {
            this.hex = hex;
            this.asm = asm;
        }

        void check(final DecodedInstruction out)
        {
            assertEquals(Hex.bytes(hex).length, out.length(), asm + ": length");
            assertEquals(kind, out.kind(), asm + ": kind");
            assertEquals(kind.isWrite(), out.isWrite(), asm + ": direction");
            assertEquals(size, out.accessSize(), asm + ": access size");
            assertEquals(destinationSize, out.destinationSize(), asm + ": destination size");
            assertEquals(register, out.register(), asm + ": register");
            assertEquals(highByte, out.highByte(), asm + ": high byte");
            assertEquals(immediate, out.immediate(), asm + ": immediate");
            final MemoryOperand operand = out.operand();
            assertEquals(base, operand.base(), asm + ": base");
            assertEquals(index, operand.index(), asm + ": index");
            if (index != NONE)
            {
                assertEquals(scale, operand.scale(), asm + ": scale");
            }
            assertEquals(displacement, operand.displacement(), asm + ": displacement");
            assertEquals(displacementSize, operand.displacementSize(), asm + ": displacement size");
            assertEquals(ripRelative, operand.ripRelative(), asm + ": rip-relative");
            assertEquals(moffs, operand.moffs(), asm + ": moffs");
            assertEquals(addressSize, operand.addressSize(), asm + ": address size");
            assertEquals(segment, operand.segment(), asm + ": segment");
            if (!expectRex)
            {
                assertEquals(0, out.rex(), asm + ": rex ignored");
            }
        }

        Expect store(final int accessSize, final int reg)
        {
            return access(STORE_REG, accessSize, accessSize, reg, false);
        }

        Expect storeHigh(final int reg)
        {
            return access(STORE_REG, 1, 1, reg, true);
        }

        Expect load(final int accessSize, final int reg)
        {
            return access(LOAD, accessSize, accessSize, reg, false);
        }

        Expect loadHigh(final int reg)
        {
            return access(LOAD, 1, 1, reg, true);
        }

        Expect zeroExtend(final int accessSize, final int destSize, final int reg)
        {
            return access(LOAD_ZERO_EXTEND, accessSize, destSize, reg, false);
        }

        Expect signExtend(final int accessSize, final int destSize, final int reg)
        {
            return access(LOAD_SIGN_EXTEND, accessSize, destSize, reg, false);
        }

        Expect storeImm(final int accessSize, final long value)
        {
            immediate = value;
            return access(STORE_IMM, accessSize, accessSize, DecodedInstruction.NO_REGISTER, false);
        }

        private Expect access(
            final InstructionKind k, final int accessSize, final int destSize, final int reg, final boolean high)
        {
            kind = k;
            size = accessSize;
            destinationSize = destSize;
            register = reg;
            highByte = high;
            return this;
        }

        Expect base(final int reg)
        {
            base = reg;
            return this;
        }

        Expect index(final int reg, final int factor)
        {
            index = reg;
            scale = factor;
            return this;
        }

        Expect disp(final long value, final int bytes)
        {
            displacement = value;
            displacementSize = bytes;
            return this;
        }

        Expect rip(final long value)
        {
            ripRelative = true;
            return disp(value, 4);
        }

        Expect moffs(final long address, final int bytes)
        {
            moffs = true;
            return disp(address, bytes);
        }

        Expect addr32()
        {
            addressSize = 4;
            return this;
        }

        Expect seg(final SegmentOverride value)
        {
            segment = value;
            return this;
        }

        Expect noRex()
        {
            expectRex = false;
            return this;
        }
    }
}
