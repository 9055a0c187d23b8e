package io.jvirtio.bus.x86;

import io.jvirtio.bus.testing.AllocationProbe;
import io.jvirtio.bus.guest.AddressingForm;
import io.jvirtio.bus.guest.InstructionEncoder;
import io.jvirtio.bus.guest.PageTableBuilder;
import io.jvirtio.bus.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;


import static io.jvirtio.bus.x86.X86Registers.RAX;
import static io.jvirtio.bus.x86.X86Registers.RBX;
import static io.jvirtio.bus.x86.X86Registers.RCX;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The slow path end to end, as the package documentation shows it: the guest side places a real instruction at RIP,
 * and the exit side walks, fetches, decodes, performs the access on a device and completes the instruction. Also the
 * allocation guard: the whole cycle allocates nothing once warm.
 */
class ExitPathTest
{
    private static final long CODE = 0xFFFF_FFFF_8100_0000L;
    private static final long CODE_GPA = 0x20_0000L;
    private static final long DEVICE = 0xFFFF_C900_0000_0000L;
    private static final long DEVICE_GPA = 0xFEBF_0000L;
    /** The same device page mapped within 2 GiB of the code, for RIP-relative access (a fixmap slot). */
    private static final long FIXMAP = 0xFFFF_FFFF_FF5F_B000L;

    private final GuestMemory memory = GuestMemory.anonymous(4L << 20);
    private final PageTableBuilder tables = new PageTableBuilder(memory, 0x10_0000L, 0x10_000L);
    private final PageWalker walker = new PageWalker(memory);
    private final InstructionFetcher fetcher = new InstructionFetcher(memory, walker);
    private final InstructionDecoder decoder = new InstructionDecoder();
    private final DecodedInstruction insn = new DecodedInstruction();
    private final Translation data = new Translation();
    private final X86Registers regs = new X86Registers();
    private final InstructionEncoder encoder = new InstructionEncoder();
    private final RegisterFile device = new RegisterFile();

    ExitPathTest()
    {
        tables.map(CODE, CODE_GPA, 0x1000, PageSize.SIZE_4K, PageTableBuilder.KERNEL_CODE)
            .map(DEVICE, DEVICE_GPA, 0x1000, PageSize.SIZE_4K, PageTableBuilder.DEVICE)
            .map(FIXMAP, DEVICE_GPA, 0x1000, PageSize.SIZE_4K, PageTableBuilder.DEVICE);
        regs.enterLongMode(tables.cr3()).rip(CODE);
    }

    @AfterEach
    void close()
    {
        memory.close();
    }

    /** A device register file: remembers the last write and answers reads with a fixed value. */
    static final class RegisterFile
    {
        long lastGpa;
        int lastSize;
        long lastValue;
        long readValue;
        int writes;
        int reads;

        void write(final long gpa, final int size, final long value)
        {
            lastGpa = gpa;
            lastSize = size;
            lastValue = value;
            writes++;
        }

        long read(final long gpa, final int size)
        {
            lastGpa = gpa;
            lastSize = size;
            reads++;
            return readValue;
        }
    }

    /** The code of the {@code io.jvirtio.bus.x86} package documentation, verbatim. */
    private boolean emulate()
    {
        final FetchStatus fetched = fetcher.fetch(regs);                 // walk the tables for RIP, read <= 15 bytes
        if (fetched.hasBytes() && decoder.decode(fetcher.bytes(), fetcher.count(), insn).isOk())
        {
            final AccessType access = insn.isWrite() ? AccessType.WRITE : AccessType.READ;
            if (walker.translate(regs, insn.linearAddress(regs), access, data).isOk()) // or the exit's GPA
            {
                if (insn.isWrite())
                {
                    device.write(data.gpa(), insn.accessSize(), insn.storeValue(regs));
                }
                else
                {
                    insn.completeLoad(regs, device.read(data.gpa(), insn.accessSize())); // extension, AH..BH
                }
                insn.advanceRip(regs);
                return true;
            }
        }
        return false;
    }

    @Test
    void shouldEmulateAQueueNotifyStore()
    {
        final int length = encoder.encodeStore(memory, CODE_GPA, regs, 2, RAX, 3, AddressingForm.BASE, DEVICE + 0x50);
        assertTrue(emulate());
        assertEquals(DEVICE_GPA + 0x50, device.lastGpa);
        assertEquals(2, device.lastSize);
        assertEquals(3, device.lastValue, "the value came from AX, found by decoding 66 89 07");
        assertEquals(CODE + length, regs.rip());
    }

    @Test
    void shouldEmulateAZeroExtendingByteRead()
    {
        regs.gpr(RCX, -1);
        device.readValue = 0xFFFF_FF81L;
        encoder.encodeLoadZeroExtend(memory, CODE_GPA, regs, 1, 4, RCX, AddressingForm.RIP_RELATIVE, FIXMAP + 0x13);
        assertTrue(emulate());
        assertEquals(DEVICE_GPA + 0x13, device.lastGpa);
        assertEquals(1, device.lastSize);
        assertEquals(0x81, regs.gpr(RCX), "movzbl: one byte, zero-extended through bit 63");
    }

    @Test
    void shouldEmulateAnImmediateStoreThroughSib()
    {
        encoder.encodeStoreImmediate(memory, CODE_GPA, regs, 4, 0xFA, AddressingForm.BASE_INDEX_SCALE, DEVICE + 0x800);
        assertTrue(emulate());
        assertEquals(DEVICE_GPA + 0x800, device.lastGpa);
        assertEquals(4, device.lastSize);
        assertEquals(0xFA, device.lastValue);
    }

    @Test
    void shouldNotEmulateWhenDataPageIsNotMapped()
    {
        encoder.encodeStore(memory, CODE_GPA, regs, 4, RAX, 1, AddressingForm.BASE, DEVICE + 0x1000);
        assertFalse(emulate());
        assertEquals(WalkStatus.NOT_PRESENT, data.status());
        assertEquals(CODE, regs.rip(), "a faulting instruction does not retire");
    }

    @Test
    void shouldAllocateNothingPerExitOnceWarm()
    {
        final byte[] hostile = Hex.bytes("f0 66 89 07"); // lock mov: a typed failure must not allocate either
        device.readValue = 0x80;

        runCycles(50_000, hostile);
        final long[] checksum = new long[1];
        final long allocated = AllocationProbe.leastAllocated(3, () -> checksum[0] = runCycles(100_000, hostile));

        assertEquals(0, allocated, "bytes allocated by 100 000 exit cycles");
        assertEquals(100_000L * 2, checksum[0], "every cycle emulated a store and a load");
    }

    /**
     * One cycle: the guest places a 16-bit notify store and a sign-extending byte load; the exit side fetches,
     * decodes, walks and completes both, measures a skip with the length-only decode, and refuses hostile bytes and
     * an unmapped page.
     */
    private long runCycles(final int cycles, final byte[] hostile)
    {
        long done = 0;
        // bound: the cycle count the test asks for
        for (int i = 0; i < cycles; i++)
        {
            regs.rip(CODE);
            encoder.encodeStore(memory, CODE_GPA, regs, 2, RAX, i, AddressingForm.BASE, DEVICE + 0x50);
            done += emulate() ? 1 : 0;
            regs.rip(CODE);
            encoder.encodeLoadSignExtend(memory, CODE_GPA, regs, 1, 8, RBX, AddressingForm.BASE_DISP8, DEVICE);
            done += emulate() ? 1 : 0;
            done += decoder.decodeLength(fetcher.bytes(), fetcher.count(), insn).isOk() ? 0 : 1_000_000;
            done += decoder.decode(hostile, hostile.length, insn) == DecodeStatus.LOCK_PREFIX ? 0 : 1_000_000;
            done += walker.translate(regs, DEVICE + 0x1000, AccessType.READ, data).isOk() ? 1_000_000 : 0;
        }
        return done;
    }
}
