/**
 * Frame capture and replay for virtio-net backends: {@link io.jvirtio.net.capture.CapturingBackend} records every
 * frame a device moves into a Chronicle Queue, {@link io.jvirtio.net.capture.ReplayBackend} feeds a capture's TX
 * frames back to a guest as RX traffic, and {@link io.jvirtio.net.capture.PcapExport} turns a capture into a
 * classic pcap file for Wireshark and tshark ({@link io.jvirtio.net.capture.PcapReader} reads one back).
 * <p>
 * Capturing an echo device, then exporting what it saw:
 * {@snippet :
 * try (CapturingBackend capture = CapturingBackend.open(EchoBackend.plain(), dir, true))
 * {
 *     NetDevice device = new NetDevice(NetConfig.defaults(), capture, ParkingIdleStrategy.INSTANCE);
 *     // activate, run traffic, reset
 * }
 * PcapExport.export(dir, pcapFile, EnumSet.allOf(CaptureDirection.class));
 * }
 */
package io.jvirtio.net.capture;
