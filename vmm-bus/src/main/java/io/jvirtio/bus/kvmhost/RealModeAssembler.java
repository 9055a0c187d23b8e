package io.jvirtio.bus.kvmhost;

import java.util.Arrays;

/**
 * Builds small 16-bit real-mode guests in code, one method per instruction, each emitting the encoding of the Intel
 * SDM Vol. 2 (16-bit operand and address size by default; a {@code 66} prefix selects 32-bit operands).
 * <p>
 * {@snippet :
 * byte[] guest = new RealModeAssembler()
 *     .movDx(0x10)     // port
 *     .movCx(100)      // iterations
 *     .label()         // loop:
 *     .outDx(1)        //   out dx, al
 *     .loopToLabel()   //   loop loop: CX -= 1, jump back while CX != 0
 *     .hlt()
 *     .bytes();
 * }
 * <p>
 * Thread safety: none; build on one thread, then share the bytes.
 */
public final class RealModeAssembler
{
    /** Operand-size override: 32-bit operands in 16-bit code. */
    private static final int OPERAND_SIZE = 0x66;
    /** ModRM mod=00, rm=111: {@code [bx]}, with reg in bits 5:3 (0 = AL/AX/EAX). */
    private static final int MODRM_BX = 0x07;

    private byte[] code = new byte[32];
    private int size;
    private int label;

    private RealModeAssembler emit(final int b)
    {
        if (size == code.length)
        {
            code = Arrays.copyOf(code, size * 2);
        }
        code[size++] = (byte)b;
        return this;
    }

    private RealModeAssembler imm16(final int value)
    {
        return emit(value).emit(value >>> 8);
    }

    private RealModeAssembler sizePrefix(final int bytes)
    {
        if (bytes != 1 && bytes != 2 && bytes != 4)
        {
            throw new IllegalArgumentException("real-mode access size must be 1, 2 or 4: size=" + bytes);
        }
        return bytes == 4 ? emit(OPERAND_SIZE) : this;
    }

    /** @return {@code mov ax, imm16} ({@code B8 iw}). */
    public RealModeAssembler movAx(final int imm16)
    {
        return emit(0xB8).imm16(imm16);
    }

    /** @return {@code mov eax, imm32} ({@code 66 B8 id}). */
    public RealModeAssembler movEax(final int imm32)
    {
        return emit(OPERAND_SIZE).emit(0xB8).imm16(imm32).imm16(imm32 >>> 16);
    }

    /** @return {@code mov cx, imm16} ({@code B9 iw}). */
    public RealModeAssembler movCx(final int imm16)
    {
        return emit(0xB9).imm16(imm16);
    }

    /** @return {@code mov dx, imm16} ({@code BA iw}). */
    public RealModeAssembler movDx(final int imm16)
    {
        return emit(0xBA).imm16(imm16);
    }

    /** @return {@code mov bx, imm16} ({@code BB iw}). */
    public RealModeAssembler movBx(final int imm16)
    {
        return emit(0xBB).imm16(imm16);
    }

    /**
     * @param bytes 1, 2 or 4.
     * @return {@code out dx, al} ({@code EE}), {@code out dx, ax} ({@code EF}) or {@code out dx, eax}
     *         ({@code 66 EF}).
     */
    public RealModeAssembler outDx(final int bytes)
    {
        return sizePrefix(bytes).emit(bytes == 1 ? 0xEE : 0xEF);
    }

    /**
     * @param bytes 1, 2 or 4.
     * @return {@code in al, dx} ({@code EC}), {@code in ax, dx} ({@code ED}) or {@code in eax, dx} ({@code 66 ED}).
     */
    public RealModeAssembler inDx(final int bytes)
    {
        return sizePrefix(bytes).emit(bytes == 1 ? 0xEC : 0xED);
    }

    /**
     * @param bytes 1, 2 or 4.
     * @return {@code mov [bx], al} ({@code 88 07}), {@code mov [bx], ax} ({@code 89 07}) or {@code mov [bx], eax}
     *         ({@code 66 89 07}): a store to DS base + BX.
     */
    public RealModeAssembler storeBx(final int bytes)
    {
        return sizePrefix(bytes).emit(bytes == 1 ? 0x88 : 0x89).emit(MODRM_BX);
    }

    /**
     * @param bytes 1, 2 or 4.
     * @return {@code mov al, [bx]} ({@code 8A 07}), {@code mov ax, [bx]} ({@code 8B 07}) or {@code mov eax, [bx]}
     *         ({@code 66 8B 07}): a load from DS base + BX.
     */
    public RealModeAssembler loadBx(final int bytes)
    {
        return sizePrefix(bytes).emit(bytes == 1 ? 0x8A : 0x8B).emit(MODRM_BX);
    }

    /** @return {@code inc ax} ({@code 40}). */
    public RealModeAssembler incAx()
    {
        return emit(0x40);
    }

    /** @return {@code mov si, ax} ({@code 89 C6}): keeps a loaded value where the guest's later loads miss it. */
    public RealModeAssembler movSiAx()
    {
        return emit(0x89).emit(0xC6);
    }

    /** Marks the current offset as the target of the next {@link #loopToLabel()}. */
    public RealModeAssembler label()
    {
        label = size;
        return this;
    }

    /** @return {@code loop rel8} ({@code E2 cb}) back to the last {@link #label()}: decrement CX, jump if not 0. */
    public RealModeAssembler loopToLabel()
    {
        final int displacement = label - (size + 2);
        if (displacement < Byte.MIN_VALUE)
        {
            throw new IllegalStateException("loop body longer than a rel8 reaches: displacement=" + displacement);
        }
        return emit(0xE2).emit(displacement);
    }

    /** @return {@code jmp rel8} ({@code EB cb}) back to the last {@link #label()}. */
    public RealModeAssembler jmpToLabel()
    {
        final int displacement = label - (size + 2);
        if (displacement < Byte.MIN_VALUE)
        {
            throw new IllegalStateException("jump longer than a rel8 reaches: displacement=" + displacement);
        }
        return emit(0xEB).emit(displacement);
    }

    /** @return {@code hlt} ({@code F4}). */
    public RealModeAssembler hlt()
    {
        return emit(0xF4);
    }

    /** @return the code so far. */
    public byte[] bytes()
    {
        return Arrays.copyOf(code, size);
    }
}
