package io.jvirtio.blk.backend;

import java.io.IOException;

/**
 * A backend could not be opened or used as configured: the image is locked by another writer, its size does not
 * match, or a write reached a read-only backend.
 * <p>
 * Thread safety: immutable once thrown.
 */
public class BlockBackendException extends IOException
{
    private static final long serialVersionUID = 1L;

    /** @param message lower-case, what went wrong, then key=value pairs. */
    public BlockBackendException(final String message)
    {
        super(message);
    }
}
