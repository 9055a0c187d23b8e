/**
 * The guest side of the exit path: what a guest kernel's compiler and boot code would leave in guest memory. The
 * {@link io.jvirtio.bus.guest.InstructionEncoder} writes the real bytes of MMIO and port I/O instructions at RIP and
 * sets their operand registers; the {@link io.jvirtio.bus.guest.PageTableBuilder} lays out 4-level page tables
 * (identity and direct maps with 4 KiB, 2 MiB and 1 GiB pages) and gives the CR3 value.
 */
package io.jvirtio.bus.guest;
