package io.jvirtio.bus.vm;

import io.jvirtio.bus.guest.AddressingForm;
import io.jvirtio.bus.x86.X86Registers;

import java.util.concurrent.TimeUnit;

/**
 * One virtual CPU, as guest code drives it. Guest code in jvirtio is Java that plays the guest OS: its RAM accesses
 * are plain memory accesses, and its device accesses go through these operations, each of which places the real x86
 * instruction at RIP in guest memory, sets the operand registers, and executes it: the address translates through
 * the guest page tables, and an access to an address no RAM backs raises the exit the hardware would raise (an EPT
 * misconfig or nested page fault for MMIO, an I/O-instruction exit for port I/O). The exit handler sees only what the
 * hardware reports, and must leave RIP at the next instruction.
 * <p>
 * Default forms are the ones Linux's accessors compile to: {@code writew(v, addr)} is {@code mov %ax,(%rdi)}
 * ({@code 66 89 07}), {@code readl(addr)} is {@code mov (%rdi),%eax} ({@code 8b 07}), {@code outb(v, port)} is
 * {@code out %al,(%dx)} ({@code ee}).
 * <p>
 * Thread safety: a vCPU is driven by one thread at a time, which is then "the vCPU thread"; exit handling (ioeventfd
 * signals, userspace device models) runs on it.
 */
public interface Vcpu
{
    /** @return this vCPU's index in its VM. */
    int index();

    /** @return the architectural register state (vCPU thread only). */
    X86Registers registers();

    /**
     * An MMIO store of {@code size} bytes ({@code writeb/w/l/q}), {@code mov %reg,(%rdi)}.
     *
     * @param address linear address.
     * @param size    1, 2, 4 or 8.
     * @param value   the value; bits above {@code 8 * size} are ignored.
     */
    void mmioWrite(long address, int size, long value);

    /** An MMIO store with a chosen addressing form (SIB, RIP-relative, absolute, moffs, ...). */
    void mmioWrite(long address, int size, long value, AddressingForm form);

    /** A store of an immediate, {@code movb/w/l $imm,(%rdi)}, as volatile C stores compile. */
    void mmioWriteImmediate(long address, int size, long immediate);

    /**
     * An MMIO load ({@code readb/w/l/q}), {@code mov (%rdi),%reg}.
     *
     * @return the destination register's low {@code 8 * size} bits after the instruction, zero-extended. If the
     *     access hit a wildcard ioeventfd on the fast path, the instruction was skipped and this is the register's
     *     previous contents, as on KVM.
     */
    long mmioRead(long address, int size);

    /** An MMIO load with a chosen addressing form. */
    long mmioRead(long address, int size, AddressingForm form);

    /**
     * {@code movzbl}/{@code movzwl} into a 32-bit register, as compilers emit for {@code readb}/{@code readw} results.
     *
     * @param accessSize 1 or 2.
     * @return the destination register (zero-extended by the instruction itself).
     */
    long mmioReadZeroExtend(long address, int accessSize);

    /**
     * {@code movsbq}/{@code movswq}: a sign-extending load into a 64-bit register.
     *
     * @param accessSize 1 or 2.
     * @return the destination register.
     */
    long mmioReadSignExtend(long address, int accessSize);

    /**
     * {@code out %al/%ax/%eax,(%dx)}.
     *
     * @param size 1, 2 or 4.
     */
    void out(int port, int size, long value);

    /**
     * {@code in (%dx),%al/%ax/%eax}.
     *
     * @param size 1, 2 or 4.
     * @return AL, AX or EAX after the instruction, zero-extended.
     */
    long in(int port, int size);

    /**
     * {@code hlt}: sleeps until an interrupt is pending for this vCPU, then takes it (acknowledges it: it is now in
     * service until {@link #eoi()}).
     *
     * @return the interrupt vector taken, or -1 if the timeout passed first.
     * @throws InterruptedException if the vCPU thread is interrupted while halted.
     */
    int hlt(long timeout, TimeUnit unit) throws InterruptedException;

    /**
     * Takes a pending interrupt without halting, as a running CPU with interrupts enabled does at an instruction
     * boundary.
     *
     * @return the vector now in service, or -1 if none is pending.
     */
    int takeInterrupt();

    /** The guest's end-of-interrupt for the vector in service (x2APIC EOI, handled without an exit). */
    void eoi();

    /**
     * Executes arbitrary bytes as the instruction at RIP, for hostile-guest tests: the bytes are placed at RIP and the
     * access they are claimed to make raises an MMIO exit at {@code gpa} with {@code claimedLength} as the VM-exit
     * instruction length. Whatever the exit handler makes of the bytes is what happens.
     *
     * @param code          up to 15 bytes.
     * @param gpa           the guest-physical address the access faults on (should not be RAM).
     * @param write         whether the access is claimed to be a write (SVM error code).
     * @param claimedLength the instruction length the "hardware" reports.
     */
    void executeRaw(byte[] code, long gpa, boolean write, int claimedLength);

    /**
     * Sets where in this vCPU's two code pages the next instructions are placed (0 to 8191), so that tests can make
     * an instruction straddle the page boundary.
     */
    void codeOffset(int offset);

    /** Invalidates this vCPU's cached translations, as a CR3 reload does; needed after changing page tables. */
    void flushTlb();
}
