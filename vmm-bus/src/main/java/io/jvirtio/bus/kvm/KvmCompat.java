package io.jvirtio.bus.kvm;

/**
 * Which KVM the simulated buses and ioeventfds behave like; chosen once, when the VM's {@link IoBuses} are created.
 * <p>
 * {@link #LINUX_3_16} reproduces the 2014 code of f848a5a8 and 68c3b4d1 with its bugs, for study
 * (virt/kvm/eventfd.c):
 * <ul>
 *   <li>the pre-2015 bus comparator, which never finds a length-0 entry for an access with a length, so a length-0
 *       ioeventfd on the MMIO bus only fires through the fast bus ("kvm: fix zero length mmio searching");</li>
 *   <li>a length-0 PIO ioeventfd is refused with EINVAL (allowed since e9ea5069, v4.4);</li>
 *   <li>the fast-bus condition is {@code !PIO}, so a length-0 VIRTIO_CCW_NOTIFY ioeventfd also lands on the fast
 *       MMIO bus, and deassign touches the fast bus for every length-0 entry (fixed by 8453fecb);</li>
 *   <li>one ioeventfd object is registered on two buses, so destroying the buses releases it twice (fixed by
 *       eefd6b06); unregister does not release the device, deassign does.</li>
 * </ul>
 * {@link #CURRENT} is upstream Linux 6.x: separate fast-bus twins, the fixed comparator, and an unregister that runs
 * the device's destructor (Wei Wang, 2023).
 * <p>
 * Thread safety: immutable; any thread.
 */
public enum KvmCompat
{
    /** Upstream Linux 6.x behaviour. */
    CURRENT,
    /** The 2014 fast-MMIO patches as first released in Linux 3.16, bugs included. */
    LINUX_3_16;

    /** @return true if a length-0 bus entry matches an access at its exact address whatever the access length. */
    boolean zeroLengthEntryMatchesExactAddress()
    {
        return this == CURRENT;
    }

    /** @return true if a length-0 PIO ioeventfd is refused with EINVAL (3.16 to 4.3). */
    boolean refusesZeroLengthPio()
    {
        return this == LINUX_3_16;
    }

    /** @return true if the fast-bus registration is a second, separate ioeventfd object (eefd6b06). */
    boolean separateFastTwin()
    {
        return this == CURRENT;
    }

    /** @return true if unregistering a device from a bus runs its destructor (since ~v6.5). */
    boolean unregisterRunsDestructor()
    {
        return this == CURRENT;
    }

    /**
     * The 2014 condition for also registering on the fast bus was {@code len == 0 && !(flags & PIO)}; 8453fecb made
     * it {@code len == 0 && bus_idx == KVM_MMIO_BUS}.
     *
     * @param bus the bus the ioeventfd's flags select.
     * @param len the ioeventfd's length.
     * @return true if the ioeventfd also belongs on {@link Bus#FAST_MMIO}.
     */
    boolean wantsFastBus(final Bus bus, final int len)
    {
        if (len != 0)
        {
            return false;
        }
        return this == CURRENT ? bus == Bus.MMIO : bus != Bus.PIO;
    }
}
