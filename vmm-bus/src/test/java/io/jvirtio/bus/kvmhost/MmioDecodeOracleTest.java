package io.jvirtio.bus.kvmhost;

import io.jvirtio.bus.x86.DecodeStatus;
import io.jvirtio.bus.x86.DecodedInstruction;
import io.jvirtio.bus.x86.InstructionDecoder;
import io.jvirtio.bus.x86.X86Registers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The kernel as the oracle of {@link InstructionDecoder}: each MMIO instruction form the decoder supports is executed
 * by a real 64-bit guest against an address no memslot backs. The kernel's {@code KVM_EXIT_MMIO} (address, length,
 * direction, data) must equal what the decoder computes from the same bytes and registers; for a load, the registers
 * after the kernel completes it must equal the decoder's {@link DecodedInstruction#completeLoad}, and RIP must have
 * advanced by the decoder's length.
 * <p>
 * FS/GS overrides are not covered: their bases would need {@code MSR_FS_BASE}, which this harness does not set.
 */
class MmioDecodeOracleTest
{
    /** Below 2 GiB, so that a RIP-relative disp32 from the code reaches it. */
    private static final long MMIO = 0x4000_0000L;
    private static final long CODE = 0x1000;
    private static final long TABLES = 0x10000;
    private static final long LOAD_ANSWER = 0x8877_6655_4433_2211L;
    private static final int MAX_EXITS = 8;
    private static final int HLT_LENGTH = 1;

    /** Initial registers, in hardware encoding order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8-R15). */
    private static final long[] INITIAL = {
        0x0123_4567_89AB_CDEFL, 2, 0x1111_2222_3333_4444L, 0x5555_6666_7777_8888L,
        0x20_0000L, 0x9999_AAAA_BBBB_CCCCL, 0xFEDC_BA98_7654_3210L, MMIO + 0x100,
        0xA5A5_A5A5_A5A5_A5A5L, 0x0F0F_0F0F_0F0F_0F0FL, 0x10, 0x2233_4455_6677_8899L,
        0xCCCC_DDDD_EEEE_FFFFL, 0x1357_9BDF_2468_ACE0L, 0x8000_0000_0000_0001L, 0x7FFF_FFFF_FFFF_FFFEL};
    /** Hardware register number to {@code struct kvm_regs} index. */
    private static final int[] KVM_INDEX = {
        KvmRegs.RAX, KvmRegs.RCX, KvmRegs.RDX, KvmRegs.RBX, KvmRegs.RSP, KvmRegs.RBP, KvmRegs.RSI, KvmRegs.RDI,
        8, 9, 10, 11, 12, 13, 14, 15};

    private static final String[] FORMS = {
        "8807",             // mov [rdi], al
        "6689 07",          // mov [rdi], ax
        "8907",             // mov [rdi], eax
        "4889 07",          // mov [rdi], rax
        "4488 07",          // mov [rdi], r8b
        "8827",             // mov [rdi], ah
        "4088 37",          // mov [rdi], sil
        "4c89 0f",          // mov [rdi], r9
        "8947 10",          // mov [rdi+0x10], eax
        "8987 00100000",    // mov [rdi+0x1000], eax
        "8904 8f",          // mov [rdi+rcx*4], eax
        "4289 04 17",       // mov [rdi+r10], eax
        "6789 07",          // mov [edi], eax
        "8905 rel32",       // mov [rip+disp32], eax
        "8a07",             // mov al, [rdi]
        "8a27",             // mov ah, [rdi]
        "668b 07",          // mov ax, [rdi]
        "8b07",             // mov eax, [rdi]: zero-extends to 64 bits
        "488b 07",          // mov rax, [rdi]
        "4c8b 07",          // mov r8, [rdi]
        "448a 07",          // mov r8b, [rdi]
        "408a 37",          // mov sil, [rdi]
        "c607 5a",          // mov byte [rdi], 0x5a
        "66c7 07 3412",     // mov word [rdi], 0x1234
        "c707 78563412",    // mov dword [rdi], 0x12345678
        "48c7 07 f0debc9a", // mov qword [rdi], sign-extended 0x9abcdef0
        "0fb6 07",          // movzx eax, byte [rdi]
        "0fb7 07",          // movzx eax, word [rdi]
        "480f b6 07",       // movzx rax, byte [rdi]
        "660f b6 07",       // movzx ax, byte [rdi]
        "0fbe 07",          // movsx eax, byte [rdi]
        "0fbf 07",          // movsx eax, word [rdi]
        "480f be 07",       // movsx rax, byte [rdi]
        "480f bf 07",       // movsx rax, word [rdi]
        "660f be 07",       // movsx ax, byte [rdi]
        "48a1 moffs64",     // mov rax, [moffs64]
        "a3 moffs64",       // mov [moffs64], eax
        "a2 moffs64",       // mov [moffs64], al
        "a0 moffs64",       // mov al, [moffs64]
    };

    @BeforeEach
    void requireKvm()
    {
        KvmAssumptions.assumeKvm();
    }

    /** Fills in the address-dependent parts of a form: a RIP-relative displacement or a 64-bit moffs. */
    private static byte[] assemble(final String form)
    {
        final String hex = form.replace(" ", "");
        if (hex.endsWith("rel32"))
        {
            final String prefix = hex.substring(0, hex.length() - "rel32".length());
            final int length = prefix.length() / 2 + 4;
            final int disp = (int)(MMIO + 0x40 - (CODE + length));
            return HexFormat.of().parseHex(prefix + le(disp & 0xFFFF_FFFFL, 4));
        }
        if (hex.endsWith("moffs64"))
        {
            final String prefix = hex.substring(0, hex.length() - "moffs64".length());
            return HexFormat.of().parseHex(prefix + le(MMIO + 0x80, 8));
        }
        return HexFormat.of().parseHex(hex);
    }

    private static String le(final long value, final int bytes)
    {
        final StringBuilder s = new StringBuilder();
        for (int i = 0; i < bytes; i++)
        {
            s.append(String.format("%02x", (value >>> (8 * i)) & 0xFF));
        }
        return s.toString();
    }

    @Test
    void shouldComputeTheKernelsMmioExitForEveryDecodedForm()
    {
        final List<String> disagreements = new ArrayList<>();
        final InstructionDecoder decoder = new InstructionDecoder();
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(KvmVmConfig.defaults()))
        {
            final KvmVcpu vcpu = vm.kvmVcpu(0);
            vcpu.enterLongMode(IdentityPageTables.build(vm.memory(), TABLES));
            final RecordingPortDevice device = new RecordingPortDevice(LOAD_ANSWER);
            vm.registerMmio(MMIO, 0x2000, device);
            for (final String form : FORMS)
            {
                final byte[] code = assemble(form);
                final byte[] program = new byte[code.length + HLT_LENGTH];
                System.arraycopy(code, 0, program, 0, code.length);
                program[code.length] = (byte)0xF4;             // hlt
                vm.memory().copyIn(CODE, program, 0, program.length);
                final KvmRegs regs = new KvmRegs();
                final X86Registers model = new X86Registers();
                for (int r = 0; r < INITIAL.length; r++)
                {
                    regs.set(KVM_INDEX[r], INITIAL[r]);
                    model.gpr(r, INITIAL[r]);
                }
                model.rip(CODE);
                vcpu.start(CODE, regs);
                device.accesses().clear();
                final int stop = vcpu.run(MAX_EXITS);
                final KvmRegs after = vcpu.getRegs(new KvmRegs());
                final DecodedInstruction decoded = new DecodedInstruction();
                final DecodeStatus status = decoder.decode(code, code.length, decoded);
                final String name = form + " (" + HexFormat.of().formatHex(code) + ")";
                if (stop != KvmApi.KVM_EXIT_HLT || device.accesses().size() != 1 || status != DecodeStatus.OK)
                {
                    disagreements.add(name + ": stop=" + stop + " accesses=" + device.accesses() + " decode="
                        + status);
                    continue;
                }
                final RecordingPortDevice.Access access = device.accesses().getFirst();
                final String kernel = describe(access.write(), MMIO + access.offset(), access.size(),
                    access.write() ? access.value() : 0, after.get(KvmRegs.RIP) - CODE - HLT_LENGTH);
                final String expected = describe(decoded.isWrite(), decoded.linearAddress(model),
                    decoded.accessSize(), decoded.isWrite() ? decoded.storeValue(model) : 0, decoded.length());
                if (!kernel.equals(expected))
                {
                    disagreements.add(name + ": kernel " + kernel + ", decoder " + expected);
                }
                if (!decoded.isWrite())
                {
                    decoded.completeLoad(model, access.value());
                    for (int r = 0; r < INITIAL.length; r++)
                    {
                        if (model.gpr(r) != after.get(KVM_INDEX[r]))
                        {
                            disagreements.add(name + ": register " + r + " kernel=0x"
                                + Long.toHexString(after.get(KVM_INDEX[r])) + " decoder=0x"
                                + Long.toHexString(model.gpr(r)));
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), disagreements, "the decoder and the kernel disagree");
    }

    private static String describe(final boolean write, final long address, final int size, final long data,
        final long length)
    {
        return (write ? "write" : "read") + " gpa=0x" + Long.toHexString(address) + " size=" + size + " data=0x"
            + Long.toHexString(data) + " length=" + length;
    }
}
