package io.jvirtio.bus.vm;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.guest.AddressingForm;
import io.jvirtio.bus.kvm.KvmCompat;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.stats.ExitPath;
import io.jvirtio.bus.stats.ExitReason;
import io.jvirtio.bus.x86.X86Registers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;

import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_DATAMATCH;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The MMIO exit path end to end: real instruction bytes at RIP, the exit the hardware would raise, and KVM's handling
 * of it (kvm-unit-tests' vmexit shapes: no eventfd, wildcard eventfd, datamatch eventfd).
 */
class ExitPathTest
{
    private static final long NOTIFY = 0xD000_0000L;
    private static final long DEVICE = 0xD000_1000L;

    /** A userspace device that records every access and answers reads with a fixed pattern. */
    static final class RecordingDevice implements UserspaceDevice
    {
        final List<String> accesses = new ArrayList<>();
        long readValue = 0x8877_6655_4433_2211L;

        @Override
        public long read(final long offset, final int size)
        {
            accesses.add("r" + size + "@" + offset);
            return readValue;
        }

        @Override
        public void write(final long offset, final int size, final long value)
        {
            accesses.add("w" + size + "@" + offset + "=" + Long.toHexString(value));
        }
    }

    private static SimulatedVm vm(final VmConfig config)
    {
        return SimulatedVm.create(config.withMemoryBytes(16L << 20));
    }

    @ParameterizedTest
    @EnumSource(ExitStyle.class)
    void shouldSignalWildcardIoEventFdOnFastPathWithoutEmulating(final ExitStyle style)
    {
        try (SimulatedVm vm = vm(VmConfig.defaults().withExitStyle(style));
            EventFd kick = EventFds.jvm())
        {
            vm.ioeventfd(new KvmIoEventFd(0, NOTIFY, 0, kick, 0));
            final SimulatedVcpu vcpu = vm.vcpu(0);
            final long rip = vcpu.registers().rip();
            vcpu.mmioWrite(NOTIFY, 2, 3);
            assertEquals(1, kick.tryRead());
            assertEquals(rip + 3, vcpu.registers().rip(), "66 89 07 skipped by the exit's length");
            final ExitReason reason = style == ExitStyle.VMX ? ExitReason.EPT_MISCONFIG : ExitReason.NPF;
            assertEquals(1, vm.exitStats().count(reason));
            assertEquals(1, vm.exitStats().count(ExitPath.FAST_MMIO));
            assertEquals(0, vm.exitStats().count(ExitPath.MMIO_KERNEL));
        }
    }

    @Test
    void shouldLeaveDestinationRegisterUnchangedWhenFastPathTakesARead()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults());
            EventFd kick = EventFds.jvm())
        {
            vm.ioeventfd(new KvmIoEventFd(0, NOTIFY, 0, kick, 0));
            final SimulatedVcpu vcpu = vm.vcpu(0);
            vcpu.registers().gpr(X86Registers.RAX, 0x1234_5678_9ABC_DEF0L);
            final long value = vcpu.mmioRead(NOTIFY, 4);
            assertEquals(0x9ABC_DEF0L, value, "the load was skipped, so EAX still holds its old low half");
            assertEquals(0x1234_5678_9ABC_DEF0L, vcpu.registers().gpr(X86Registers.RAX), "not even zero-extended");
            assertEquals(1, kick.tryRead(), "the fast bus fires for any access type at the exact address");
        }
    }

    @Test
    void shouldDecodeLengthOnFastPathWhenExitLengthIsNotTrusted()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults().withExitLengthTrusted(false));
            EventFd kick = EventFds.jvm())
        {
            vm.ioeventfd(new KvmIoEventFd(0, NOTIFY, 0, kick, 0));
            final SimulatedVcpu vcpu = vm.vcpu(0);
            final long fixmapped = vm.guestAddressSpace().fixmap(0, NOTIFY);
            for (final AddressingForm form : AddressingForm.values())
            {
                // RIP-relative and disp32-absolute reach only the top 2 GiB near kernel text: use the fixmap there
                final boolean near = form == AddressingForm.RIP_RELATIVE || form == AddressingForm.ABSOLUTE;
                vcpu.mmioWrite(near ? fixmapped : NOTIFY, 2, 1, form);
            }
            assertEquals(AddressingForm.values().length, kick.tryRead());
            assertEquals(AddressingForm.values().length, vm.exitStats().count(ExitPath.FAST_MMIO));
        }
    }

    @Test
    void shouldCorruptRipWhenBogusLengthIsTrusted()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults());
            EventFd kick = EventFds.jvm())
        {
            vm.ioeventfd(new KvmIoEventFd(0, NOTIFY, 0, kick, 0));
            final SimulatedVcpu vcpu = vm.vcpu(0);
            final long rip = vcpu.registers().rip();
            // 66 89 07 (mov %ax,(%rdi)) reported with a length of 7: what d391f1207067 saw nested under Hyper-V.
            vcpu.registers().gpr(X86Registers.RDI, NOTIFY);
            vcpu.executeRaw(new byte[]{0x66, (byte)0x89, 0x07}, NOTIFY, true, 7);
            assertEquals(rip + 7, vcpu.registers().rip(), "trusting the length lands RIP mid-stream");
        }
        try (SimulatedVm vm = vm(VmConfig.defaults().withExitLengthTrusted(false));
            EventFd kick = EventFds.jvm())
        {
            vm.ioeventfd(new KvmIoEventFd(0, NOTIFY, 0, kick, 0));
            final SimulatedVcpu vcpu = vm.vcpu(0);
            final long rip = vcpu.registers().rip();
            vcpu.registers().gpr(X86Registers.RDI, NOTIFY);
            vcpu.executeRaw(new byte[]{0x66, (byte)0x89, 0x07}, NOTIFY, true, 7);
            assertEquals(rip + 3, vcpu.registers().rip(), "EMULTYPE_SKIP decodes the real length");
        }
    }

    @Test
    void shouldEmulateWhenFastBusIsAbsentAndStillSignalLengthZeroIoEventFd()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults().withFastMmioBus(false));
            EventFd kick = EventFds.jvm())
        {
            vm.ioeventfd(new KvmIoEventFd(0, NOTIFY, 0, kick, 0));
            vm.vcpu(0).mmioWrite(NOTIFY, 2, 0);
            assertEquals(1, kick.tryRead(), "the fixed comparator finds the length-0 entry on the MMIO bus");
            assertEquals(1, vm.exitStats().count(ExitPath.MMIO_KERNEL));
            assertEquals(0, vm.exitStats().count(ExitPath.FAST_MMIO));
        }
    }

    @Test
    void shouldMissLengthZeroIoEventFdOnSlowPathUnderLinux316()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults().withFastMmioBus(false).withKvmCompat(KvmCompat.LINUX_3_16));
            EventFd kick = EventFds.jvm())
        {
            final RecordingDevice device = new RecordingDevice();
            vm.registerMmio(NOTIFY, 0x1000, device);
            vm.ioeventfd(new KvmIoEventFd(0, NOTIFY, 0, kick, 0));
            vm.vcpu(0).mmioWrite(NOTIFY, 2, 5);
            assertEquals(0, kick.tryRead(), "before 'kvm: fix zero length mmio searching' the entry is unreachable");
            assertEquals(List.of("w2@0=5"), device.accesses, "so the kick exits to userspace");
            assertEquals(1, vm.exitStats().count(ExitPath.MMIO_USERSPACE));
        }
    }

    @Test
    void shouldTakeDatamatchIoEventFdOnlyThroughDecodeAndOnlyForItsValue()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults());
            EventFd match = EventFds.jvm())
        {
            final RecordingDevice device = new RecordingDevice();
            vm.registerMmio(DEVICE, 0x1000, device);
            vm.ioeventfd(new KvmIoEventFd(0xFA, DEVICE + 0x50, 1, match, KVM_IOEVENTFD_FLAG_DATAMATCH));
            final SimulatedVcpu vcpu = vm.vcpu(0);
            vcpu.mmioWriteImmediate(DEVICE + 0x50, 1, 0xFA);
            vcpu.mmioWrite(DEVICE + 0x50, 1, 0xCE);
            vcpu.mmioWrite(DEVICE + 0x50, 2, 0xFA);
            assertEquals(1, match.tryRead());
            assertEquals(List.of("w1@80=ce", "w2@80=fa"), device.accesses);
            assertEquals(1, vm.exitStats().count(ExitPath.MMIO_KERNEL));
            assertEquals(2, vm.exitStats().count(ExitPath.MMIO_USERSPACE));
            assertEquals(0, vm.exitStats().count(ExitPath.FAST_MMIO));
        }
    }

    @Test
    void shouldCompleteLoadsFromUserspaceDeviceWithTheirExtension()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults()))
        {
            final RecordingDevice device = new RecordingDevice();
            device.readValue = 0xFFFF_FF80L;
            vm.registerMmio(DEVICE, 0x1000, device);
            final SimulatedVcpu vcpu = vm.vcpu(0);
            final X86Registers regs = vcpu.registers();
            regs.gpr(X86Registers.RAX, -1L);
            assertEquals(0x80, vcpu.mmioRead(DEVICE + 4, 1));
            assertEquals(0xFFFF_FFFF_FFFF_FF80L, regs.gpr(X86Registers.RAX), "mov (%rdi),%al keeps bits 8-63");
            assertEquals(0xFFFF_FF80L, vcpu.mmioRead(DEVICE + 8, 4));
            assertEquals(0xFFFF_FF80L, regs.gpr(X86Registers.RAX), "a 32-bit load zero-extends into RAX");
            assertEquals(0x80, vcpu.mmioReadZeroExtend(DEVICE + 12, 1));
            assertEquals(-128, vcpu.mmioReadSignExtend(DEVICE + 16, 1));
            assertEquals(0xFF80 - 0x10000, vcpu.mmioReadSignExtend(DEVICE + 20, 2));
            assertEquals(List.of("r1@4", "r4@8", "r1@12", "r1@16", "r2@20"), device.accesses);
        }
    }

    @Test
    void shouldAnswerUnassignedMmioReadWithAllOnesAndDropWrite()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults()))
        {
            final SimulatedVcpu vcpu = vm.vcpu(0);
            assertEquals(0xFFFF, vcpu.mmioRead(DEVICE, 2));
            vcpu.mmioWrite(DEVICE, 4, 1);
            assertEquals(2, vm.exitStats().count(ExitPath.UNHANDLED));
            assertEquals(1, vm.userspaceMmio().unassignedReads());
            assertEquals(1, vm.userspaceMmio().unassignedWrites());
        }
    }

    @Test
    void shouldEmulateOnSvmWhenNextRipIsUnknown()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults().withExitStyle(ExitStyle.SVM).withSvmNextRip(false));
            EventFd kick = EventFds.jvm())
        {
            vm.ioeventfd(new KvmIoEventFd(0, NOTIFY, 0, kick, 0));
            vm.vcpu(0).mmioWrite(NOTIFY, 2, 0);
            assertEquals(1, kick.tryRead());
            assertEquals(1, vm.exitStats().count(ExitPath.MMIO_KERNEL), "no NRIPS, no fast path");
        }
    }

    @Test
    void shouldEmulateFromDecodeAssistBytesOnSvm()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults().withExitStyle(ExitStyle.SVM).withSvmDecodeAssists(true)))
        {
            final RecordingDevice device = new RecordingDevice();
            vm.registerMmio(DEVICE, 0x1000, device);
            final SimulatedVcpu vcpu = vm.vcpu(0);
            // RIP points at a page the walker cannot fetch from: only the assisted bytes make emulation possible.
            vcpu.codeOffset(4094);
            vcpu.mmioWrite(DEVICE + 0x10, 8, 0x0102_0304_0506_0708L, AddressingForm.BASE_DISP32);
            assertEquals(List.of("w8@16=102030405060708"), device.accesses);
        }
    }

    @Test
    void shouldTakeSlowPathInNestedGuestMode()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults());
            EventFd kick = EventFds.jvm())
        {
            vm.ioeventfd(new KvmIoEventFd(0, NOTIFY, 0, kick, 0));
            final SimulatedVcpu vcpu = vm.vcpu(0);
            vcpu.nestedGuestMode(true);
            vcpu.mmioWrite(NOTIFY, 2, 0);
            assertEquals(1, kick.tryRead());
            assertEquals(0, vm.exitStats().count(ExitPath.FAST_MMIO), "an L2 GPA cannot be looked up on the fast bus");
        }
    }

    @Test
    void shouldRaiseSingleStepTrapAfterFastPathSkip()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults());
            EventFd kick = EventFds.jvm())
        {
            vm.ioeventfd(new KvmIoEventFd(0, NOTIFY, 0, kick, 0));
            final SimulatedVcpu vcpu = vm.vcpu(0);
            vcpu.registers().rflags(vcpu.registers().rflags() | (1 << 8));
            vcpu.mmioWrite(NOTIFY, 2, 0);
            assertEquals(1, vcpu.singleStepTraps());
        }
    }

    @Test
    void shouldFetchInstructionThatStraddlesCodePages()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults()))
        {
            final RecordingDevice device = new RecordingDevice();
            vm.registerMmio(DEVICE, 0x1000, device);
            final SimulatedVcpu vcpu = vm.vcpu(0);
            for (int offset = 4090; offset < 4097; offset++)
            {
                vcpu.codeOffset(offset);
                vcpu.mmioWrite(DEVICE + 0x20, 4, offset, AddressingForm.BASE_INDEX_SCALE);
            }
            assertEquals(7, device.accesses.size());
            assertEquals("w4@32=ffa", device.accesses.getFirst());
        }
    }

    @Test
    void shouldReportUndecodableInstructionAsEmulationFailure()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults()))
        {
            final SimulatedVcpu vcpu = vm.vcpu(0);
            final long rip = vcpu.registers().rip();
            // 0f 0b: ud2, which no device access compiles to.
            final VcpuException ex = assertThrows(VcpuException.class,
                () -> vcpu.executeRaw(new byte[]{0x0F, 0x0B}, DEVICE, true, 2));
            assertEquals(VcpuException.Kind.EMULATION_FAILURE, ex.kind());
            assertEquals(rip, vcpu.registers().rip(), "a failed emulation does not move RIP");
            assertEquals(1, vm.exitStats().count(ExitPath.DECODE_FAILURE));
        }
    }

    @Test
    void shouldReportAccessToUnmappedAddressAsPageFault()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults()))
        {
            final VcpuException ex = assertThrows(VcpuException.class,
                () -> vm.vcpu(0).mmioWrite(0x0000_7000_0000_0000L, 4, 1));
            assertEquals(VcpuException.Kind.PAGE_FAULT, ex.kind());
        }
    }

    @Test
    void shouldAccessRamWithoutExitWhenAddressIsRam()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults()))
        {
            final long gpa = vm.guestAddressSpace().allocate(4096, 4096);
            final SimulatedVcpu vcpu = vm.vcpu(0);
            vcpu.mmioWrite(vm.guestAddressSpace().directMap(gpa), 4, 0xCAFE);
            assertEquals(0xCAFE, vm.memory().getIntLE(gpa));
            assertEquals(0xCAFE, vcpu.mmioRead(gpa, 2), "identity and direct map reach the same RAM");
            assertEquals(0, vm.exitStats().exits());
        }
    }

    @Test
    void shouldReachDeviceThroughIoremapMapping()
    {
        try (SimulatedVm vm = vm(VmConfig.defaults());
            EventFd kick = EventFds.jvm())
        {
            vm.ioeventfd(new KvmIoEventFd(0, NOTIFY + 4, 0, kick, 0));
            final long mapped = vm.guestAddressSpace().ioremap(NOTIFY, 0x1000);
            vm.vcpu(0).mmioWrite(mapped + 4, 2, 0);
            assertEquals(1, kick.tryRead());
        }
    }
}
