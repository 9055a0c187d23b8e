package io.jvirtio.net.capture;

/**
 * One frame read back from a capture, copied out of the queue (reading is offline, so it may allocate).
 * <p>
 * Thread safety: immutable once built; the arrays are the reader's copies and not shared.
 *
 * @param direction which way it went.
 * @param pair      the queue pair.
 * @param timeNanos when it was recorded, nanoseconds since the Unix epoch.
 * @param header    the 12-byte virtio_net_hdr, or an empty array when headers were not captured.
 * @param frame     the Ethernet frame.
 */
public record CapturedFrame(CaptureDirection direction, int pair, long timeNanos, byte[] header, byte[] frame)
{
}
