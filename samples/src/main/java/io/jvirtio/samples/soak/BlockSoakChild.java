package io.jvirtio.samples.soak;

import io.jvirtio.blk.VirtioBlk;
import io.jvirtio.blk.backend.FileBlockBackend;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The process the block soak's kill test kills (see {@link KillCheck}): it serves a virtio-blk device on the image and
 * plays its guest, writes K requests over the first half, FLUSH, prints {@value KillCheck#FLUSHED}K, then writes over
 * the second half printing {@value KillCheck#ACKED}M every {@value #ACK_EVERY} writes until it is killed (or, as a
 * failure bound, for {@value #LIFETIME_SECONDS} s).
 * <p>
 * Thread safety: a program; its main thread plays the guest.
 */
public final class BlockSoakChild
{
    /** Writes after the FLUSH between two {@value KillCheck#ACKED} lines. */
    static final int ACK_EVERY = 512;
    /** An orphan that was never killed ends itself after this long. */
    private static final long LIFETIME_SECONDS = 120;

    private BlockSoakChild()
    {
    }

    /**
     * @param args the image (existing, empty), the seed, and K.
     * @throws Exception if the image cannot be opened or a request fails (the parent sees the child end early).
     */
    public static void main(final String[] args) throws Exception
    {
        final Path image = Path.of(args[0]);
        final long seed = Long.parseLong(args[1]);
        final long flushed = Long.parseLong(args[2]);
        try (FileBlockBackend disk = FileBlockBackend.open(image, false, "soak-kill");
            BlockSoakGuest guest = new BlockSoakGuest(disk))
        {
            final KillCheck kill = new KillCheck(seed, disk.capacity(), flushed);
            final BlockSoakGuest.Completion ok = BlockSoakChild::mustSucceed;
            write(guest, kill.first(), 0, flushed, 1, ok);
            final int status = guest.flush(ok);
            if (status != VirtioBlk.VIRTIO_BLK_S_OK)
            {
                throw new IOException("flush failed: status=" + status);
            }
            System.out.println(KillCheck.FLUSHED + flushed);
            System.out.flush();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LIFETIME_SECONDS);
            // bound: the parent kills this process; the deadline ends an orphan
            for (long done = 0; System.nanoTime() - deadline < 0; done += ACK_EVERY)
            {
                write(guest, kill.second(), done, ACK_EVERY, flushed + 1 + done, ok);
                guest.drain(ok);
                System.out.println(KillCheck.ACKED + (done + ACK_EVERY));
                System.out.flush();
            }
        }
        System.exit(2);
    }

    private static void mustSucceed(final boolean write, final long sector, final int sectors, final long id,
        final int status, final MemorySegment data)
    {
        if (status != VirtioBlk.VIRTIO_BLK_S_OK)
        {
            throw new IllegalStateException("write failed: sector=" + sector + ", id=" + id + ", status=" + status);
        }
    }

    /** Writes requests {@code from} to {@code from + count - 1} of {@code mix}, the first with id {@code firstId}. */
    private static void write(final BlockSoakGuest guest, final RequestMix mix, final long from, final long count,
        final long firstId, final BlockSoakGuest.Completion ok) throws InterruptedException
    {
        for (long i = from; i < from + count; i++)
        {
            final long sector = mix.sector(i);
            final int sectors = mix.count(i);
            // bound: each round completes something or halts until the device does; at most 32 are in flight
            while (guest.inFlight() >= mix.depth(i) || guest.overlapsInFlight(sector, sectors))
            {
                guest.publish();
                guest.complete(ok);
            }
            guest.submit(true, sector, sectors, firstId + (i - from));
        }
        guest.publish();
    }
}
