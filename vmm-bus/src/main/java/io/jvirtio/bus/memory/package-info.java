/**
 * Guest-physical memory: regions over {@code MemorySegment} (anonymous, memfd, file) and checked little-endian
 * accessors that name their memory order.
 */
package io.jvirtio.bus.memory;
