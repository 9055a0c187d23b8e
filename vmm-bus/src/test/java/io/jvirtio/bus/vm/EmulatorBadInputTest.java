package io.jvirtio.bus.vm;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.guest.GuestAddressSpace;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.stats.ExitPath;
import io.jvirtio.bus.x86.PageTableEntry;
import io.jvirtio.bus.x86.PageWalker;
import io.jvirtio.bus.x86.X86Registers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The MMIO emulator against a hostile guest, through the simulated vCPU's real exit path: instruction bytes that run
 * into an unmapped page or off RAM, unknown opcodes, prefix piles and storms, page tables with reserved bits or
 * loops, a non-canonical RIP, accesses that straddle a page, string instructions. Each must end in a typed
 * {@link VcpuException} with RIP where it was (the instruction does not retire), never a hang (every walk has four
 * levels, every fetch at most 15 bytes, Intel SDM Vol. 3A §4.5 and Vol. 2A §2.3.11), never an access outside guest
 * RAM (such an access throws something other than {@link VcpuException}, which the assertions refuse), and the vCPU
 * must still take a normal kick and a slow-path device write afterwards.
 * <p>
 * Unit-level versions below the exit path already exist and are not repeated here: {@code InstructionDecoderTest}
 * (every typed decode status), {@code PageWalkerTest} (reserved bits, self-pointing and two-table loops, tables
 * outside RAM), {@code InstructionFetcherTest} (second page not present or not RAM), and {@code ExitPathTest}
 * ({@code ud2} as an emulation failure, an unmapped data address as a page fault).
 */
class EmulatorBadInputTest
{
    /** A wildcard ioeventfd: the queue notify address of a device. */
    private static final long NOTIFY = 0xD000_0000L;
    /** A userspace device register window; identity-mapped, so RDI = DEVICE addresses it. */
    private static final long DEVICE = 0xD000_1000L;
    /** Guest-physical space that neither RAM nor any device backs. */
    private static final long NOWHERE = 0xE000_0000L;
    private static final int PAGE = 4096;
    private static final long RAM_BYTES = 16L << 20;
    private static final long ADDRESS_MASK = PageTableEntry.addressMask(PageTableEntry.MAX_PHYSICAL_ADDRESS_BITS);
    private static final long TABLE = PageTableEntry.PRESENT | PageTableEntry.WRITABLE;
    /** {@code mov %eax,(%rdi)}. */
    private static final byte[] STORE = HexFormat.ofDelimiter(" ").parseHex("89 07");

    private final List<AutoCloseable> open = new ArrayList<>();
    private SimulatedVm vm;
    private SimulatedVcpu vcpu;
    private EventFd kick;
    private final List<String> deviceAccesses = new ArrayList<>();

    @AfterEach
    void close() throws Exception
    {
        for (final AutoCloseable closeable : open.reversed())
        {
            closeable.close();
        }
    }

    private void start(final VmConfig config)
    {
        vm = SimulatedVm.create(config.withMemoryBytes(RAM_BYTES));
        open.add(vm);
        kick = EventFds.jvm();
        open.add(kick);
        vm.ioeventfd(new KvmIoEventFd(0, NOTIFY, 0, kick, 0));
        vm.registerMmio(DEVICE, PAGE, new UserspaceDevice()
        {
            @Override
            public long read(final long offset, final int size)
            {
                deviceAccesses.add("r" + size + "@" + offset);
                return 0;
            }

            @Override
            public void write(final long offset, final int size, final long value)
            {
                deviceAccesses.add("w" + size + "@" + offset + "=" + Long.toHexString(value));
            }
        });
        vcpu = vm.vcpu(0);
        vcpu.registers().gpr(X86Registers.RDI, DEVICE);
    }

    private static byte[] hex(final String bytes)
    {
        return HexFormat.ofDelimiter(" ").parseHex(bytes);
    }

    /** Runs {@code action}, which must stop the vCPU with {@code kind} and leave RIP and the device untouched. */
    private VcpuException assertTyped(final VcpuException.Kind kind, final Executable action)
    {
        final long rip = vcpu.registers().rip();
        final int accesses = deviceAccesses.size();
        final VcpuException ex = assertThrows(VcpuException.class, action);
        assertEquals(kind, ex.kind(), ex.getMessage());
        assertEquals(rip, vcpu.registers().rip(), "the faulting instruction does not retire");
        assertEquals(rip, ex.rip(), "the report names the instruction that failed");
        assertEquals(accesses, deviceAccesses.size(), "no device access was made");
        return ex;
    }

    /** After a failure the vCPU still takes a fast-path kick and a slow-path device write. */
    private void assertStillUsable()
    {
        vcpu.codeOffset(0);
        vcpu.flushTlb();
        kick.tryRead();
        vcpu.mmioWrite(NOTIFY, 2, 1);
        assertEquals(1, kick.tryRead(), "a normal kick still reaches its ioeventfd");
        vcpu.mmioWrite(DEVICE + 0x10, 4, 0xAB);
        assertEquals("w4@16=ab", deviceAccesses.getLast(), "the slow path still emulates");
    }

    /** @return the guest-physical address of the entry at {@code level} that maps {@code linear}. */
    private long entryAddress(final long cr3, final long linear, final int level)
    {
        final GuestMemory memory = vm.memory();
        long table = cr3 & ADDRESS_MASK;
        // bound: at most four levels
        for (int at = 4; at > level; at--)
        {
            table = memory.getLongLE(table + 8L * PageTableEntry.indexAt(linear, at)) & ADDRESS_MASK;
        }
        return table + 8L * PageTableEntry.indexAt(linear, level);
    }

    /** Moves the next instruction to {@code offset} in the code pages and RIP with it. */
    private void placeAt(final int offset)
    {
        vcpu.codeOffset(offset);
        vcpu.registers().rip(GuestAddressSpace.codeAddress(0) + offset);
    }

    private long secondCodePagePte()
    {
        return entryAddress(vcpu.registers().cr3(), GuestAddressSpace.codeAddress(0) + PAGE, 1);
    }

    /** {@code mov %eax,0x1000(%rdi)} (6 bytes) placed so that only its first two bytes are in the first code page. */
    private static final byte[] STRADDLING = hex("89 87 00 10 00 00");

    /** Also on the fast path when the exit's length is not trusted, where only the skip needs the bytes. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void instructionRunningIntoUnmappedPageIsPageFault(final boolean lengthTrusted)
    {
        start(VmConfig.defaults().withExitLengthTrusted(lengthTrusted));
        final long pte = secondCodePagePte();
        final long saved = vm.memory().getLongLE(pte);
        vm.memory().putLongLE(pte, saved & ~PageTableEntry.PRESENT);
        placeAt(PAGE - 2);
        final VcpuException ex = assertTyped(VcpuException.Kind.PAGE_FAULT,
            () -> vcpu.executeRaw(STRADDLING, lengthTrusted ? DEVICE : NOTIFY, true, STRADDLING.length));
        assertTrue(ex.getMessage().contains("NOT_PRESENT"), ex.getMessage());
        vm.memory().putLongLE(pte, saved);
        assertStillUsable();
    }

    /** The next code page maps to the first byte past RAM, or to space nothing backs. */
    @ParameterizedTest
    @ValueSource(longs = {RAM_BYTES, NOWHERE})
    void instructionRunningOffRamIsEmulationFailure(final long gpa)
    {
        start(VmConfig.defaults());
        final long pte = secondCodePagePte();
        final long saved = vm.memory().getLongLE(pte);
        vm.memory().putLongLE(pte, (saved & ~ADDRESS_MASK) | gpa);
        placeAt(PAGE - 2);
        final VcpuException ex = assertTyped(VcpuException.Kind.EMULATION_FAILURE,
            () -> vcpu.executeRaw(STRADDLING, DEVICE, true, STRADDLING.length));
        assertTrue(ex.getMessage().contains("SECOND_PAGE_NOT_IN_RAM"), ex.getMessage());
        vm.memory().putLongLE(pte, saved);
        assertStillUsable();
    }

    @Test
    void instructionEndingBeforeAnUnmappedPageStillRuns()
    {
        start(VmConfig.defaults());
        final long pte = secondCodePagePte();
        vm.memory().putLongLE(pte, vm.memory().getLongLE(pte) & ~PageTableEntry.PRESENT);
        vcpu.codeOffset(PAGE - STORE.length);
        vcpu.executeRaw(STORE, DEVICE, true, STORE.length);
        assertEquals(GuestAddressSpace.codeAddress(0) + PAGE, vcpu.registers().rip());
        assertEquals("w4@0=0", deviceAccesses.getLast(), "hardware needs no byte of the next page, neither does KVM");
    }

    @Test
    void codePageOutsideRamIsEmulationFailure()
    {
        start(VmConfig.defaults());
        final long pte = entryAddress(vcpu.registers().cr3(), GuestAddressSpace.codeAddress(0), 1);
        final long saved = vm.memory().getLongLE(pte);
        vm.memory().putLongLE(pte, (saved & ~ADDRESS_MASK) | NOWHERE);
        assertTyped(VcpuException.Kind.EMULATION_FAILURE, () -> vcpu.executeRaw(STORE, DEVICE, true, STORE.length));
        vm.memory().putLongLE(pte, saved);
        assertStillUsable();
    }

    @ParameterizedTest
    @ValueSource(strings = {"90", "01 07", "0f 05", "0f 0b", "ff ff ff ff", "c6 4f 10 00", "8f 07", "d8 07"})
    void unknownOpcodeIsEmulationFailure(final String code)
    {
        start(VmConfig.defaults());
        assertTyped(VcpuException.Kind.EMULATION_FAILURE, () -> vcpu.executeRaw(hex(code), DEVICE, true, 2));
        assertEquals(1, vm.exitStats().count(ExitPath.DECODE_FAILURE));
        assertStillUsable();
    }

    @ParameterizedTest
    @EnumSource(ExitStyle.class)
    void prefixesPiledPastFifteenBytesAreEmulationFailure(final ExitStyle style)
    {
        start(VmConfig.defaults().withExitStyle(style).withSvmDecodeAssists(true));
        // 40 operand-size prefixes in guest memory: the fetch stops at 15 and the decoder at the architectural limit
        for (int i = 0; i < 40; i++)
        {
            vm.memory().putByte(vm.guestAddressSpace().codePhysicalAddress(0, i), (byte)0x66);
        }
        assertTyped(VcpuException.Kind.EMULATION_FAILURE,
            () -> vcpu.executeRaw(hex("66 ".repeat(15).trim()), DEVICE, true, 15));
        assertEquals(1, vm.exitStats().count(ExitPath.DECODE_FAILURE), "counted once");
        assertStillUsable();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "26 2e 36 3e 64 65 66 67 40 48 26 2e 36 3e 64",
        "48 48 48 48 48 48 48 48 48 48 48 48 48 48 89",
        "f0 66 67 48 89 07",
        "f3 f2 66 89 07"})
    void prefixStormIsTypedFailure(final String code)
    {
        start(VmConfig.defaults());
        assertTyped(VcpuException.Kind.EMULATION_FAILURE, () -> vcpu.executeRaw(hex(code), DEVICE, true, 15));
        assertStillUsable();
    }

    @Test
    void legalPrefixStormUpToFifteenBytesIsEmulatedWithTheLastRexWinning()
    {
        start(VmConfig.defaults());
        vcpu.registers().gpr(X86Registers.RAX, 0x1122_3344_5566_7788L);
        // 2e 3e 26 36 (null segments in 64-bit mode), eight 66 and REX.W last: an 8-byte store, 15 bytes long
        final byte[] code = hex("2e 3e 26 36 66 66 66 66 66 66 66 66 48 89 07");
        final long rip = vcpu.registers().rip();
        vcpu.executeRaw(code, DEVICE, true, code.length);
        assertEquals(rip + 15, vcpu.registers().rip());
        assertEquals("w8@0=1122334455667788", deviceAccesses.getLast());
        // a REX followed by another prefix is ignored (Intel SDM Vol. 2A §2.2.1): a 2-byte store
        vcpu.executeRaw(hex("48 66 89 07"), DEVICE, true, 4);
        assertEquals("w2@0=7788", deviceAccesses.getLast());
        // alternating CS and operand-size prefixes, 15 bytes in all: a 2-byte store
        vcpu.executeRaw(hex("2e 66 2e 66 2e 66 2e 66 2e 66 2e 66 2e 89 07"), DEVICE, true, 15);
        assertEquals("w2@0=7788", deviceAccesses.getLast());
        assertEquals(3, deviceAccesses.size());
    }

    @Test
    void segmentBaseMakingTheAccessNonCanonicalIsPageFault()
    {
        start(VmConfig.defaults());
        vcpu.registers().fsBase(0x8000_0000_0000_0123L);
        assertTyped(VcpuException.Kind.PAGE_FAULT, () -> vcpu.executeRaw(hex("64 89 07"), DEVICE, true, 3));
        vcpu.registers().fsBase(0);
        assertStillUsable();
    }

    /** Execute-disable while EFER.NXE = 0 is a reserved bit at every level (Intel SDM Vol. 3A §4.5.4). */
    @ParameterizedTest
    @ValueSource(ints = {4, 3, 2, 1})
    void reservedBitInCodePageTablesAtEachLevelIsPageFault(final int level)
    {
        start(VmConfig.defaults());
        final X86Registers regs = vcpu.registers();
        final long entry = entryAddress(regs.cr3(), GuestAddressSpace.codeAddress(0), level);
        final long saved = vm.memory().getLongLE(entry);
        vm.memory().putLongLE(entry, saved | PageTableEntry.EXECUTE_DISABLE);
        regs.efer(regs.efer() & ~X86Registers.EFER_NXE);
        final VcpuException ex = assertTyped(VcpuException.Kind.PAGE_FAULT,
            () -> vcpu.executeRaw(STORE, DEVICE, true, STORE.length));
        assertTrue(ex.getMessage().contains("RESERVED_BIT"), ex.getMessage());
        vm.memory().putLongLE(entry, saved);
        regs.efer(regs.efer() | X86Registers.EFER_NXE);
        assertStillUsable();
    }

    @Test
    void pageSizeBitInPml4EntryIsPageFault()
    {
        start(VmConfig.defaults());
        final long entry = entryAddress(vcpu.registers().cr3(), GuestAddressSpace.codeAddress(0), 4);
        final long saved = vm.memory().getLongLE(entry);
        vm.memory().putLongLE(entry, saved | PageTableEntry.PAGE_SIZE);
        assertTyped(VcpuException.Kind.PAGE_FAULT, () -> vcpu.executeRaw(STORE, DEVICE, true, STORE.length));
        vm.memory().putLongLE(entry, saved);
        assertStillUsable();
    }

    /**
     * Every PML4 entry points at the PML4 itself: the walk still has exactly four levels and lands in the table page,
     * whose bytes ({@code 03 ...}, an ADD) do not decode as a device access.
     */
    @Test
    void pml4EntryPointingAtItselfTerminates()
    {
        start(VmConfig.defaults());
        final long pml4 = vm.guestAddressSpace().allocate(PAGE, PAGE);
        fillTable(pml4, pml4);
        final long cr3 = vcpu.registers().cr3();
        vcpu.registers().cr3(pml4);
        assertTyped(VcpuException.Kind.EMULATION_FAILURE, () -> vcpu.executeRaw(STORE, DEVICE, true, STORE.length));
        vcpu.registers().cr3(cr3);
        assertStillUsable();
    }

    /** Two tables point at each other at every level; also on the fast path's length-only decode. */
    @Test
    void pageTableCycleAcrossLevelsTerminates()
    {
        start(VmConfig.defaults().withExitLengthTrusted(false));
        final long a = vm.guestAddressSpace().allocate(PAGE, PAGE);
        final long b = vm.guestAddressSpace().allocate(PAGE, PAGE);
        fillTable(a, b);
        fillTable(b, a);
        final long cr3 = vcpu.registers().cr3();
        vcpu.registers().cr3(a);
        assertTyped(VcpuException.Kind.EMULATION_FAILURE, () -> vcpu.executeRaw(STORE, DEVICE, true, STORE.length));
        assertTyped(VcpuException.Kind.EMULATION_FAILURE, () -> vcpu.executeRaw(STORE, NOTIFY, true, STORE.length));
        assertEquals(1, kick.tryRead(), "as in KVM, the fast bus is written before the skip is decoded");
        vcpu.registers().cr3(cr3);
        assertStillUsable();
    }

    @Test
    void pageTablesOutsideRamAreEmulationFailure()
    {
        start(VmConfig.defaults());
        final long cr3 = vcpu.registers().cr3();
        vcpu.registers().cr3(NOWHERE);
        final VcpuException ex = assertTyped(VcpuException.Kind.EMULATION_FAILURE,
            () -> vcpu.executeRaw(STORE, DEVICE, true, STORE.length));
        assertTrue(ex.getMessage().contains("TABLE_NOT_IN_RAM"), ex.getMessage());
        vcpu.registers().cr3(cr3);
        assertStillUsable();
    }

    private void fillTable(final long table, final long target)
    {
        // bound: one table
        for (int i = 0; i < PageTableEntry.ENTRIES_PER_TABLE; i++)
        {
            vm.memory().putLongLE(table + 8L * i, target | TABLE);
        }
    }

    /** RIP can only be non-canonical through a register write (hardware raises #GP on the jump); the handler copes. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void nonCanonicalRipIsPageFault(final boolean lengthTrusted)
    {
        start(VmConfig.defaults().withExitLengthTrusted(lengthTrusted));
        final ExitHandler handler = new ExitHandler(vcpu, vm, new PageWalker(vm.memory()));
        final long rip = vcpu.registers().rip();
        vcpu.registers().rip(0x0000_8000_0000_0000L);
        assertTyped(VcpuException.Kind.PAGE_FAULT, () -> handler.eptMisconfig(DEVICE, 2));
        if (!lengthTrusted)
        {
            assertTyped(VcpuException.Kind.PAGE_FAULT, () -> handler.eptMisconfig(NOTIFY, 2));
            assertEquals(1, kick.tryRead(), "as in KVM, the fast bus is written before the skip is decoded");
        }
        vcpu.registers().rip(rip);
        assertStillUsable();
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 4, 8})
    void mmioAccessStraddlingAPageBoundaryIsSplitAccess(final int size)
    {
        start(VmConfig.defaults());
        assertTyped(VcpuException.Kind.SPLIT_ACCESS, () -> vcpu.mmioWrite(DEVICE + PAGE - 1, size, -1));
        assertTyped(VcpuException.Kind.SPLIT_ACCESS, () -> vcpu.mmioRead(DEVICE + PAGE - size / 2, size));
        assertStillUsable();
    }

    @ParameterizedTest
    @ValueSource(strings = {"a4", "a5", "f3 a4", "f3 48 a5", "aa", "f3 ab", "ac", "f3 ad", "a6", "f2 ae"})
    void stringMmioInstructionIsEmulationFailure(final String code)
    {
        start(VmConfig.defaults());
        vcpu.registers().gpr(X86Registers.RSI, DEVICE).gpr(X86Registers.RCX, 1L << 40);
        assertTyped(VcpuException.Kind.EMULATION_FAILURE, () -> vcpu.executeRaw(hex(code), DEVICE, true, 2));
        assertStillUsable();
    }

    @Test
    void stringPortInstructionIsUnsupportedIo()
    {
        start(VmConfig.defaults());
        final ExitHandler handler = new ExitHandler(vcpu, vm, new PageWalker(vm.memory()));
        assertTyped(VcpuException.Kind.UNSUPPORTED_IO, () -> handler.io(0x60, 1, false, true, true, 2));
        assertTyped(VcpuException.Kind.UNSUPPORTED_IO, () -> handler.io(0x60, 4, true, true, false, 1));
        assertStillUsable();
    }
}
