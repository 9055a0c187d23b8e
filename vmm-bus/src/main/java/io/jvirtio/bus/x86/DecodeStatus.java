package io.jvirtio.bus.x86;

/**
 * The outcome of decoding one instruction. Every failure is typed: the decoder never guesses. A status rather than
 * an exception, so that a hostile guest's bytes cost no allocation on the exit path; the exit handler turns a
 * failure into the fault hardware would raise (noted for each constant) or an emulation failure.
 * <p>
 * Thread safety: immutable.
 */
public enum DecodeStatus
{
    /** Decoded; the {@link DecodedInstruction} is valid. */
    OK,
    /**
     * The bytes end before the instruction does. If the fetch stopped at a page that could not be read, hardware
     * would raise that page's #PF; otherwise the caller gave too few bytes.
     */
    TRUNCATED,
    /** The instruction would be longer than 15 bytes (Intel SDM Vol. 2A §2.3.11): #GP(0). */
    TOO_LONG,
    /** An opcode, or a ModRM.reg opcode extension, outside the decoded MOV/MOVZX/MOVSX forms. */
    UNKNOWN_OPCODE,
    /** A LOCK prefix on an instruction that cannot take it: #UD (Intel SDM Vol. 2A, "LOCK"). */
    LOCK_PREFIX,
    /**
     * An F2 or F3 prefix on a MOV form: the SDM calls repeat prefixes on non-string instructions reserved, and
     * F3 on C6/C7/88/89 is XRELEASE; neither is a plain device access, so it is refused rather than guessed.
     */
    REP_PREFIX,
    /** ModRM.mod = 11b: the operand is a register, so the instruction does not access memory. */
    REGISTER_OPERAND;

    /** @return true for {@link #OK}. */
    public boolean isOk()
    {
        return this == OK;
    }
}
