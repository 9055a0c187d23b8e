package io.jvirtio.samples;

import io.jvirtio.samples.cli.Programs;

/**
 * Entry point of {@code ./jvirtio}: runs one program from {@link Programs} by name.
 * <p>
 * Thread safety: called once, on the main thread.
 */
public final class Main
{
    private Main()
    {
    }

    public static void main(final String[] args)
    {
        System.exit(Programs.run(args, System.out, System.err));
    }
}
