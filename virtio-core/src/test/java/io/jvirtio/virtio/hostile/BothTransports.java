package io.jvirtio.virtio.hostile;

import io.jvirtio.virtio.machine.TransportKind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Runs a hostile-input test once on virtio-pci and once on virtio-mmio (wildcard notify, the fast-MMIO path): the
 * ring is the same on both, the register file and the notification path differ.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@ParameterizedTest(name = "{0}")
@EnumSource(value = TransportKind.class, names = {"PCI", "MMIO_WILDCARD"})
@interface BothTransports
{
}
