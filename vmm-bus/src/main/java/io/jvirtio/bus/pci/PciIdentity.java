package io.jvirtio.bus.pci;

/**
 * The read-only identity of a PCI function, PCI Local Bus Specification 3.0 §6.2.1 "Device Identification".
 * <p>
 * Thread safety: immutable; any thread.
 *
 * @param vendorId          vendor ID, 16 bits (0xFFFF is invalid: it is what an absent function reads).
 * @param deviceId          device ID, 16 bits.
 * @param revisionId        revision ID, 8 bits.
 * @param classCode         class code, 24 bits: base class, sub-class, programming interface from high to low.
 * @param subsystemVendorId subsystem vendor ID, 16 bits.
 * @param subsystemId       subsystem ID, 16 bits.
 */
public record PciIdentity(int vendorId, int deviceId, int revisionId, int classCode, int subsystemVendorId,
    int subsystemId)
{
    public PciIdentity
    {
        if (vendorId < 0 || vendorId >= 0xFFFF || (deviceId & ~0xFFFF) != 0 || (revisionId & ~0xFF) != 0
            || (classCode & ~0xFF_FFFF) != 0 || (subsystemVendorId & ~0xFFFF) != 0 || (subsystemId & ~0xFFFF) != 0)
        {
            throw new IllegalArgumentException("pci identity field out of range: vendorId=0x"
                + Integer.toHexString(vendorId) + ", deviceId=0x" + Integer.toHexString(deviceId) + ", revisionId="
                + revisionId + ", classCode=0x" + Integer.toHexString(classCode));
        }
    }
}
