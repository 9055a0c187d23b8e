package io.jvirtio.bus.guest;

import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.x86.DecodeStatus;
import io.jvirtio.bus.x86.DecodedInstruction;
import io.jvirtio.bus.x86.Hex;
import io.jvirtio.bus.x86.InstructionDecoder;
import io.jvirtio.bus.x86.InstructionKind;
import io.jvirtio.bus.x86.MemoryOperand;
import io.jvirtio.bus.x86.SegmentOverride;
import io.jvirtio.bus.x86.X86Registers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Supplier;

import static io.jvirtio.bus.x86.X86Registers.R10;
import static io.jvirtio.bus.x86.X86Registers.R12;
import static io.jvirtio.bus.x86.X86Registers.R13;
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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The guest-side encoder: golden bytes, a round trip through the decoder for every form, and the register setup. */
class InstructionEncoderTest
{
    private static final long GPA = 0x1000;
    private static final long CODE_LINEAR = 0xFFFF_FFFF_8100_0000L;
    private static final long DEVICE = 0xFFFF_FFFF_FEBF_1008L;
    private static final int[] SIZES = {1, 2, 4, 8};
    private static final int[] DATA_REGISTERS = {RAX, RCX, RSP, RSI, RDI, R8, R15};
    private static final int[][] EXTENSIONS = {{1, 2}, {1, 4}, {1, 8}, {2, 4}, {2, 8}};
    private static final long[][] IMMEDIATES = {
        {1, 0x12, 0x12}, {1, 0xFF, 0xFF}, {1, -1, 0xFF}, {2, 0xBEEF, 0xBEEF}, {2, -2, 0xFFFE},
        {4, 0xCAFE_BABEL, 0xCAFE_BABEL}, {4, -2, 0xFFFF_FFFEL},
        {8, 0x1234_5678, 0x1234_5678}, {8, -1, -1}, {8, Integer.MIN_VALUE, Integer.MIN_VALUE}};

    /** Every shape of memory operand the ModRM/SIB encoding has a special case for. */
    private static final List<Supplier<MemoryOperand>> OPERANDS = List.of(
        () -> op().base(RDI),
        () -> op().base(RSP),
        () -> op().base(R12),
        () -> op().base(RBP),
        () -> op().base(R13),
        () -> op().base(R8).displacement(-0x80),
        () -> op().base(RBX).displacement(0x7F),
        () -> op().base(RBX).displacement(0x80),
        () -> op().base(R15).displacement(Integer.MIN_VALUE),
        () -> op().base(RDI).index(RSI).scale(4).displacement(8),
        () -> op().base(R9).index(R9).scale(8).displacement(0x1234_5678),
        () -> op().base(RBP).index(R12).scale(2),
        () -> op().base(R13).index(RAX).scale(1),
        () -> op().base(RSP).index(R15).scale(8).displacement(-1),
        () -> op().index(RSI).scale(4).displacement(0x10),
        () -> op().displacement(0x1000),
        () -> op().displacement(-0x1000),
        () -> op().ripRelative(true).displacement(0x1234),
        () -> op().ripRelative(true).displacement(-0x10),
        () -> op().base(RDI).addressSize(4),
        () -> op().base(RSI).index(RCX).scale(4).addressSize(4),
        () -> op().ripRelative(true).displacement(0x10).addressSize(4),
        () -> op().base(RDI).segment(SegmentOverride.FS),
        () -> op().base(RDI).index(RSI).scale(2).displacement(8).segment(SegmentOverride.GS),
        () -> op().displacement(0x1000).segment(SegmentOverride.ES));

    private final GuestMemory memory = GuestMemory.anonymous(1L << 20);
    private final InstructionEncoder encoder = new InstructionEncoder();
    private final InstructionDecoder decoder = new InstructionDecoder();
    private final DecodedInstruction insn = new DecodedInstruction();
    private final X86Registers regs = new X86Registers().rip(CODE_LINEAR);

    @AfterEach
    void close()
    {
        memory.close();
    }

    private static MemoryOperand op()
    {
        return new MemoryOperand();
    }

    private String placed(final int length)
    {
        final byte[] bytes = new byte[length];
        memory.copyOut(GPA, bytes, 0, length);
        return Hex.of(bytes, length);
    }

    private void decodePlaced(final int length, final String what)
    {
        final byte[] bytes = new byte[InstructionDecoder.MAX_LENGTH];
        memory.copyOut(GPA, bytes, 0, bytes.length);
        assertEquals(DecodeStatus.OK, decoder.decode(bytes, bytes.length, insn), what + ": " + placed(length));
        assertEquals(length, insn.length(), what + ": length");
    }

    @Test
    void shouldEmitTheBytesAnAssemblerEmits()
    {
        assertEquals("66 89 07", placed(encoder.store(memory, GPA, 2, RAX, op().base(RDI))));
        assertEquals("40 88 27", placed(encoder.store(memory, GPA, 1, RSP, op().base(RDI))),
            "byte register 4 is SPL, which needs a REX prefix (without one, 88 27 is mov %ah,(%rdi))");
        assertEquals("40 88 37", placed(encoder.store(memory, GPA, 1, RSI, op().base(RDI))));
        assertEquals("45 89 65 00", placed(encoder.store(memory, GPA, 4, R12, op().base(R13))));
        assertEquals("89 0c 24", placed(encoder.store(memory, GPA, 4, RCX, op().base(RSP))));
        assertEquals("89 5d 00", placed(encoder.store(memory, GPA, 4, RBX, op().base(RBP))));
        assertEquals("89 44 b7 08",
            placed(encoder.store(memory, GPA, 4, RAX, op().base(RDI).index(RSI).scale(4).displacement(8))));
        assertEquals("89 04 b5 10 00 00 00",
            placed(encoder.store(memory, GPA, 4, RAX, op().index(RSI).scale(4).displacement(0x10))));
        assertEquals("89 04 25 00 10 00 00", placed(encoder.store(memory, GPA, 4, RAX, op().displacement(0x1000))));
        assertEquals("66 89 05 34 12 00 00",
            placed(encoder.store(memory, GPA, 2, RAX, op().ripRelative(true).displacement(0x1234))));
        assertEquals("4d 89 0a", placed(encoder.store(memory, GPA, 8, R9, op().base(R10))));
        assertEquals("4f 8b 94 c9 78 56 34 12", placed(
            encoder.load(memory, GPA, 8, R10, op().base(R9).index(R9).scale(8).displacement(0x1234_5678))));
        assertEquals("67 8b 04 8e",
            placed(encoder.load(memory, GPA, 4, RAX, op().base(RSI).index(RCX).scale(4).addressSize(4))));
        assertEquals("64 8b 07",
            placed(encoder.load(memory, GPA, 4, RAX, op().base(RDI).segment(SegmentOverride.FS))));
        assertEquals("64 66 c7 05 10 00 00 00 05 00", placed(encoder.storeImmediate(memory, GPA, 2, 5,
            op().ripRelative(true).displacement(0x10).segment(SegmentOverride.FS))));
        assertEquals("67 66 c7 44 24 fe cd ab", placed(encoder.storeImmediate(memory, GPA, 2, 0xABCD,
            op().base(RSP).displacement(-2).addressSize(4))));
        assertEquals("c6 07 12", placed(encoder.storeImmediate(memory, GPA, 1, 0x12, op().base(RDI))));
        assertEquals("48 c7 07 ff ff ff ff", placed(encoder.storeImmediate(memory, GPA, 8, -1, op().base(RDI))));
        assertEquals("44 0f b6 54 4f 08", placed(encoder.loadZeroExtend(memory, GPA, 1, 4, R10,
            op().base(RDI).index(RCX).scale(2).displacement(8))));
        assertEquals("0f b7 07", placed(encoder.loadZeroExtend(memory, GPA, 2, 4, RAX, op().base(RDI))));
        assertEquals("66 0f be 07", placed(encoder.loadSignExtend(memory, GPA, 1, 2, RAX, op().base(RDI))));
        assertEquals("48 0f bf 17", placed(encoder.loadSignExtend(memory, GPA, 2, 8, RDX, op().base(RDI))));
        assertEquals("48 a3 88 77 66 55 44 33 22 11",
            placed(encoder.store(memory, GPA, 8, RAX, op().moffs(true).displacement(0x1122_3344_5566_7788L))));
        assertEquals("67 a0 78 56 34 12",
            placed(encoder.load(memory, GPA, 1, RAX, op().moffs(true).displacement(0x1234_5678).addressSize(4))));
        assertEquals("65 48 a1 01 02 03 04 05 06 07 08", placed(encoder.load(memory, GPA, 8, RAX,
            op().moffs(true).displacement(0x0807_0605_0403_0201L).segment(SegmentOverride.GS))));
    }

    @Test
    void shouldEmitPortIoForms()
    {
        assertEquals("ee", placed(encoder.encodeOut(memory, GPA, regs, 1, 0x3F8, 0x41)));
        assertEquals("66 ef", placed(encoder.encodeOut(memory, GPA, regs, 2, 0xCFC, 0x1234)));
        assertEquals("ef", placed(encoder.encodeOut(memory, GPA, regs, 4, 0xCFC, 0x8000_0000L)));
        assertEquals("e6 80", placed(encoder.encodeOutImmediate(memory, GPA, regs, 1, 0x80, 0)));
        assertEquals("66 e7 80", placed(encoder.encodeOutImmediate(memory, GPA, regs, 2, 0x80, 0)));
        assertEquals("e7 80", placed(encoder.encodeOutImmediate(memory, GPA, regs, 4, 0x80, 0)));
        assertEquals("ec", placed(encoder.encodeIn(memory, GPA, regs, 1, 0x3F8)));
        assertEquals("66 ed", placed(encoder.encodeIn(memory, GPA, regs, 2, 0xCFC)));
        assertEquals("ed", placed(encoder.encodeIn(memory, GPA, regs, 4, 0xCFC)));
        assertEquals("e4 60", placed(encoder.encodeInImmediate(memory, GPA, 1, 0x60)));
        assertEquals("66 e5 60", placed(encoder.encodeInImmediate(memory, GPA, 2, 0x60)));
        assertEquals("e5 60", placed(encoder.encodeInImmediate(memory, GPA, 4, 0x60)));
    }

    @Test
    void shouldSetPortAndDataRegistersForPortIo()
    {
        regs.gpr(RAX, 0x1122_3344_5566_7788L).gpr(RDX, 0xFFFF_FFFF_FFFF_FFFFL);
        encoder.encodeOut(memory, GPA, regs, 2, 0xCFC, 0xBEEF);
        assertEquals(0xFFFF_FFFF_FFFF_0CFCL, regs.gpr(RDX), "DX only");
        assertEquals(0x1122_3344_5566_BEEFL, regs.gpr(RAX), "AX only");
        encoder.encodeOut(memory, GPA, regs, 4, 0xCF8, 0x8000_0800L);
        assertEquals(0x8000_0800L, regs.gpr(RAX), "a 32-bit register write zero-extends");
        encoder.encodeIn(memory, GPA, regs, 1, 0x3FD);
        assertEquals(0x3FD, regs.gpr(RDX) & 0xFFFF);
    }

    @Test
    void shouldRoundTripEveryStoreAndLoadThroughTheDecoder()
    {
        int checked = 0;
        for (final Supplier<MemoryOperand> operands : OPERANDS)
        {
            for (final int size : SIZES)
            {
                for (final int reg : DATA_REGISTERS)
                {
                    final MemoryOperand operand = operands.get();
                    final String what = "size " + size + " reg " + reg + " " + operand;
                    decodePlaced(encoder.store(memory, GPA, size, reg, operand), "store " + what);
                    assertAccess(InstructionKind.STORE_REG, size, size, reg, operand, what);
                    decodePlaced(encoder.load(memory, GPA, size, reg, operand), "load " + what);
                    assertAccess(InstructionKind.LOAD, size, size, reg, operand, what);
                    checked += 2;
                }
            }
        }
        assertEquals(OPERANDS.size() * SIZES.length * DATA_REGISTERS.length * 2, checked);
    }

    @Test
    void shouldRoundTripEveryImmediateStoreThroughTheDecoder()
    {
        for (final Supplier<MemoryOperand> operands : OPERANDS)
        {
            for (final long[] immediate : IMMEDIATES)
            {
                final MemoryOperand operand = operands.get();
                final int size = (int)immediate[0];
                final String what = "movimm size " + size + " value " + immediate[1] + " " + operand;
                decodePlaced(encoder.storeImmediate(memory, GPA, size, immediate[1], operand), what);
                assertAccess(InstructionKind.STORE_IMM, size, size, DecodedInstruction.NO_REGISTER, operand, what);
                assertEquals(immediate[2], insn.immediate(), what);
                assertEquals(immediate[2], insn.storeValue(regs), what);
            }
        }
    }

    @Test
    void shouldRoundTripEveryZeroAndSignExtensionThroughTheDecoder()
    {
        for (final Supplier<MemoryOperand> operands : OPERANDS)
        {
            for (final int[] extension : EXTENSIONS)
            {
                for (final int reg : DATA_REGISTERS)
                {
                    final MemoryOperand operand = operands.get();
                    final String what = extension[0] + "->" + extension[1] + " reg " + reg + " " + operand;
                    decodePlaced(encoder.loadZeroExtend(memory, GPA, extension[0], extension[1], reg, operand),
                        "movzx " + what);
                    assertAccess(InstructionKind.LOAD_ZERO_EXTEND, extension[0], extension[1], reg, operand, what);
                    decodePlaced(encoder.loadSignExtend(memory, GPA, extension[0], extension[1], reg, operand),
                        "movsx " + what);
                    assertAccess(InstructionKind.LOAD_SIGN_EXTEND, extension[0], extension[1], reg, operand, what);
                }
            }
        }
    }

    @Test
    void shouldRoundTripEveryMoffsForm()
    {
        final List<Supplier<MemoryOperand>> moffs = List.of(
            () -> op().moffs(true).displacement(0x1122_3344_5566_7788L),
            () -> op().moffs(true).displacement(-16),
            () -> op().moffs(true).displacement(0xFFFF_FFF0L).addressSize(4),
            () -> op().moffs(true).displacement(0x1000).segment(SegmentOverride.GS));
        for (final Supplier<MemoryOperand> operands : moffs)
        {
            for (final int size : SIZES)
            {
                final MemoryOperand operand = operands.get();
                final String what = "size " + size + " " + operand;
                decodePlaced(encoder.store(memory, GPA, size, RAX, operand), "store " + what);
                assertAccess(InstructionKind.STORE_REG, size, size, RAX, operand, what);
                decodePlaced(encoder.load(memory, GPA, size, RAX, operand), "load " + what);
                assertAccess(InstructionKind.LOAD, size, size, RAX, operand, what);
            }
        }
    }

    private void assertAccess(
        final InstructionKind kind,
        final int size,
        final int destinationSize,
        final int reg,
        final MemoryOperand operand,
        final String what)
    {
        assertEquals(kind, insn.kind(), what);
        assertEquals(size, insn.accessSize(), what);
        assertEquals(destinationSize, insn.destinationSize(), what);
        assertEquals(reg, insn.register(), what);
        assertFalse(insn.highByte(), what + ": the encoder's byte registers are low bytes");
        assertTrue(insn.operand().sameAddress(operand), what + " decoded as " + insn.operand());
    }

    @Test
    void shouldResolveEveryAddressingFormToTheRequestedAddress()
    {
        for (final AddressingForm form : AddressingForm.values())
        {
            for (final int size : SIZES)
            {
                final String what = form + " size " + size;
                regs.gpr(RAX, 0x1122_3344_5566_7788L);
                decodePlaced(encoder.encodeStore(memory, GPA, regs, size, RAX, 0xA1B2_C3D4_E5F6_0718L, form, DEVICE),
                    "store " + what);
                assertEquals(DEVICE, insn.linearAddress(regs), what);
                assertEquals(InstructionKind.STORE_REG, insn.kind(), what);
                final long mask = size == 8 ? -1 : (1L << (8 * size)) - 1;
                assertEquals(0xA1B2_C3D4_E5F6_0718L & mask, insn.storeValue(regs), what);

                decodePlaced(encoder.encodeLoad(memory, GPA, regs, size, RAX, form, DEVICE), "load " + what);
                assertEquals(DEVICE, insn.linearAddress(regs), what);
                assertEquals(InstructionKind.LOAD, insn.kind(), what);
                if (form == AddressingForm.MOFFS)
                {
                    continue;
                }
                decodePlaced(encoder.encodeStoreImmediate(memory, GPA, regs, size, 0x42, form, DEVICE),
                    "movimm " + what);
                assertEquals(DEVICE, insn.linearAddress(regs), what);
                assertEquals(0x42, insn.storeValue(regs), what);
            }
            if (form == AddressingForm.MOFFS)
            {
                continue;
            }
            decodePlaced(encoder.encodeLoadZeroExtend(memory, GPA, regs, 2, 4, RAX, form, DEVICE), "movzwl " + form);
            assertEquals(DEVICE, insn.linearAddress(regs), form.name());
            assertEquals(InstructionKind.LOAD_ZERO_EXTEND, insn.kind());
            decodePlaced(encoder.encodeLoadSignExtend(memory, GPA, regs, 1, 8, RAX, form, DEVICE), "movsbq " + form);
            assertEquals(DEVICE, insn.linearAddress(regs), form.name());
            assertEquals(InstructionKind.LOAD_SIGN_EXTEND, insn.kind());
        }
    }

    @Test
    void shouldSetAddressRegistersAsTheFormDocuments()
    {
        encoder.encodeStore(memory, GPA, regs, 2, RAX, 7, AddressingForm.BASE, DEVICE);
        assertEquals(DEVICE, regs.gpr(AddressingForm.BASE_REGISTER));
        assertEquals("66 89 07", placed(3), "writew compiles to mov %ax,(%rdi)");
        encoder.encodeStore(memory, GPA, regs, 4, RAX, 7, AddressingForm.BASE_INDEX_SCALE, DEVICE);
        assertEquals(AddressingForm.INDEX_VALUE, regs.gpr(AddressingForm.INDEX_REGISTER));
        assertEquals(DEVICE - 8 - AddressingForm.INDEX_VALUE * AddressingForm.SCALE,
            regs.gpr(AddressingForm.BASE_REGISTER));
        assertEquals(7, regs.gpr(RAX));
    }

    @Test
    void shouldRefuseRequestsNoInstructionCanExpress()
    {
        assertThrows(IllegalArgumentException.class, () -> encoder.store(memory, GPA, 3, RAX, op().base(RDI)));
        assertThrows(IllegalArgumentException.class, () -> encoder.store(memory, GPA, 4, 16, op().base(RDI)));
        final IllegalArgumentException index = assertThrows(IllegalArgumentException.class,
            () -> encoder.store(memory, GPA, 4, RAX, op().base(RDI).index(RSP)));
        assertEquals("rsp cannot be an index register: index=4", index.getMessage());
        assertThrows(IllegalArgumentException.class,
            () -> encoder.store(memory, GPA, 4, RAX, op().base(RDI).index(RSI).scale(3)));
        assertThrows(IllegalArgumentException.class,
            () -> encoder.store(memory, GPA, 4, RAX, op().base(RDI).displacement(1L << 32)));
        assertThrows(IllegalArgumentException.class,
            () -> encoder.store(memory, GPA, 4, RAX, op().ripRelative(true).base(RDI)));
        assertThrows(IllegalArgumentException.class,
            () -> encoder.store(memory, GPA, 4, RCX, op().moffs(true).displacement(0x1000)));
        assertThrows(IllegalArgumentException.class,
            () -> encoder.store(memory, GPA, 4, RAX, op().moffs(true).displacement(1L << 32).addressSize(4)));
        assertThrows(IllegalArgumentException.class,
            () -> encoder.storeImmediate(memory, GPA, 1, 0x100, op().base(RDI)));
        assertThrows(IllegalArgumentException.class,
            () -> encoder.storeImmediate(memory, GPA, 8, 1L << 31, op().base(RDI)));
        assertThrows(IllegalArgumentException.class,
            () -> encoder.storeImmediate(memory, GPA, 4, 1, op().moffs(true)));
        assertThrows(IllegalArgumentException.class,
            () -> encoder.loadZeroExtend(memory, GPA, 2, 2, RAX, op().base(RDI)));
        assertThrows(IllegalArgumentException.class,
            () -> encoder.loadSignExtend(memory, GPA, 4, 8, RAX, op().base(RDI)));
        assertThrows(IllegalArgumentException.class,
            () -> encoder.encodeStore(memory, GPA, regs, 4, RDI, 0, AddressingForm.BASE, DEVICE));
        assertThrows(IllegalArgumentException.class,
            () -> encoder.encodeStore(memory, GPA, regs, 4, RSI, 0, AddressingForm.BASE_INDEX_SCALE, DEVICE));
        assertThrows(IllegalArgumentException.class,
            () -> encoder.encodeLoad(memory, GPA, regs, 4, RAX, AddressingForm.RIP_RELATIVE, 0x1_0000_0000L));
        assertThrows(IllegalArgumentException.class,
            () -> encoder.encodeLoad(memory, GPA, regs, 4, RAX, AddressingForm.ABSOLUTE, 0x1_0000_0000L));
        assertThrows(IllegalArgumentException.class,
            () -> encoder.encodeOutImmediate(memory, GPA, regs, 1, 0x100, 0));
        assertThrows(IllegalArgumentException.class, () -> encoder.encodeIn(memory, GPA, regs, 8, 0x60));
    }

    @Test
    void shouldAllowLoadIntoAnAddressRegister()
    {
        decodePlaced(encoder.encodeLoad(memory, GPA, regs, 8, RDI, AddressingForm.BASE, DEVICE), "mov (%rdi),%rdi");
        assertEquals(DEVICE, insn.linearAddress(regs));
        assertEquals(RDI, insn.register());
    }
}
