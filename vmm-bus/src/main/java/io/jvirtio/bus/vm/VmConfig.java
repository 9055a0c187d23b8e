package io.jvirtio.bus.vm;

import io.jvirtio.bus.kvm.KvmCompat;

import java.nio.file.Path;

/**
 * How a {@link SimulatedVm} is built: its RAM, its vCPUs, and which hypervisor behaviours it reproduces.
 * <p>
 * Thread safety: immutable.
 *
 * @param memoryBytes         RAM at guest-physical 0, a multiple of 2 MiB, at least 4 MiB.
 * @param vcpus               vCPU count, 1 to 64.
 * @param exitStyle           VMX (EPT misconfig) or SVM (nested page fault) exits.
 * @param fastMmioBus         whether EPT-misconfig and NPF handling try the FAST_MMIO bus first (the 2014 patch);
 *                            false is KVM before it.
 * @param exitLengthTrusted   whether the VM-exit instruction length can be trusted (bare metal); false is KVM nested
 *                            under another hypervisor, where the fast path decodes to find the length (EMULTYPE_SKIP).
 * @param svmNextRip          whether SVM exits carry the next RIP (NRIPS); the SVM fast path needs it.
 * @param svmDecodeAssists    whether SVM exits carry the instruction bytes, sparing the emulator the fetch.
 * @param kvmCompat           which KVM the buses and ioeventfds behave like.
 * @param exitTiming          whether each exit's handling time is measured into the latency histograms (two clock
 *                            reads per exit); counts are always kept.
 * @param exitTrace           a Chronicle Queue directory to append every exit to, or null for none.
 */
public record VmConfig(
    long memoryBytes,
    int vcpus,
    ExitStyle exitStyle,
    boolean fastMmioBus,
    boolean exitLengthTrusted,
    boolean svmNextRip,
    boolean svmDecodeAssists,
    KvmCompat kvmCompat,
    boolean exitTiming,
    Path exitTrace)
{
    /** Default RAM: 64 MiB. */
    public static final long DEFAULT_MEMORY_BYTES = 64L << 20;

    public VmConfig
    {
        if (memoryBytes < (4L << 20) || (memoryBytes & ((2L << 20) - 1)) != 0)
        {
            throw new IllegalArgumentException("memory must be a multiple of 2 MiB, at least 4 MiB: memoryBytes="
                + memoryBytes);
        }
        if (vcpus < 1 || vcpus > 64)
        {
            throw new IllegalArgumentException("vcpus must be 1 to 64: vcpus=" + vcpus);
        }
        if (exitStyle == null || kvmCompat == null)
        {
            throw new IllegalArgumentException("exitStyle and kvmCompat are required");
        }
    }

    /** @return the defaults: 64 MiB, one vCPU, VMX, fast bus on, trusted length, current KVM, timing on. */
    public static VmConfig defaults()
    {
        return new VmConfig(DEFAULT_MEMORY_BYTES, 1, ExitStyle.VMX, true, true, true, false, KvmCompat.CURRENT,
            true, null);
    }

    public VmConfig withMemoryBytes(final long bytes)
    {
        return new VmConfig(bytes, vcpus, exitStyle, fastMmioBus, exitLengthTrusted, svmNextRip, svmDecodeAssists,
            kvmCompat, exitTiming, exitTrace);
    }

    public VmConfig withVcpus(final int count)
    {
        return new VmConfig(memoryBytes, count, exitStyle, fastMmioBus, exitLengthTrusted, svmNextRip,
            svmDecodeAssists, kvmCompat, exitTiming, exitTrace);
    }

    public VmConfig withExitStyle(final ExitStyle style)
    {
        return new VmConfig(memoryBytes, vcpus, style, fastMmioBus, exitLengthTrusted, svmNextRip, svmDecodeAssists,
            kvmCompat, exitTiming, exitTrace);
    }

    public VmConfig withFastMmioBus(final boolean on)
    {
        return new VmConfig(memoryBytes, vcpus, exitStyle, on, exitLengthTrusted, svmNextRip, svmDecodeAssists,
            kvmCompat, exitTiming, exitTrace);
    }

    public VmConfig withExitLengthTrusted(final boolean trusted)
    {
        return new VmConfig(memoryBytes, vcpus, exitStyle, fastMmioBus, trusted, svmNextRip, svmDecodeAssists,
            kvmCompat, exitTiming, exitTrace);
    }

    public VmConfig withSvmNextRip(final boolean available)
    {
        return new VmConfig(memoryBytes, vcpus, exitStyle, fastMmioBus, exitLengthTrusted, available,
            svmDecodeAssists, kvmCompat, exitTiming, exitTrace);
    }

    public VmConfig withSvmDecodeAssists(final boolean available)
    {
        return new VmConfig(memoryBytes, vcpus, exitStyle, fastMmioBus, exitLengthTrusted, svmNextRip, available,
            kvmCompat, exitTiming, exitTrace);
    }

    public VmConfig withKvmCompat(final KvmCompat compat)
    {
        return new VmConfig(memoryBytes, vcpus, exitStyle, fastMmioBus, exitLengthTrusted, svmNextRip,
            svmDecodeAssists, compat, exitTiming, exitTrace);
    }

    public VmConfig withExitTiming(final boolean on)
    {
        return new VmConfig(memoryBytes, vcpus, exitStyle, fastMmioBus, exitLengthTrusted, svmNextRip,
            svmDecodeAssists, kvmCompat, on, exitTrace);
    }

    public VmConfig withExitTrace(final Path directory)
    {
        return new VmConfig(memoryBytes, vcpus, exitStyle, fastMmioBus, exitLengthTrusted, svmNextRip,
            svmDecodeAssists, kvmCompat, exitTiming, directory);
    }
}
