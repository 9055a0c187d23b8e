package io.jvirtio.bus.stats;

import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;

import java.nio.file.Path;

/**
 * The one place jvirtio builds a Chronicle Queue (the exit trace here, frame captures in virtio-net), so that
 * Chronicle's usage analytics and its start-up banner are switched off before any Chronicle class initialises.
 * <p>
 * This class's static initializer sets {@code chronicle.analytics.disable} and {@code chronicle.announcer.disable}
 * to {@code true} unconditionally, so a program that embeds jvirtio without the launcher's JVM flags still sends
 * nothing anywhere: jvirtio never phones home.
 * <p>
 * Thread safety: thread-safe (stateless).
 */
public final class ChronicleQueues
{
    /** Switches off Chronicle's analytics and banner before its classes initialise; see the class comment. */
    static
    {
        System.setProperty("chronicle.analytics.disable", "true");
        System.setProperty("chronicle.announcer.disable", "true");
    }

    private ChronicleQueues()
    {
    }

    /**
     * Opens a binary single-file-per-cycle queue.
     *
     * @param directory where the queue's files are (created by Chronicle when writable).
     * @param readOnly  open for tailing only; nothing is created.
     * @return the open queue; the caller closes it.
     */
    public static ChronicleQueue open(final Path directory, final boolean readOnly)
    {
        return SingleChronicleQueueBuilder.binary(directory).readOnly(readOnly).build();
    }
}
