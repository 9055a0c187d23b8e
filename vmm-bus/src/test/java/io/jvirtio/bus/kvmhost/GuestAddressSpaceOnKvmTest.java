package io.jvirtio.bus.kvmhost;

import io.jvirtio.bus.guest.GuestAddressSpace;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The project's guest page tables ({@link GuestAddressSpace}: 1 GiB identity map, direct map, kernel text, ioremap
 * windows with XD on data) drive a real vCPU: code runs at the kernel-text address and a store through an ioremap
 * address reaches the device at the guest-physical address the tables map it to.
 */
class GuestAddressSpaceOnKvmTest
{
    private static final long MMIO_BASE = 0xD000_0000L;
    private static final int MAX_EXITS = 8;

    @BeforeEach
    void requireKvm()
    {
        KvmAssumptions.assumeKvm();
    }

    @Test
    void shouldRunKernelTextAndReachTheDeviceThroughAnIoremapAddress()
    {
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(KvmVmConfig.defaults()))
        {
            final GuestAddressSpace space = vm.guestAddressSpace();
            final long window = space.ioremap(MMIO_BASE, 0x1000);
            final byte[] code = {
                (byte)0x89, 0x47, 0x08,   // mov [rdi+8], eax
                (byte)0x8b, 0x4f, 0x0c,   // mov ecx, [rdi+12]
                (byte)0xF4,               // hlt
            };
            vm.memory().copyIn(space.codePhysicalAddress(0, 0), code, 0, code.length);
            final RecordingPortDevice device = new RecordingPortDevice(0x600D_CAFEL);
            vm.registerMmio(MMIO_BASE, 0x1000, device);
            final KvmVcpu vcpu = vm.kvmVcpu(0);
            vcpu.enterLongMode(space.cr3(), true);
            vcpu.start(GuestAddressSpace.codeAddress(0),
                new KvmRegs().set(KvmRegs.RAX, 0x1234_5678L).set(KvmRegs.RDI, window));
            assertEquals(KvmApi.KVM_EXIT_HLT, vcpu.run(MAX_EXITS));
            assertEquals(new RecordingPortDevice.Access(true, 8, 4, 0x1234_5678L), device.accesses().get(0));
            assertEquals(new RecordingPortDevice.Access(false, 12, 4, 0x600D_CAFEL), device.accesses().get(1));
            assertEquals(0x600D_CAFEL, vcpu.getRegs(new KvmRegs()).get(KvmRegs.RCX));
        }
    }
}
