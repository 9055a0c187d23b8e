package io.jvirtio.samples.cli;

import io.jvirtio.virtio.machine.TransportKind;
import picocli.CommandLine;

/**
 * The {@code --transport} option the device samples share: its names and what they mean.
 * <p>
 * Thread safety: stateless; any thread.
 */
public final class TransportOption
{
    /** The accepted names, for help texts and messages. */
    public static final String NAMES = "pci, mmio or mmio-datamatch";

    private TransportOption()
    {
    }

    /**
     * @param commandLine the command, for the usage error.
     * @param name        what the user typed.
     * @return the transport.
     * @throws CommandLine.ParameterException for an unknown name (a one-line usage error).
     */
    public static TransportKind parse(final CommandLine commandLine, final String name)
    {
        return switch (name)
        {
            case "pci" -> TransportKind.PCI;
            case "mmio" -> TransportKind.MMIO_WILDCARD;
            case "mmio-datamatch" -> TransportKind.MMIO_DATAMATCH;
            default -> throw new CommandLine.ParameterException(commandLine,
                "--transport must be " + NAMES + ", not '" + name + "'");
        };
    }
}
