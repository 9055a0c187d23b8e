package io.jvirtio.bus.kvmhost;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Skips a test, with the reason in one line, where this host cannot run a KVM VM. */
final class KvmAssumptions
{
    private static final String UNUSABLE = Kvm.probe();

    private KvmAssumptions()
    {
    }

    /** Skips the calling test unless /dev/kvm opens, answers API version 12 and has ioeventfds. */
    static void assumeKvm()
    {
        assumeTrue(UNUSABLE == null, () -> "skipped: " + UNUSABLE);
    }
}
