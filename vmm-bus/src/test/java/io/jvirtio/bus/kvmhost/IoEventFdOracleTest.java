package io.jvirtio.bus.kvmhost;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.EventFds;
import io.jvirtio.bus.kvm.KvmIoEventFd;
import io.jvirtio.bus.vm.SimulatedVm;
import io.jvirtio.bus.vm.VmConfig;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_DATAMATCH;
import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_DEASSIGN;
import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_PIO;
import static io.jvirtio.bus.kvm.KvmIoEventFd.KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernel as the oracle of the simulated ioeventfds: the same {@code KVM_IOEVENTFD} requests go to /dev/kvm and to
 * {@code io.jvirtio.bus.kvm.IoEventFds}, and must succeed or fail with the same errno (virt/kvm/eventfd.c validation
 * order, collisions, deassign matching); the same guest stores must then fire the same eventfds, or exit to userspace
 * in both (the bus comparator and {@code ioeventfd_in_range}).
 * <p>
 * Stores are made by a 64-bit guest: 1, 2, 4 or 8 bytes to memory, 1, 2 or 4 to ports. The simulated VM's vCPU takes
 * the VMX exit path with the fast MMIO bus; on this host the kernel emulates every MMIO store (PVM), so only the
 * outcome (which eventfd fires, whether the store exits) is compared, not the path.
 */
class IoEventFdOracleTest
{
    private static final int SEED = 0x5EED;
    private static final int SEQUENCES = 6;
    private static final int REQUESTS_PER_SEQUENCE = 60;
    private static final int[] MMIO_OFFSETS = {0, 1, 2, 4, 8};
    private static final int[] PORTS = {0x10, 0x11, 0x12, 0x14};
    private static final int[] LENGTHS = {0, 1, 2, 4, 8, 0, 1, 2, 4, 8, 3, 5, 16, -1};
    private static final long[] DATAMATCHES = {0, 1, 0xFA, 0xBEEF, 0x1FA, 0xDEAD_BEEFL, 0x1_0000_00FAL, -1L};
    private static final long[] STORED_VALUES = {0, 1, 0xFA, 0xBEEF, 0x1FA, 0xDEAD_BEEFL, 0x1_0000_00FAL, -1L};
    private static final int[] MMIO_STORE_SIZES = {1, 2, 4, 8};
    private static final int[] PORT_STORE_SIZES = {1, 2, 4};
    private static final int INVALID_FLAG = 1 << 5;
    private static final int FAST_MMIO_FLAG = KvmIoEventFd.KVM_IOEVENTFD_FLAG_FAST_MMIO;

    @BeforeEach
    void requireKvm()
    {
        KvmAssumptions.assumeKvm();
    }

    private static KernelOracle.Request mmio(final int offset, final int len, final int slot, final int flags,
        final long datamatch)
    {
        return new KernelOracle.Request(datamatch, KernelOracle.MMIO_BASE + offset, len, slot, flags);
    }

    private static KernelOracle.Request port(final int port, final int len, final int slot, final int flags,
        final long datamatch)
    {
        return new KernelOracle.Request(datamatch, port, len, slot, flags | KVM_IOEVENTFD_FLAG_PIO);
    }

    private static KernelOracle.Request deassign(final KernelOracle.Request request)
    {
        return new KernelOracle.Request(request.datamatch(), request.addr(), request.len(), request.slot(),
            request.flags() | KVM_IOEVENTFD_FLAG_DEASSIGN);
    }

    /** Every store the guest can make at every address the requests use, compared on both sides. */
    private static void storeEverywhere(final KernelOracle oracle)
    {
        // bound: fixed tables of offsets, sizes and values
        for (final int offset : MMIO_OFFSETS)
        {
            for (final int size : MMIO_STORE_SIZES)
            {
                for (final long value : STORED_VALUES)
                {
                    oracle.store(false, offset, size, value);
                }
            }
        }
        for (final int port : PORTS)
        {
            for (final int size : PORT_STORE_SIZES)
            {
                for (final long value : STORED_VALUES)
                {
                    oracle.store(true, port, size, value);
                }
            }
        }
    }

    private static KernelOracle.Request random(final Random random)
    {
        final boolean pio = random.nextInt(3) == 0;
        final long addr;
        if (random.nextInt(20) == 0)
        {
            addr = -1L - random.nextInt(4);     // u64 wrap with a length
        }
        else
        {
            addr = pio ? PORTS[random.nextInt(PORTS.length)]
                : KernelOracle.MMIO_BASE + MMIO_OFFSETS[random.nextInt(MMIO_OFFSETS.length)];
        }
        int flags = pio ? KVM_IOEVENTFD_FLAG_PIO : 0;
        if (random.nextBoolean())
        {
            flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
        }
        if (random.nextInt(4) == 0)
        {
            flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
        }
        if (random.nextInt(15) == 0)
        {
            flags |= KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY;
        }
        if (random.nextInt(15) == 0)
        {
            final int pick = random.nextInt(3);
            flags |= pick == 0 ? INVALID_FLAG : pick == 1 ? Integer.MIN_VALUE : FAST_MMIO_FLAG;
        }
        final int slot = random.nextInt(12) == 0 ? -1 : random.nextInt(KernelOracle.SLOTS);
        final long datamatch = DATAMATCHES[random.nextInt(DATAMATCHES.length)];
        return new KernelOracle.Request(datamatch, addr, LENGTHS[random.nextInt(LENGTHS.length)], slot, flags);
    }

    @Test
    void shouldAgreeWithTheKernelOnRandomRequestSequencesAndTheStoresThatFollow()
    {
        final Random random = new Random(SEED);
        int successes = 0;
        int failures = 0;
        int inKernel = 0;
        // bound: a fixed number of sequences and requests
        for (int sequence = 0; sequence < SEQUENCES; sequence++)
        {
            try (KernelOracle oracle = new KernelOracle())
            {
                for (int i = 0; i < REQUESTS_PER_SEQUENCE; i++)
                {
                    oracle.ioeventfd(random(random));
                    if (i % 20 == 19)
                    {
                        storeEverywhere(oracle);
                    }
                }
                assertNoDisagreement("sequence " + sequence + " of seed 0x" + Integer.toHexString(SEED),
                    oracle.disagreements());
                successes += oracle.successes();
                failures += oracle.failures();
                inKernel += oracle.accessesInKernel();
            }
        }
        // the sequences must exercise both outcomes, or agreeing proves little
        assertTrue(successes > 20, "successful requests=" + successes);
        assertTrue(failures > 20, "refused requests=" + failures);
        assertTrue(inKernel > 20, "stores handled by an ioeventfd=" + inKernel);
    }

    @Test
    void shouldAgreeWithTheKernelOnTheRuleList()
    {
        try (KernelOracle oracle = new KernelOracle())
        {
            // a length-0 entry blocks every other entry at its address, whatever the length, data or eventfd
            final KernelOracle.Request zero = mmio(0, 0, 0, 0, 0);
            oracle.ioeventfd(zero);
            oracle.ioeventfd(mmio(0, 4, 1, 0, 0));
            oracle.ioeventfd(mmio(0, 2, 1, KVM_IOEVENTFD_FLAG_DATAMATCH, 1));
            oracle.ioeventfd(mmio(0, 0, 2, 0, 0));
            storeEverywhere(oracle);
            oracle.ioeventfd(deassign(zero));
            oracle.ioeventfd(deassign(zero));
            // datamatch entries with different data coexist; a wildcard of the same length collides with them
            oracle.ioeventfd(mmio(1, 2, 0, KVM_IOEVENTFD_FLAG_DATAMATCH, 0xBEEF));
            oracle.ioeventfd(mmio(1, 2, 1, KVM_IOEVENTFD_FLAG_DATAMATCH, 1));
            oracle.ioeventfd(mmio(1, 2, 2, 0, 0));
            oracle.ioeventfd(mmio(1, 2, 2, KVM_IOEVENTFD_FLAG_DATAMATCH, 1));
            // different lengths at one address, neither 0, coexist; the store's width picks one
            oracle.ioeventfd(mmio(2, 1, 0, 0, 0));
            oracle.ioeventfd(mmio(2, 4, 1, 0, 0));
            oracle.ioeventfd(mmio(2, 8, 2, 0, 0));
            // a datamatch above the width is accepted and never matches
            oracle.ioeventfd(mmio(4, 1, 2, KVM_IOEVENTFD_FLAG_DATAMATCH, 0x1FA));
            // overlapping ranges: only the exact start address matches
            oracle.ioeventfd(mmio(8, 4, 0, 0, 0));
            storeEverywhere(oracle);
            // deassign must repeat the assign exactly: other data, length, eventfd or wildcard-ness is ENOENT
            oracle.ioeventfd(deassign(mmio(1, 2, 0, KVM_IOEVENTFD_FLAG_DATAMATCH, 1)));
            oracle.ioeventfd(deassign(mmio(1, 2, 0, 0, 0xBEEF)));
            oracle.ioeventfd(deassign(mmio(1, 4, 0, KVM_IOEVENTFD_FLAG_DATAMATCH, 0xBEEF)));
            oracle.ioeventfd(deassign(mmio(1, 2, 0, KVM_IOEVENTFD_FLAG_DATAMATCH, 0xBEEF)));
            // validation: length, wrap, unknown flags, datamatch with length 0, then the eventfd
            oracle.ioeventfd(mmio(0, 3, 0, 0, 0));
            oracle.ioeventfd(new KernelOracle.Request(0, -1L, 1, 0, 0));
            oracle.ioeventfd(new KernelOracle.Request(0, -4L, 4, 0, 0));
            oracle.ioeventfd(new KernelOracle.Request(0, -1L, 0, 0, 0));
            oracle.ioeventfd(mmio(0, 4, 0, INVALID_FLAG, 0));
            oracle.ioeventfd(mmio(4, 2, 0, FAST_MMIO_FLAG, 0));
            oracle.ioeventfd(mmio(0, 0, 0, KVM_IOEVENTFD_FLAG_DATAMATCH, 0));
            oracle.ioeventfd(mmio(0, 3, -1, 0, 0));
            oracle.ioeventfd(mmio(0, 4, -1, 0, 0));
            // deassign validates nothing but the eventfd
            oracle.ioeventfd(deassign(mmio(0, 3, 0, INVALID_FLAG, 0)));
            oracle.ioeventfd(deassign(mmio(0, 4, -1, 0, 0)));
            // ports: length 0 allowed since KVM_CAP_IOEVENTFD_ANY_LENGTH, still not with datamatch
            oracle.ioeventfd(port(0x10, 0, 0, 0, 0));
            oracle.ioeventfd(port(0x10, 1, 1, 0, 0));
            oracle.ioeventfd(port(0x11, 0, 1, KVM_IOEVENTFD_FLAG_DATAMATCH, 0));
            oracle.ioeventfd(port(0x11, 2, 1, KVM_IOEVENTFD_FLAG_DATAMATCH, 0xFA));
            oracle.ioeventfd(port(0x12, 4, 2, 0, 0));
            // PIO wins over VIRTIO_CCW_NOTIFY; CCW alone is its own bus, where nothing else collides
            oracle.ioeventfd(port(0x14, 1, 0, KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY, 0));
            oracle.ioeventfd(port(0x14, 1, 1, 0, 0));
            oracle.ioeventfd(new KernelOracle.Request(0, 0x14, 1, 1, KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY));
            oracle.ioeventfd(new KernelOracle.Request(0, 0x14, 0, 2, KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY));
            storeEverywhere(oracle);
            assertNoDisagreement("rule list", oracle.disagreements());
            assertTrue(oracle.accessesInKernel() > 0, "no store was handled by an ioeventfd");
        }
    }

    /**
     * A kernel behaviour the model reproduces, and a named difference of this host. Register inserts a new entry
     * before the first one that compares greater, with the asymmetric comparator, so assigning {@code {A+2, 0}} and
     * then {@code {A, 2}} leaves the array as {@code [{A+2, 0}, {A, 2}]}, out of order. The binary search for any
     * store at A+2 compares greater than {@code {A, 2}}, moves right and misses: the length-0 ioeventfd is hidden on
     * the MMIO bus and the store exits to userspace, in this host's kernel and in the model alike, until
     * {@code {A, 2}} goes. On VMX hardware the EPT-misconfig fast path looks the address up on the FAST_MMIO bus
     * first and fires, as the simulated VM with the fast bus does; this host emulates MMIO, so its kernel exits.
     */
    @Test
    void shouldHideALengthZeroEventfdBehindAnEntryAssignedLaterAtALowerAddressExceptOnTheFastPath()
    {
        try (KernelOracle oracle = new KernelOracle();
            SimulatedVm fast = SimulatedVm.create(VmConfig.defaults()); EventFd kick = EventFds.jvm();
            EventFd other = EventFds.jvm())
        {
            oracle.ioeventfd(mmio(2, 0, 1, 0, 0));
            oracle.store(false, 2, 4, 0xBEEF);
            assertFalse(oracle.lastStoreExited(), "the length-0 entry alone takes the store");
            final KernelOracle.Request lower = mmio(0, 2, 2, 0, 0);
            oracle.ioeventfd(lower);
            oracle.store(false, 2, 4, 0xBEEF);
            assertTrue(oracle.lastStoreExited(), "with {A, 2} assigned after it, the length-0 entry is not found");
            oracle.store(false, 2, 1, 0xBEEF);
            assertTrue(oracle.lastStoreExited(), "not for a 1-byte store either");
            oracle.ioeventfd(deassign(lower));
            oracle.store(false, 2, 4, 0xBEEF);
            assertFalse(oracle.lastStoreExited(), "found again once {A, 2} is gone");
            assertNoDisagreement("hidden length-0 entry", oracle.disagreements());

            final long base = KernelOracle.MMIO_BASE;
            fast.ioeventfd(new KvmIoEventFd(0, base + 2, 0, kick, 0));
            fast.ioeventfd(new KvmIoEventFd(0, base, 2, other, 0));
            fast.vcpu(0).mmioWrite(fast.guestAddressSpace().ioremap(base, 0x1000) + 2, 4, 0xBEEF);
            assertEquals(1, kick.tryRead(), "the fast path signals the length-0 eventfd");
            assertEquals(0, other.tryRead());
        }
    }

    private static void assertNoDisagreement(final String what, final List<String> disagreements)
    {
        assertEquals(List.of(), disagreements, what + ": the model and the kernel disagree");
    }

    @Test
    void shouldSeeTheSameRequestRefusedTheSameWayByBothWhenTheKernelHasTheCapabilities()
    {
        try (Kvm kvm = Kvm.open())
        {
            // the model is CURRENT: length-0 PIO ioeventfds need KVM_CAP_IOEVENTFD_ANY_LENGTH
            assertTrue(kvm.checkExtension(KvmApi.KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0);
        }
        try (KernelOracle oracle = new KernelOracle())
        {
            assertEquals(0, oracle.ioeventfd(port(0x10, 0, 0, 0, 0)));
            assertEquals(io.jvirtio.bus.kvm.Errno.EEXIST.number(), oracle.ioeventfd(port(0x10, 1, 1, 0, 0)));
            assertEquals(io.jvirtio.bus.kvm.Errno.EINVAL.number(),
                oracle.ioeventfd(mmio(0, 0, 0, KvmIoEventFd.KVM_IOEVENTFD_FLAG_DATAMATCH, 0)));
            assertNoDisagreement("capabilities", oracle.disagreements());
        }
    }
}
