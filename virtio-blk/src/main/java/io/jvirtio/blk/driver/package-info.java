/**
 * The guest side of virtio-blk, transport-neutral: {@link io.jvirtio.blk.driver.BlockDriver} builds requests in guest
 * RAM, posts them on a split queue and reaps their status.
 */
package io.jvirtio.blk.driver;
