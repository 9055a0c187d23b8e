package io.jvirtio.bus.kvmhost;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A copy of {@code struct kvm_regs} (arch/x86/include/uapi/asm/kvm.h): the sixteen general registers in the order
 * RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP, R8-R15, then RIP and RFLAGS, read with {@link KvmVcpu#getRegs} and written
 * with {@link KvmVcpu#setRegs}.
 * <p>
 * Thread safety: none; a value owned by the thread that uses it.
 */
public final class KvmRegs
{
    /** Index of RAX. */
    public static final int RAX = 0;
    /** Index of RBX. */
    public static final int RBX = 1;
    /** Index of RCX. */
    public static final int RCX = 2;
    /** Index of RDX. */
    public static final int RDX = 3;
    /** Index of RSI. */
    public static final int RSI = 4;
    /** Index of RDI. */
    public static final int RDI = 5;
    /** Index of RSP. */
    public static final int RSP = 6;
    /** Index of RBP. */
    public static final int RBP = 7;
    /** Index of RIP. */
    public static final int RIP = 16;
    /** Index of RFLAGS. */
    public static final int RFLAGS = 17;
    /** RFLAGS bit 1, which is always set. */
    public static final long RFLAGS_FIXED = 0x2;

    private static final int COUNT = 18;

    private final long[] values = new long[COUNT];

    /**
     * @param reg an index such as {@link #RAX}; 8-15 are R8-R15.
     * @return the register's value.
     */
    public long get(final int reg)
    {
        return values[reg];
    }

    /**
     * @param reg   an index such as {@link #RAX}.
     * @param value the new value.
     * @return this, for chaining.
     */
    public KvmRegs set(final int reg, final long value)
    {
        values[reg] = value;
        return this;
    }

    void readFrom(final MemorySegment struct)
    {
        for (int i = 0; i < COUNT; i++)
        {
            values[i] = struct.get(JAVA_LONG, 8L * i);
        }
    }

    void writeTo(final MemorySegment struct)
    {
        for (int i = 0; i < COUNT; i++)
        {
            struct.set(JAVA_LONG, 8L * i, values[i]);
        }
    }
}
