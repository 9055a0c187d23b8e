package io.jvirtio.samples.cli;

import io.jvirtio.bus.event.BackoffIdleStrategy;
import io.jvirtio.bus.event.BusySpinIdleStrategy;
import io.jvirtio.bus.event.IdleStrategy;
import io.jvirtio.bus.event.ParkingIdleStrategy;
import picocli.CommandLine;

/**
 * The {@code --idle} option the device samples share: how a device worker waits for a kick.
 * <p>
 * Thread safety: stateless; any thread.
 */
public final class IdleOption
{
    /** The accepted names, for help texts and messages. */
    public static final String NAMES = "spin, backoff or park";

    private IdleOption()
    {
    }

    /**
     * @param commandLine the command, for the usage error.
     * @param name        what the user typed.
     * @return the idle strategy (a new one for backoff, which keeps state per worker).
     * @throws CommandLine.ParameterException for an unknown name (a one-line usage error).
     */
    public static IdleStrategy parse(final CommandLine commandLine, final String name)
    {
        return switch (name)
        {
            case "spin" -> BusySpinIdleStrategy.INSTANCE;
            case "backoff" -> new BackoffIdleStrategy();
            case "park" -> ParkingIdleStrategy.INSTANCE;
            default -> throw new CommandLine.ParameterException(commandLine,
                "--idle must be " + NAMES + ", not '" + name + "'");
        };
    }
}
