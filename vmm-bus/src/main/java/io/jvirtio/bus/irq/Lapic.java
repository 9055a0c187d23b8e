package io.jvirtio.bus.irq;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * One vCPU's local APIC, reduced to its 256-bit IRR (pending), ISR (in service) and TMR (level-triggered) registers
 * (Intel SDM Vol. 3, "Interrupt Handling with the Pentium 4 and Intel Xeon Processors": IRR, ISR and TMR), the
 * processor priority derived from the ISR, and the wait of a halted vCPU.
 * <p>
 * Thread safety: {@link #accept} and {@link #kick()} from any thread, lock-free (atomic bit operations, then an
 * unpark); {@link #acknowledge()}, {@link #eoi()} and {@link #await} only on the vCPU's own thread, which owns the ISR.
 */
final class Lapic
{
    static final int NO_VECTOR = -1;

    private static final VarHandle WORDS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int WORD_COUNT = 4;

    private final long[] irr = new long[WORD_COUNT];
    private final long[] isr = new long[WORD_COUNT];
    private final long[] tmr = new long[WORD_COUNT];
    private final AtomicLongArray delivered = new AtomicLongArray(256);
    private volatile Thread waiter;
    private volatile boolean kicked;

    /**
     * Sets {@code vector} pending and wakes the vCPU if it waits.
     *
     * @param vector         16 to 255.
     * @param levelTriggered whether the source is a level-triggered line (sets the TMR bit, so the EOI is broadcast).
     * @return false if the vector was already pending (coalesced).
     */
    boolean accept(final int vector, final boolean levelTriggered)
    {
        final int word = vector >>> 6;
        final long bit = 1L << (vector & 63);
        if (levelTriggered)
        {
            setBits(tmr, word, bit);
        }
        else
        {
            clearBits(tmr, word, bit);
        }
        final long before = setBits(irr, word, bit);
        if ((before & bit) != 0)
        {
            return false;
        }
        delivered.getAndIncrement(vector);
        // the IRR update above is a volatile read-modify-write, so a waiter that publishes itself and then re-reads
        // the IRR either sees the vector or is seen here: no lost wake-up
        final Thread thread = waiter;
        if (thread != null)
        {
            LockSupport.unpark(thread);
        }
        return true;
    }

    /**
     * @return the highest pending vector whose priority class is above the highest in-service one (the processor
     *         priority, with the task priority taken as 0), or {@link #NO_VECTOR}.
     */
    int pendingVector()
    {
        final int pending = highest(irr);
        if (pending < 0)
        {
            return NO_VECTOR;
        }
        final int inService = highest(isr);
        if (inService >= 0 && (pending >>> 4) <= (inService >>> 4))
        {
            return NO_VECTOR;
        }
        return pending;
    }

    /** @return the vector moved from IRR to ISR (the interrupt-acknowledge cycle), or {@link #NO_VECTOR}. */
    int acknowledge()
    {
        final int vector = pendingVector();
        if (vector == NO_VECTOR)
        {
            return NO_VECTOR;
        }
        final int word = vector >>> 6;
        final long bit = 1L << (vector & 63);
        clearBits(irr, word, bit);
        setBits(isr, word, bit);
        return vector;
    }

    /**
     * Clears the highest in-service vector.
     *
     * @return the vector, with bit 8 set if its TMR bit was set (level-triggered), or {@link #NO_VECTOR}.
     */
    int eoi()
    {
        final int vector = highest(isr);
        if (vector < 0)
        {
            return NO_VECTOR;
        }
        final int word = vector >>> 6;
        final long bit = 1L << (vector & 63);
        clearBits(isr, word, bit);
        final long level = (long)WORDS.getVolatile(tmr, word) & bit;
        return level != 0 ? vector | 0x100 : vector;
    }

    /** @return true if {@code vector} is in service. */
    boolean inService(final int vector)
    {
        return ((long)WORDS.getVolatile(isr, vector >>> 6) & (1L << (vector & 63))) != 0;
    }

    /** @return how often {@code vector} became pending on this vCPU. */
    long delivered(final int vector)
    {
        return delivered.get(vector);
    }

    /** Wakes the vCPU from {@link #await} even if nothing is pending, as {@code kvm_vcpu_kick} does. */
    void kick()
    {
        kicked = true;
        final Thread thread = waiter;
        if (thread != null)
        {
            LockSupport.unpark(thread);
        }
    }

    /**
     * @return true when an interrupt is pending, false on timeout or {@link #kick()}.
     * @throws InterruptedException if the thread is interrupted while it waits.
     */
    boolean await(final long timeout, final TimeUnit unit) throws InterruptedException
    {
        final long deadline = System.nanoTime() + unit.toNanos(timeout);
        waiter = Thread.currentThread();
        try
        {
            // bound: ends at the deadline; each pass parks until an injection or kick unparks it or the time is up
            while (pendingVector() == NO_VECTOR)
            {
                if (kicked)
                {
                    kicked = false;
                    return false;
                }
                if (Thread.interrupted())
                {
                    throw new InterruptedException("interrupted while the vcpu waited for an interrupt");
                }
                final long remaining = deadline - System.nanoTime();
                if (remaining <= 0)
                {
                    return false;
                }
                LockSupport.parkNanos(this, remaining);
            }
            return true;
        }
        finally
        {
            waiter = null;
        }
    }

    /** @return the word before the atomic OR. */
    private static long setBits(final long[] words, final int word, final long bits)
    {
        return (long)WORDS.getAndBitwiseOr(words, word, bits);
    }

    /** @return the word before the atomic AND-NOT. */
    private static long clearBits(final long[] words, final int word, final long bits)
    {
        return (long)WORDS.getAndBitwiseAnd(words, word, ~bits);
    }

    private static int highest(final long[] words)
    {
        // bound: four 64-bit words
        for (int word = WORD_COUNT - 1; word >= 0; word--)
        {
            final long bits = (long)WORDS.getVolatile(words, word);
            if (bits != 0)
            {
                return (word << 6) + 63 - Long.numberOfLeadingZeros(bits);
            }
        }
        return NO_VECTOR;
    }
}
