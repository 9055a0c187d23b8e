/**
 * Exit statistics, in the spirit of {@code kvm_stat} and {@code perf kvm stat}: per-vCPU counters and latency
 * histograms by exit reason ({@link io.jvirtio.bus.stats.ExitReason}) and by the path that handled the exit
 * ({@link io.jvirtio.bus.stats.ExitPath}), recorded on the vCPU thread without locks or allocation
 * ({@link io.jvirtio.bus.stats.ExitRecorder}, {@link io.jvirtio.bus.stats.VcpuExitStats}), summed VM-wide and sampled
 * live ({@link io.jvirtio.bus.stats.ExitStats}, {@link io.jvirtio.bus.stats.ExitStatsSnapshot}), printed
 * ({@link io.jvirtio.bus.stats.ExitStatsTable}), and optionally traced exit by exit to a Chronicle Queue and read back
 * ({@link io.jvirtio.bus.stats.ExitTrace}, {@link io.jvirtio.bus.stats.ExitTraceReader}).
 */
package io.jvirtio.bus.stats;
