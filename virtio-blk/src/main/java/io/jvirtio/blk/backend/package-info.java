/**
 * Block backends: where a virtio-blk device's sectors live. {@link io.jvirtio.blk.backend.BlockBackend} is the SPI;
 * {@link io.jvirtio.blk.backend.MemoryBlockBackend} keeps the disk in a memory segment and
 * {@link io.jvirtio.blk.backend.FileBlockBackend} in a raw image file.
 */
package io.jvirtio.blk.backend;
