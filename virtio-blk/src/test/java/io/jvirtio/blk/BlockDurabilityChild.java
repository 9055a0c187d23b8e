package io.jvirtio.blk;

import io.jvirtio.blk.backend.FileBlockBackend;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The process {@link BlockDurabilityTest} kills: it writes {@code blocks} 4 KiB blocks of a known pattern through a
 * virtio-blk device to a file image, sends FLUSH, prints {@value #FLUSHED} once FLUSH completed with status OK, then
 * keeps writing unflushed blocks after them until it is killed (or, as a failure bound, for {@link #LIFETIME_SECONDS}).
 * <p>
 * Thread safety: a program; its main thread plays the guest.
 */
final class BlockDurabilityChild
{
    static final String FLUSHED = "flushed";
    static final int BLOCK = 4096;
    private static final long GOLDEN = 0x9E37_79B9_7F4A_7C15L;
    /** An orphan that was never killed ends itself after this long. */
    private static final long LIFETIME_SECONDS = 60;

    private BlockDurabilityChild()
    {
    }

    /** The word at {@code index} of block {@code block}. */
    static long pattern(final long block, final int index)
    {
        return (block + 1) * GOLDEN ^ index;
    }

    /**
     * @param args the image (2 * blocks * 4 KiB, existing), and the number of blocks to make durable.
     * @throws IOException if the image cannot be opened.
     */
    public static void main(final String[] args) throws IOException
    {
        final Path image = Path.of(args[0]);
        final int blocks = Integer.parseInt(args[1]);
        try (FileBlockBackend disk = FileBlockBackend.open(image, false, "durable");
            BlockDeviceFixture f = new BlockDeviceFixture(disk, BlockDeviceConfig.defaults()))
        {
            for (int b = 0; b < blocks; b++)
            {
                write(f, b);
            }
            final int status = f.run(VirtioBlk.VIRTIO_BLK_T_FLUSH, 0, 0, 0);
            if (status != VirtioBlk.VIRTIO_BLK_S_OK)
            {
                throw new IllegalStateException("flush failed: status=" + status);
            }
            System.out.println(FLUSHED + " " + blocks);
            System.out.flush();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LIFETIME_SECONDS);
            // bound: the parent kills this process; the deadline ends an orphan
            for (long i = 0; System.nanoTime() - deadline < 0; i++)
            {
                write(f, blocks + (int)(i % blocks));
            }
        }
        System.exit(2);
    }

    private static void write(final BlockDeviceFixture f, final long block)
    {
        final long gpa = BlockDeviceFixture.data(0);
        for (int w = 0; w < BLOCK / Long.BYTES; w++)
        {
            f.memory.putLongLE(gpa + (long)w * Long.BYTES, pattern(block, w));
        }
        final int status = f.run(VirtioBlk.VIRTIO_BLK_T_OUT, block * (BLOCK / VirtioBlk.SECTOR_SIZE), gpa, BLOCK);
        if (status != VirtioBlk.VIRTIO_BLK_S_OK)
        {
            throw new IllegalStateException("write failed: block=" + block + ", status=" + status);
        }
    }
}
