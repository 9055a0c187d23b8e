package io.jvirtio.virtio.transport.pci;

import io.jvirtio.bus.pci.PciCapabilityHook;
import io.jvirtio.bus.pci.PciFunction;

/**
 * The VIRTIO_PCI_CAP_PCI_CFG access window, virtio-v1.2 §4.1.4.8 "PCI configuration access capability": the driver
 * writes cap.bar, cap.length and cap.offset, then reads or writes pci_cfg_data, and the device performs that access on
 * the BAR. A hostile driver can write anything there, so each access is validated first (checklist 3.8): bar must be
 * the structure BAR, length 1, 2 or 4, offset aligned to length and {@code offset + length} inside the BAR. A bad
 * window is a no-op for a write and reads all ones, counted as {@link VirtioPciCounter#PCI_CFG_ACCESS_INVALID}.
 * <p>
 * Thread safety: called under the PCI function's lock on vCPU threads.
 */
final class PciCfgWindow implements PciCapabilityHook
{
    private final VirtioPciTransport transport;

    PciCfgWindow(final VirtioPciTransport transport)
    {
        this.transport = transport;
    }

    private static boolean touchesData(final int offset, final int size)
    {
        return offset + size > VirtioPciCapLayout.PCI_CFG_DATA;
    }

    /** @return the validated access length, or 0 if the window is bad. */
    private int windowLength(final PciFunction function, final int cap)
    {
        final int bar = (int)function.config(cap + VirtioPciCapLayout.BAR, 1);
        final long length = function.config(cap + VirtioPciCapLayout.LENGTH, 4);
        final long offset = function.config(cap + VirtioPciCapLayout.OFFSET, 4);
        if (bar != VirtioPciTransport.STRUCTURE_BAR || (length != 1 && length != 2 && length != 4)
            || (offset & (length - 1)) != 0 || offset + length > VirtioPciTransport.STRUCTURE_BAR_SIZE)
        {
            transport.increment(VirtioPciCounter.PCI_CFG_ACCESS_INVALID);
            return 0;
        }
        return (int)length;
    }

    @Override
    public void beforeRead(final PciFunction function, final int offset, final int size)
    {
        if (!touchesData(offset, size))
        {
            return;
        }
        final int cap = transport.pciCfgCapOffset();
        final int length = windowLength(function, cap);
        final long value = length == 0 ? 0xFFFF_FFFFL
            : transport.readStructure(function.config(cap + VirtioPciCapLayout.OFFSET, 4), length);
        function.putConfig(cap + VirtioPciCapLayout.PCI_CFG_DATA, 4, value);
    }

    @Override
    public void afterWrite(final PciFunction function, final int offset, final int size)
    {
        if (!touchesData(offset, size))
        {
            return;
        }
        final int cap = transport.pciCfgCapOffset();
        final int length = windowLength(function, cap);
        if (length != 0)
        {
            transport.writeStructure(function.config(cap + VirtioPciCapLayout.OFFSET, 4), length,
                function.config(cap + VirtioPciCapLayout.PCI_CFG_DATA, length));
        }
    }
}
