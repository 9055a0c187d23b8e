package io.jvirtio.bus.x86;

/**
 * What a decoded memory-access instruction does, in the classes Linux uses for the same job
 * ({@code enum insn_mmio_type} in {@code arch/x86/include/asm/insn-eval.h}, used by TDX #VE and SEV-ES #VC
 * handlers), plus MOV with a 64-bit absolute address (moffs), which KVM's selftests exercise.
 * <p>
 * Thread safety: immutable.
 */
public enum InstructionKind
{
    /** Nothing decoded yet, or the last decode failed. */
    NONE(false),
    /** {@code MOV r/m, reg} (88, 89) and {@code MOV moffs, AL/eAX} (A2, A3): store a register. */
    STORE_REG(true),
    /** {@code MOV r/m, imm} (C6 /0 ib, C7 /0 iw/id): store an immediate. */
    STORE_IMM(true),
    /** {@code MOV reg, r/m} (8A, 8B) and {@code MOV AL/eAX, moffs} (A0, A1): load into a register. */
    LOAD(false),
    /** {@code MOVZX reg, r/m8} and {@code MOVZX reg, r/m16} (0F B6, 0F B7). */
    LOAD_ZERO_EXTEND(false),
    /** {@code MOVSX reg, r/m8} and {@code MOVSX reg, r/m16} (0F BE, 0F BF). */
    LOAD_SIGN_EXTEND(false);

    private final boolean write;

    InstructionKind(final boolean write)
    {
        this.write = write;
    }

    /** @return true if the memory access is a write (the instruction stores to memory). */
    public boolean isWrite()
    {
        return write;
    }

    /** @return true if the instruction loads from memory into a register. */
    public boolean isLoad()
    {
        return this == LOAD || this == LOAD_ZERO_EXTEND || this == LOAD_SIGN_EXTEND;
    }
}
