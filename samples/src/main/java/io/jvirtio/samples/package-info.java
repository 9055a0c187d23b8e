/**
 * Runnable programs: the vmexit matrix, the echo and block samples, and the throughput tests; {@link
 * io.jvirtio.samples.Main} runs them by name.
 */
package io.jvirtio.samples;
