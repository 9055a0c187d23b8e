package io.jvirtio.net.backend;

import java.net.InetSocketAddress;

/**
 * The one place a net backend is chosen by name, for programs that let the user pick one ({@code --backend}):
 * <ul>
 *     <li>{@code echo}: every frame back as it was ({@link EchoBackend#plain()});</li>
 *     <li>{@code echo-swap}: every frame back with its MACs swapped, as a reflector on the wire answers;</li>
 *     <li>{@code responder[:IPV4[,MAC]]}: answers ARP and ICMP echo for one address ({@link ResponderBackend}),
 *     by default {@value #RESPONDER_IP} at {@value #RESPONDER_MAC}, so a guest's {@code ping} works;</li>
 *     <li>{@code udp:HOST:PORT}: frames as UDP datagrams to HOST:PORT, from a free port on 127.0.0.1
 *     ({@link UdpBackend}).</li>
 * </ul>
 * <p>
 * Thread safety: stateless; any thread.
 */
public final class NetBackendChoice
{
    /** The accepted forms, for help texts and messages. */
    public static final String NAMES = "echo, echo-swap, responder[:IPV4[,MAC]] or udp:HOST:PORT";
    /** The responder's address unless given: QEMU's user-network gateway, where guests look for a peer. */
    public static final String RESPONDER_IP = "10.0.2.2";
    /** The responder's MAC unless given: a locally administered unicast address. */
    public static final String RESPONDER_MAC = "52:54:00:12:34:02";

    private NetBackendChoice()
    {
    }

    /**
     * @param spec one of {@link #NAMES}.
     * @return a new backend; the caller starts, stops and (for udp) closes it.
     * @throws IllegalArgumentException for a name or address that does not parse, with a one-line message.
     */
    public static NetBackend parse(final String spec)
    {
        final int colon = spec.indexOf(':');
        final String name = colon < 0 ? spec : spec.substring(0, colon);
        final String argument = colon < 0 ? null : spec.substring(colon + 1);
        return switch (name)
        {
            case "echo" -> noArgument(spec, argument, EchoBackend.plain());
            case "echo-swap" -> noArgument(spec, argument, new EchoBackend(EchoBackend.DEFAULT_RING_BYTES, true));
            case "responder" -> responder(argument);
            case "udp" -> udp(spec, argument);
            default -> throw new IllegalArgumentException("net backend must be " + NAMES + ": backend=" + spec);
        };
    }

    private static NetBackend noArgument(final String spec, final String argument, final NetBackend backend)
    {
        if (argument != null)
        {
            throw new IllegalArgumentException("net backend takes no argument: backend=" + spec);
        }
        return backend;
    }

    private static NetBackend responder(final String argument)
    {
        if (argument == null)
        {
            return ResponderBackend.of(RESPONDER_IP, RESPONDER_MAC);
        }
        final int comma = argument.indexOf(',');
        return comma < 0 ? ResponderBackend.of(argument, RESPONDER_MAC)
            : ResponderBackend.of(argument.substring(0, comma), argument.substring(comma + 1));
    }

    private static NetBackend udp(final String spec, final String argument)
    {
        final int colon = argument == null ? -1 : argument.lastIndexOf(':');
        if (colon <= 0)
        {
            throw new IllegalArgumentException("udp backend needs HOST:PORT: backend=" + spec);
        }
        final int port;
        try
        {
            port = Integer.parseInt(argument.substring(colon + 1));
        }
        catch (final NumberFormatException e)
        {
            throw new IllegalArgumentException("udp backend port is not a number: backend=" + spec, e);
        }
        if (port < 1 || port > 65_535)
        {
            throw new IllegalArgumentException("udp backend port out of range: backend=" + spec);
        }
        return UdpBackend.loopback(new InetSocketAddress(argument.substring(0, colon), port));
    }
}
