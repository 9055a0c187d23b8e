/**
 * What the soak programs share: the seeded value mixer their patterns come from, the per-pair sequence tracker of the
 * echo soak, the per-sector shadow of the block soak and its guest, and the child JVM the kill test kills.
 */
package io.jvirtio.samples.soak;
