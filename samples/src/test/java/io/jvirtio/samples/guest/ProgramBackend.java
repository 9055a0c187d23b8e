package io.jvirtio.samples.guest;

import io.jvirtio.samples.cli.Programs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code ./jvirtio vhost-user --socket PATH ARGS} as a child JVM on this test's classpath with the project's JVM
 * flags: the back-end the real-guest tests run against. It is ready once its socket exists.
 * <p>
 * Thread safety: as {@link GuestBackend}.
 */
final class ProgramBackend implements GuestBackend
{
    /** The program's name in {@link Programs}. */
    static final String PROGRAM = "vhost-user";
    private static final long READY_TIMEOUT_MILLIS = 60_000;
    private static final long POLL_MILLIS = 50;

    private final Path socket;
    private final Process process;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final Thread reader;

    private ProgramBackend(final Path socket, final Process process)
    {
        this.socket = socket;
        this.process = process;
        this.reader = Thread.ofVirtual().start(() ->
        {
            try (InputStream in = process.getInputStream())
            {
                in.transferTo(out);
            }
            catch (final IOException e)
            {
                // the back-end went away: what was read so far is kept
            }
        });
    }

    /**
     * Starts the program and waits (bounded) until it listens.
     *
     * @param socket where it is to listen.
     * @param args   the device and its options, e.g. {@code --device net --backend responder}.
     * @throws AssertionError with its output if it ends or does not listen within the failure timeout.
     */
    static ProgramBackend start(final Path socket, final String... args) throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmFlags());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.jvirtio.samples.Main", PROGRAM,
            "--socket", socket.toString()));
        command.addAll(List.of(args));
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().close();
        final ProgramBackend backend = new ProgramBackend(socket, process);
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(READY_TIMEOUT_MILLIS);
        // bound: the failure timeout
        while (!Files.exists(socket))
        {
            if (!process.isAlive() || System.nanoTime() > deadline)
            {
                backend.close();
                throw new AssertionError("vhost-user back-end did not listen: socket=" + socket + " alive="
                    + process.isAlive() + "\n" + backend.output());
            }
            Thread.sleep(POLL_MILLIS);
        }
        System.out.println("back-end: " + String.join(" ", command.subList(command.indexOf(PROGRAM) - 1,
            command.size())));
        return backend;
    }

    /** @return the JVM flags the project's programs run with (the same list the launcher reads). */
    private static List<String> jvmFlags() throws IOException
    {
        try (InputStream in = Programs.class.getResourceAsStream("/io/jvirtio/samples/jvm.flags"))
        {
            if (in == null)
            {
                return List.of();
            }
            final String flags = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
            return flags.isEmpty() ? List.of() : List.of(flags.split("\\s+"));
        }
    }

    @Override
    public Path socket()
    {
        return socket;
    }

    @Override
    public String output()
    {
        return "back-end output:\n" + out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws InterruptedException
    {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS))
        {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        reader.join(TimeUnit.SECONDS.toMillis(5));
        System.out.println(output());
    }
}
