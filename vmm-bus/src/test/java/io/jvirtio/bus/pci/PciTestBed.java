package io.jvirtio.bus.pci;

import io.jvirtio.bus.vm.SimulatedVcpu;
import io.jvirtio.bus.vm.SimulatedVm;
import io.jvirtio.bus.vm.UserspaceDevice;
import io.jvirtio.bus.vm.VmConfig;

import java.util.concurrent.atomic.AtomicLong;

/** A VM with a host bridge, and guest-side configuration accessors that exit through the vCPU. */
final class PciTestBed implements AutoCloseable
{
    static final long ECAM_BASE = 0xE000_0000L;
    static final long WINDOW_BASE = 0xC000_0000L;
    static final long WINDOW_SIZE = 256L << 20;
    static final PciIdentity IDENTITY = new PciIdentity(0x1B36, 0x0005, 0x02, 0x00FF00, 0x1AF4, 0x1100);

    final SimulatedVm vm = SimulatedVm.create(VmConfig.defaults().withMemoryBytes(8L << 20));
    final PciHostBridge bridge = new PciHostBridge(vm, ECAM_BASE, WINDOW_BASE, WINDOW_SIZE);
    final SimulatedVcpu vcpu = vm.vcpu(0);

    /** Mechanism #1 read: out to 0xCF8, in from 0xCFC + (register & 3). */
    long cf8Read(final int device, final int function, final int register, final int size)
    {
        vcpu.out(PciHostBridge.CONFIG_ADDRESS_PORT, 4, address(device, function, register));
        return vcpu.in(PciHostBridge.CONFIG_DATA_PORT + (register & 3), size);
    }

    void cf8Write(final int device, final int function, final int register, final int size, final long value)
    {
        vcpu.out(PciHostBridge.CONFIG_ADDRESS_PORT, 4, address(device, function, register));
        vcpu.out(PciHostBridge.CONFIG_DATA_PORT + (register & 3), size, value);
    }

    long ecamRead(final int device, final int function, final int register, final int size)
    {
        return vcpu.mmioRead(ecam(device, function, register), size);
    }

    void ecamWrite(final int device, final int function, final int register, final int size, final long value)
    {
        vcpu.mmioWrite(ecam(device, function, register), size, value);
    }

    static long ecam(final int device, final int function, final int register)
    {
        return ECAM_BASE + ((long)device << 15) + ((long)function << 12) + register;
    }

    private static long address(final int device, final int function, final int register)
    {
        return 0x8000_0000L | (long)device << 11 | (long)function << 8 | (register & 0xFC);
    }

    @Override
    public void close()
    {
        bridge.close();
        vm.close();
    }

    /** A BAR device that keeps one 64-bit register per 8-byte slot and counts accesses. */
    static final class ScratchDevice implements UserspaceDevice
    {
        final long[] slots = new long[512];
        final AtomicLong accesses = new AtomicLong();

        @Override
        public long read(final long offset, final int size)
        {
            accesses.incrementAndGet();
            return slots[(int)(offset >>> 3) & 511];
        }

        @Override
        public void write(final long offset, final int size, final long value)
        {
            accesses.incrementAndGet();
            slots[(int)(offset >>> 3) & 511] = value;
        }
    }
}
