package io.jvirtio.bus.x86;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Decodes the 64-bit-mode instructions guests use to access device memory, as KVM's MMIO emulator must before it can
 * perform an access whose size and data the exit does not carry (arch/x86/kvm/emulate.c;
 * the set is Linux's {@code insn_decode_mmio()} without MOVS, plus moffs):
 * <table>
 *     <caption>Decoded opcodes (Intel SDM Vol. 2B "MOV", "MOVZX", "MOVSX")</caption>
 *     <tr><th>Opcode</th><th>Instruction</th><th>Kind</th></tr>
 *     <tr><td>88 /r, 89 /r</td><td>MOV r/m, r</td><td>{@link InstructionKind#STORE_REG}</td></tr>
 *     <tr><td>8A /r, 8B /r</td><td>MOV r, r/m</td><td>{@link InstructionKind#LOAD}</td></tr>
 *     <tr><td>C6 /0 ib, C7 /0 iw/id</td><td>MOV r/m, imm</td><td>{@link InstructionKind#STORE_IMM}</td></tr>
 *     <tr><td>0F B6 /r, 0F B7 /r</td><td>MOVZX r, r/m8 / r/m16</td>
 *         <td>{@link InstructionKind#LOAD_ZERO_EXTEND}</td></tr>
 *     <tr><td>0F BE /r, 0F BF /r</td><td>MOVSX r, r/m8 / r/m16</td>
 *         <td>{@link InstructionKind#LOAD_SIGN_EXTEND}</td></tr>
 *     <tr><td>A0, A1</td><td>MOV AL/eAX, moffs</td><td>{@link InstructionKind#LOAD}</td></tr>
 *     <tr><td>A2, A3</td><td>MOV moffs, AL/eAX</td><td>{@link InstructionKind#STORE_REG}</td></tr>
 * </table>
 * Prefixes (Intel SDM Vol. 2A §2.1.1 and §2.2.1): 66h selects a 16-bit operand and REX.W a 64-bit one (REX.W wins);
 * 67h selects 32-bit addressing; the segment overrides 26h, 2Eh, 36h, 3Eh, 64h, 65h are recorded in the operand
 * (the last one wins; only FS and GS have a base in 64-bit mode); a REX prefix counts only if it comes immediately
 * before the opcode, so a REX followed by a legacy prefix, or by another REX, is ignored as the processor ignores
 * it. ModRM, SIB and displacement follow Intel SDM Vol. 2A §2.1.5 and §2.2.1.6, Tables 2-2 and 2-3: mod 00/01/10
 * with no, 8-bit or 32-bit displacement; rm = 100b selects a SIB byte whose index 100b without REX.X means no index
 * and whose base 101b with mod 00 means a disp32 and no base; rm = 101b with mod 00 is RIP-relative.
 * <p>
 * Everything else is a typed failure ({@link DecodeStatus}), never a guess. The checks run in this order: length
 * and truncation as bytes are consumed, then opcode, then LOCK (#UD on MOV), then F2/F3, then the ModRM opcode
 * extension of C6/C7, then mod = 11b. Each failure is counted ({@link #failures(DecodeStatus)}).
 * <p>
 * Only 64-bit mode is decoded (CS.L = 1), the mode the vCPU runs in; I/O instructions are not decoded, because a
 * port I/O exit carries port, size, direction and length.
 * <p>
 * Allocation: none, on success or failure.
 * <p>
 * Thread safety: stateless apart from its failure counters, which are atomic; any thread may call it, and a
 * {@link DecodedInstruction} belongs to the calling thread.
 */
public final class InstructionDecoder
{
    /** The longest legal instruction (Intel SDM Vol. 2A §2.3.11): 15 bytes, prefixes included. */
    public static final int MAX_LENGTH = 15;

    private static final int PREFIX_OPERAND_SIZE = 0x66;
    private static final int PREFIX_ADDRESS_SIZE = 0x67;
    private static final int PREFIX_LOCK = 0xF0;
    private static final int PREFIX_REPNE = 0xF2;
    private static final int PREFIX_REP = 0xF3;
    private static final int PREFIX_ES = 0x26;
    private static final int PREFIX_CS = 0x2E;
    private static final int PREFIX_SS = 0x36;
    private static final int PREFIX_DS = 0x3E;
    private static final int PREFIX_FS = 0x64;
    private static final int PREFIX_GS = 0x65;
    private static final int REX_MASK = 0xF0;
    private static final int REX_BASE = 0x40;
    private static final int REX_W = 0x08;
    private static final int REX_R = 0x04;
    private static final int REX_X = 0x02;
    private static final int REX_B = 0x01;

    private static final int MOV_STORE_BYTE = 0x88;
    private static final int MOV_STORE = 0x89;
    private static final int MOV_LOAD_BYTE = 0x8A;
    private static final int MOV_LOAD = 0x8B;
    private static final int MOV_LOAD_AL_MOFFS = 0xA0;
    private static final int MOV_LOAD_EAX_MOFFS = 0xA1;
    private static final int MOV_STORE_AL_MOFFS = 0xA2;
    private static final int MOV_STORE_EAX_MOFFS = 0xA3;
    private static final int MOV_STORE_IMM_BYTE = 0xC6;
    private static final int MOV_STORE_IMM = 0xC7;
    private static final int TWO_BYTE_ESCAPE = 0x0F;
    private static final int MOVZX_BYTE = 0xB6;
    private static final int MOVZX_WORD = 0xB7;
    private static final int MOVSX_BYTE = 0xBE;
    private static final int MOVSX_WORD = 0xBF;

    private static final int MOD_REGISTER = 3;
    private static final int RM_SIB = 4;
    private static final int RM_DISP32 = 5;
    private static final int SIB_NO_INDEX = 4;
    private static final int SIB_NO_BASE = 5;

    private final AtomicLongArray failures = new AtomicLongArray(DecodeStatus.values().length);

    /**
     * Decodes one instruction from {@code bytes[0 .. available)}.
     *
     * @param bytes     the instruction bytes as fetched from RIP.
     * @param available how many of them are valid (at most 15 are looked at).
     * @param out       receives the result; cleared first.
     * @return {@link DecodeStatus#OK}, or the failure (also in {@code out.status()}).
     */
    public DecodeStatus decode(final byte[] bytes, final int available, final DecodedInstruction out)
    {
        return run(bytes, available, out, true);
    }

    /**
     * Decodes only as far as the length needs: KVM's {@code EMULTYPE_SKIP}, used when the exit's instruction length
     * cannot be trusted (arch/x86/kvm/vmx/vmx.c). It accepts and refuses exactly what {@link #decode} does,
     * since an instruction that decode refuses could not have made the access, but fills in only the status, the
     * length, the kind and the sizes, not the operands, displacement or immediate.
     *
     * @param bytes     the instruction bytes as fetched from RIP.
     * @param available how many of them are valid.
     * @param out       receives the result; cleared first.
     * @return {@link DecodeStatus#OK} with {@code out.length()} set, or the failure.
     */
    public DecodeStatus decodeLength(final byte[] bytes, final int available, final DecodedInstruction out)
    {
        return run(bytes, available, out, false);
    }

    /**
     * @param status a failure status.
     * @return how many decodes have failed with it.
     */
    public long failures(final DecodeStatus status)
    {
        return failures.get(status.ordinal());
    }

    private DecodeStatus fail(final DecodedInstruction out, final DecodeStatus status, final int offset)
    {
        failures.incrementAndGet(status.ordinal());
        return out.fail(status, offset);
    }

    /**
     * @return {@link DecodeStatus#OK} if {@code end} bytes are present and legal, else the failure to report.
     */
    private static DecodeStatus need(final int end, final int limit)
    {
        if (end > MAX_LENGTH)
        {
            return DecodeStatus.TOO_LONG;
        }
        return end > limit ? DecodeStatus.TRUNCATED : DecodeStatus.OK;
    }

    private DecodeStatus failNeed(final DecodedInstruction out, final DecodeStatus status, final int limit)
    {
        return fail(out, status, status == DecodeStatus.TOO_LONG ? MAX_LENGTH : limit);
    }

    private static long readLE(final byte[] bytes, final int offset, final int size)
    {
        long value = 0;
        // bound: size is 1, 2, 4 or 8
        for (int i = size - 1; i >= 0; i--)
        {
            value = (value << Byte.SIZE) | (bytes[offset + i] & 0xFFL);
        }
        return value;
    }

    private static long signExtend(final long value, final int size)
    {
        final int shift = Long.SIZE - Byte.SIZE * size;
        return (value << shift) >> shift;
    }

    private DecodeStatus run(
        final byte[] bytes, final int available, final DecodedInstruction out, final boolean fill)
    {
        out.clear();
        final int limit = Math.max(0, Math.min(Math.min(available, bytes.length), MAX_LENGTH));
        int pos = 0;
        int rex = 0;
        boolean operandSize16 = false;
        boolean addressSize32 = false;
        int lockAt = -1;
        int repAt = -1;
        SegmentOverride segment = SegmentOverride.NONE;
        int opcode = -1;
        // bound: each pass consumes one byte and the loop fails at MAX_LENGTH, so piled-up prefixes end it
        while (opcode < 0)
        {
            if (pos >= MAX_LENGTH)
            {
                return fail(out, DecodeStatus.TOO_LONG, MAX_LENGTH);
            }
            if (pos >= limit)
            {
                return fail(out, DecodeStatus.TRUNCATED, limit);
            }
            final int b = bytes[pos] & 0xFF;
            switch (b)
            {
                case PREFIX_OPERAND_SIZE:
                    operandSize16 = true;
                    rex = 0;
                    break;
                case PREFIX_ADDRESS_SIZE:
                    addressSize32 = true;
                    rex = 0;
                    break;
                case PREFIX_LOCK:
                    lockAt = pos;
                    rex = 0;
                    break;
                case PREFIX_REPNE:
                case PREFIX_REP:
                    repAt = pos;
                    rex = 0;
                    break;
                case PREFIX_ES:
                    segment = SegmentOverride.ES;
                    rex = 0;
                    break;
                case PREFIX_CS:
                    segment = SegmentOverride.CS;
                    rex = 0;
                    break;
                case PREFIX_SS:
                    segment = SegmentOverride.SS;
                    rex = 0;
                    break;
                case PREFIX_DS:
                    segment = SegmentOverride.DS;
                    rex = 0;
                    break;
                case PREFIX_FS:
                    segment = SegmentOverride.FS;
                    rex = 0;
                    break;
                case PREFIX_GS:
                    segment = SegmentOverride.GS;
                    rex = 0;
                    break;
                default:
                    if ((b & REX_MASK) == REX_BASE)
                    {
                        rex = b;
                    }
                    else
                    {
                        opcode = b;
                    }
                    break;
            }
            pos++;
        }

        final int opcodeAt = pos - 1;
        final int operandSize = (rex & REX_W) != 0 ? Long.BYTES : operandSize16 ? Short.BYTES : Integer.BYTES;
        int fullOpcode = opcode;
        InstructionKind kind;
        int accessSize;
        int destinationSize;
        switch (opcode)
        {
            case MOV_STORE_BYTE:
                kind = InstructionKind.STORE_REG;
                accessSize = Byte.BYTES;
                destinationSize = Byte.BYTES;
                break;
            case MOV_STORE:
                kind = InstructionKind.STORE_REG;
                accessSize = operandSize;
                destinationSize = operandSize;
                break;
            case MOV_LOAD_BYTE:
                kind = InstructionKind.LOAD;
                accessSize = Byte.BYTES;
                destinationSize = Byte.BYTES;
                break;
            case MOV_LOAD:
                kind = InstructionKind.LOAD;
                accessSize = operandSize;
                destinationSize = operandSize;
                break;
            case MOV_STORE_IMM_BYTE:
                kind = InstructionKind.STORE_IMM;
                accessSize = Byte.BYTES;
                destinationSize = Byte.BYTES;
                break;
            case MOV_STORE_IMM:
                kind = InstructionKind.STORE_IMM;
                accessSize = operandSize;
                destinationSize = operandSize;
                break;
            case MOV_LOAD_AL_MOFFS:
            case MOV_STORE_AL_MOFFS:
                kind = opcode == MOV_LOAD_AL_MOFFS ? InstructionKind.LOAD : InstructionKind.STORE_REG;
                accessSize = Byte.BYTES;
                destinationSize = Byte.BYTES;
                break;
            case MOV_LOAD_EAX_MOFFS:
            case MOV_STORE_EAX_MOFFS:
                kind = opcode == MOV_LOAD_EAX_MOFFS ? InstructionKind.LOAD : InstructionKind.STORE_REG;
                accessSize = operandSize;
                destinationSize = operandSize;
                break;
            case TWO_BYTE_ESCAPE:
                final DecodeStatus escape = need(pos + 1, limit);
                if (!escape.isOk())
                {
                    return failNeed(out, escape, limit);
                }
                final int second = bytes[pos] & 0xFF;
                pos++;
                fullOpcode = (TWO_BYTE_ESCAPE << Byte.SIZE) | second;
                if (second == MOVZX_BYTE || second == MOVZX_WORD)
                {
                    kind = InstructionKind.LOAD_ZERO_EXTEND;
                }
                else if (second == MOVSX_BYTE || second == MOVSX_WORD)
                {
                    kind = InstructionKind.LOAD_SIGN_EXTEND;
                }
                else
                {
                    return fail(out, DecodeStatus.UNKNOWN_OPCODE, opcodeAt);
                }
                accessSize = second == MOVZX_BYTE || second == MOVSX_BYTE ? Byte.BYTES : Short.BYTES;
                destinationSize = operandSize;
                break;
            default:
                return fail(out, DecodeStatus.UNKNOWN_OPCODE, opcodeAt);
        }
        if (lockAt >= 0)
        {
            return fail(out, DecodeStatus.LOCK_PREFIX, lockAt);
        }
        if (repAt >= 0)
        {
            return fail(out, DecodeStatus.REP_PREFIX, repAt);
        }
        out.set(kind, fullOpcode, rex, accessSize, destinationSize);
        final MemoryOperand operand = out.operand();
        operand.segment(segment).addressSize(addressSize32 ? Integer.BYTES : Long.BYTES);

        if (opcode >= MOV_LOAD_AL_MOFFS && opcode <= MOV_STORE_EAX_MOFFS)
        {
            // moffs: the address is an immediate of the address size; the register is always AL/AX/EAX/RAX
            final int addressBytes = addressSize32 ? Integer.BYTES : Long.BYTES;
            final DecodeStatus moffs = need(pos + addressBytes, limit);
            if (!moffs.isOk())
            {
                return failNeed(out, moffs, limit);
            }
            if (fill)
            {
                operand.moffs(true).displacement(readLE(bytes, pos, addressBytes)).displacementSize(addressBytes);
                out.register(X86Registers.RAX, false);
            }
            return out.succeed(pos + addressBytes);
        }

        final DecodeStatus modrmPresent = need(pos + 1, limit);
        if (!modrmPresent.isOk())
        {
            return failNeed(out, modrmPresent, limit);
        }
        final int modrmAt = pos;
        final int modrm = bytes[pos] & 0xFF;
        pos++;
        final int mod = modrm >>> 6;
        final int regField = (modrm >>> 3) & 7;
        final int rm = modrm & 7;
        if (kind == InstructionKind.STORE_IMM && regField != 0)
        {
            // C6/C7 define only /0 (MOV); C6 F8 and C7 F8 are XABORT and XBEGIN, the rest are reserved
            return fail(out, DecodeStatus.UNKNOWN_OPCODE, modrmAt);
        }
        if (mod == MOD_REGISTER)
        {
            return fail(out, DecodeStatus.REGISTER_OPERAND, modrmAt);
        }

        int base = MemoryOperand.NONE;
        int index = MemoryOperand.NONE;
        int scale = 1;
        boolean ripRelative = false;
        int displacementSize = mod == 1 ? Byte.BYTES : mod == 2 ? Integer.BYTES : 0;
        if (rm == RM_SIB)
        {
            final DecodeStatus sibPresent = need(pos + 1, limit);
            if (!sibPresent.isOk())
            {
                return failNeed(out, sibPresent, limit);
            }
            final int sib = bytes[pos] & 0xFF;
            pos++;
            final int sibIndex = ((sib >>> 3) & 7) | ((rex & REX_X) != 0 ? 8 : 0);
            final int sibBase = sib & 7;
            if (sibIndex != SIB_NO_INDEX)
            {
                index = sibIndex;
                scale = 1 << (sib >>> 6);
            }
            if (sibBase == SIB_NO_BASE && mod == 0)
            {
                displacementSize = Integer.BYTES;
            }
            else
            {
                base = sibBase | ((rex & REX_B) != 0 ? 8 : 0);
            }
        }
        else if (rm == RM_DISP32 && mod == 0)
        {
            ripRelative = true;
            displacementSize = Integer.BYTES;
        }
        else
        {
            base = rm | ((rex & REX_B) != 0 ? 8 : 0);
        }

        final DecodeStatus displacementPresent = need(pos + displacementSize, limit);
        if (!displacementPresent.isOk())
        {
            return failNeed(out, displacementPresent, limit);
        }
        final int displacementAt = pos;
        pos += displacementSize;

        int immediateSize = 0;
        if (kind == InstructionKind.STORE_IMM)
        {
            immediateSize = accessSize == Long.BYTES ? Integer.BYTES : accessSize;
            final DecodeStatus immediatePresent = need(pos + immediateSize, limit);
            if (!immediatePresent.isOk())
            {
                return failNeed(out, immediatePresent, limit);
            }
        }

        if (fill)
        {
            operand.base(base).index(index).scale(scale).ripRelative(ripRelative).displacementSize(displacementSize)
                .displacement(displacementSize == 0 ? 0
                    : signExtend(readLE(bytes, displacementAt, displacementSize), displacementSize));
            if (kind == InstructionKind.STORE_IMM)
            {
                final long raw = readLE(bytes, pos, immediateSize);
                out.immediate(accessSize == Long.BYTES ? signExtend(raw, Integer.BYTES) : raw);
            }
            else
            {
                final int reg = regField | ((rex & REX_R) != 0 ? 8 : 0);
                if (accessSize == Byte.BYTES && destinationSize == Byte.BYTES
                    && X86Registers.isHighByteEncoding(reg, rex != 0))
                {
                    out.register(reg - X86Registers.RSP, true);
                }
                else
                {
                    out.register(reg, false);
                }
            }
        }
        return out.succeed(pos + immediateSize);
    }
}
