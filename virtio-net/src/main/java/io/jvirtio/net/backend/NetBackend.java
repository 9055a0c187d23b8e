package io.jvirtio.net.backend;

import java.lang.foreign.MemorySegment;

/**
 * Moves Ethernet frames between a virtio-net device's queue pairs and something outside the guest (an echo, a UDP
 * socket, a capture file). Frames travel as <em>packets</em>: a 12-byte {@code virtio_net_hdr}
 * ({@link io.jvirtio.net.NetHeaderLayout}) at offset 0 of a buffer, the frame right after it at offset
 * {@link #FRAME_OFFSET}. The header is metadata carried alongside (checksum and GSO hints); the device neither
 * segments nor checksums.
 * <p>
 * Nothing is allocated per frame: on TX the device hands the backend a view of its own staging buffer for the duration
 * of the call; on RX the device hands the backend its staging buffer and the backend copies the next frame into it.
 * <p>
 * Lifecycle: {@link #start} at DRIVER_OK, then {@link #transmit} and {@link #receive} on the pairs' worker threads,
 * then {@link #stop} at device reset, after every worker has stopped; start and stop may repeat.
 * <p>
 * Thread safety: {@link #start} and {@link #stop} on the device's control thread; {@link #transmit} and
 * {@link #receive} for pair {@code p} only on that pair's worker thread (one thread per pair, and the same thread for
 * TX and RX of a pair). Calls for different pairs may run at the same time. Neither may block, allocate per frame, or
 * throw for frame contents.
 */
public interface NetBackend
{
    /** {@link #receive} result when no frame is waiting. */
    int NO_FRAME = -1;
    /** Where the frame starts in a packet buffer: right after the 12-byte header. */
    int FRAME_OFFSET = 12;

    /**
     * The device is starting: frames may flow on {@code queuePairs} pairs.
     *
     * @param queuePairs the number of pairs, 1..64.
     * @param wakeup     how the backend tells a pair's worker that frames are waiting (for backends whose frames
     *                   arrive on another thread); signalling it is cheap, lock-free and allocation-free.
     */
    void start(int queuePairs, RxWakeup wakeup);

    /**
     * A frame the guest sent on pair {@code pair}. The buffer is valid only during the call: copy what must outlive
     * it. A backend that cannot take the frame (full, unreachable) drops it and counts the drop itself.
     *
     * @param pair        the queue pair.
     * @param packet      header at 0, frame at {@link #FRAME_OFFSET}.
     * @param frameLength the frame's length in bytes.
     */
    void transmit(int pair, MemorySegment packet, int frameLength);

    /**
     * Takes the next frame for pair {@code pair}, if any, and copies it into {@code packet}: header at 0 (the device
     * fixes {@code num_buffers} and the fields the driver did not negotiate), frame at {@link #FRAME_OFFSET}. A frame
     * longer than {@code packet.byteSize() - FRAME_OFFSET} is dropped by the backend, which counts it.
     *
     * @param pair   the queue pair.
     * @param packet the device's staging buffer.
     * @return the frame's length, or {@link #NO_FRAME}.
     */
    int receive(int pair, MemorySegment packet);

    /** The device was reset: drop whatever is queued for the guest. Frames may flow again after the next start. */
    void stop();

    /**
     * Lets a backend wake a pair's worker when a frame for that pair becomes available on another thread.
     * <p>
     * Thread safety: any thread; never blocks or allocates.
     */
    @FunctionalInterface
    interface RxWakeup
    {
        /** @param pair the queue pair that has frames waiting. */
        void framesAvailable(int pair);
    }
}
