package io.jvirtio.virtio.vhostuser;

import io.jvirtio.bus.linux.Libc;
import io.jvirtio.bus.memory.GuestMemory;
import io.jvirtio.bus.memory.GuestMemoryException;
import io.jvirtio.bus.memory.GuestRegion;

import java.io.IOException;

/**
 * The guest memory a vhost-user front-end shared with SET_MEM_TABLE: each region's fd mapped at its guest-physical
 * address (a {@link GuestMemory} the devices use as they use any), and the table from front-end user addresses to
 * guest-physical ones, which ring addresses (SET_VRING_ADDR) go through (QEMU docs/interop/vhost-user.rst "Memory
 * region description": guest address, size, user address, mmap offset).
 * <p>
 * Thread safety: immutable once built; {@link #close()} by the connection thread after every worker stopped.
 */
public final class MemoryTable implements AutoCloseable
{
    private final GuestMemory memory;
    private final long[] guestAddrs;
    private final long[] sizes;
    private final long[] userAddrs;

    private MemoryTable(final GuestMemory memory, final long[] guestAddrs, final long[] sizes, final long[] userAddrs)
    {
        this.memory = memory;
        this.guestAddrs = guestAddrs;
        this.sizes = sizes;
        this.userAddrs = userAddrs;
    }

    /**
     * Maps every region. Each fd is adopted: on success the table owns them all, on failure every one is closed.
     *
     * @param guestAddrs  each region's guest-physical address.
     * @param sizes       each region's size.
     * @param userAddrs   each region's address in the front-end's address space.
     * @param mmapOffsets each region's offset in its fd.
     * @param fds         each region's fd.
     * @return the table.
     * @throws VhostUserException if a region is empty or wraps, does not map, or overlaps another.
     */
    public static MemoryTable map(
        final long[] guestAddrs,
        final long[] sizes,
        final long[] userAddrs,
        final long[] mmapOffsets,
        final int[] fds)
    {
        final int n = guestAddrs.length;
        final GuestRegion[] regions = new GuestRegion[n];
        int mapped = 0;
        try
        {
            // bound: at most MAX_REGIONS regions, checked by the caller
            for (; mapped < n; mapped++)
            {
                final int i = mapped;
                if (Long.compareUnsigned(userAddrs[i] + sizes[i] - 1, userAddrs[i]) < 0)
                {
                    throw new VhostUserException(VhostUserCounter.MEMORY_REGION_INVALID,
                        "memory region wraps in front-end address space: region=" + i + ", userAddr=0x"
                            + Long.toHexString(userAddrs[i]) + ", size=" + sizes[i]);
                }
                final int fd = fds[i];
                fds[i] = -1;
                regions[i] = GuestRegion.adopt(guestAddrs[i], sizes[i], fd, mmapOffsets[i]);
            }
            checkUserOverlap(userAddrs, sizes);
            final GuestMemory memory = GuestMemory.of(regions);
            return new MemoryTable(memory, guestAddrs.clone(), sizes.clone(), userAddrs.clone());
        }
        catch (final GuestMemoryException ex)
        {
            release(regions, fds);
            throw new VhostUserException(VhostUserCounter.MEMORY_REGION_INVALID,
                "memory region is empty or wraps: region=" + mapped + ", guestAddr=0x"
                    + Long.toHexString(guestAddrs[mapped]) + ", size=" + sizes[mapped]);
        }
        catch (final IOException ex)
        {
            release(regions, fds);
            throw new VhostUserException(VhostUserCounter.MEMORY_REGION_UNMAPPABLE,
                "memory region does not map: region=" + mapped + ", cause=" + ex.getMessage());
        }
        catch (final IllegalArgumentException ex)
        {
            release(regions, fds);
            throw new VhostUserException(VhostUserCounter.MEMORY_REGIONS_OVERLAP,
                "memory regions overlap in guest-physical space: regions=" + n);
        }
        catch (final VhostUserException ex)
        {
            release(regions, fds);
            throw ex;
        }
    }

    private static void checkUserOverlap(final long[] userAddrs, final long[] sizes)
    {
        // bound: at most MAX_REGIONS^2 / 2 comparisons
        for (int a = 0; a < userAddrs.length; a++)
        {
            for (int b = a + 1; b < userAddrs.length; b++)
            {
                if (Long.compareUnsigned(userAddrs[a], userAddrs[b] + sizes[b] - 1) <= 0
                    && Long.compareUnsigned(userAddrs[b], userAddrs[a] + sizes[a] - 1) <= 0)
                {
                    throw new VhostUserException(VhostUserCounter.MEMORY_REGIONS_OVERLAP,
                        "memory regions overlap in front-end address space: regionA=" + a + ", regionB=" + b);
                }
            }
        }
    }

    private static void release(final GuestRegion[] regions, final int[] fds)
    {
        // bound: at most MAX_REGIONS entries
        for (int i = 0; i < regions.length; i++)
        {
            if (regions[i] != null)
            {
                regions[i].close();
            }
            if (fds[i] >= 0)
            {
                Libc.close(fds[i]);
                fds[i] = -1;
            }
        }
    }

    /** @return guest RAM as the regions map it. */
    public GuestMemory memory()
    {
        return memory;
    }

    /** @return the number of regions. */
    public int regionCount()
    {
        return guestAddrs.length;
    }

    /**
     * Translates a front-end user address range to guest-physical.
     *
     * @param userAddr the front-end address of the first byte.
     * @param length   bytes, at least 1.
     * @return the guest-physical address, or -1 if no single region holds the whole range.
     */
    public long toGuestPhysical(final long userAddr, final long length)
    {
        // bound: one pass over at most MAX_REGIONS regions
        for (int i = 0; i < userAddrs.length; i++)
        {
            final long offset = userAddr - userAddrs[i];
            if (Long.compareUnsigned(offset, sizes[i]) < 0 && Long.compareUnsigned(length, sizes[i] - offset) <= 0)
            {
                return guestAddrs[i] + offset;
            }
        }
        return -1;
    }

    /** Unmaps every region and closes its fd. */
    @Override
    public void close()
    {
        memory.close();
    }
}
