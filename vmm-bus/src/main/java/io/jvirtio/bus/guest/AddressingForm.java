package io.jvirtio.bus.guest;

import io.jvirtio.bus.x86.X86Registers;

/**
 * How a guest instruction names the device address it accesses, in the shapes compilers emit for Linux's MMIO
 * accessors ({@code arch/x86/include/asm/io.h}) and for volatile C dereferences. {@link InstructionEncoder} sets the
 * registers each form uses so that the operand resolves to the requested linear address.
 * <p>
 * Register conventions: the base register is {@link #BASE_REGISTER} (RDI, the first argument register of the
 * SysV ABI, as in {@code writel(val, addr)} compiled out of line), the index register is {@link #INDEX_REGISTER}
 * (RSI) holding {@link #INDEX_VALUE}. The data register of an access must not be one the form uses for the address.
 * <p>
 * Thread safety: immutable.
 */
public enum AddressingForm
{
    /** {@code (%rdi)}: ModRM mod = 00, no displacement; what {@code writew(v, addr)} compiles to. */
    BASE(0),
    /** {@code 0x10(%rdi)}: disp8, a register at a small offset from a mapped base. */
    BASE_DISP8(0x10),
    /** {@code 0x1000(%rdi)}: disp32, a register at a large offset from a mapped base. */
    BASE_DISP32(0x1000),
    /** {@code 0x8(%rdi,%rsi,4)} with RSI = 2: SIB with base, scaled index and disp8, an array of registers. */
    BASE_INDEX_SCALE(0x8),
    /** {@code disp32(%rip)}: RIP-relative; the address must lie within 2 GiB of the end of the instruction. */
    RIP_RELATIVE(0),
    /** {@code 0xaddr} through SIB with no base and no index: a disp32 sign-extended to 64 bits. */
    ABSOLUTE(0),
    /** {@code movabs}: A0-A3 with a 64-bit address (moffs); only AL/AX/EAX/RAX and no immediate. */
    MOFFS(0);

    /** The base register of the register-based forms. */
    public static final int BASE_REGISTER = X86Registers.RDI;
    /** The index register of {@link #BASE_INDEX_SCALE}. */
    public static final int INDEX_REGISTER = X86Registers.RSI;
    /** The value the index register holds for {@link #BASE_INDEX_SCALE}. */
    public static final long INDEX_VALUE = 2;
    /** The scale of {@link #BASE_INDEX_SCALE}. */
    public static final int SCALE = 4;

    private final int displacement;

    AddressingForm(final int displacement)
    {
        this.displacement = displacement;
    }

    /** @return the displacement the register-based forms encode (the base register holds the address minus it). */
    public int displacement()
    {
        return displacement;
    }

    /**
     * @param reg a general-purpose register number.
     * @return true if the form uses that register to form the address.
     */
    public boolean usesRegister(final int reg)
    {
        return switch (this)
        {
            case BASE, BASE_DISP8, BASE_DISP32 -> reg == BASE_REGISTER;
            case BASE_INDEX_SCALE -> reg == BASE_REGISTER || reg == INDEX_REGISTER;
            default -> false;
        };
    }
}
