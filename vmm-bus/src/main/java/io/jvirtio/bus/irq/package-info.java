/**
 * The simulated interrupt controller that irqfds inject into: an IOAPIC with 24 GSI lines (edge or level), MSI
 * routes, and one local APIC per vCPU with pending (IRR) and in-service (ISR) vectors, acknowledge, EOI, and a wait
 * for a halted vCPU.
 */
package io.jvirtio.bus.irq;
