package io.jvirtio.samples.soak;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM to kill, started the way virtio-blk's BlockDurabilityTest starts its writer: this JVM's java, its JVM
 * arguments and class path, and a main class; the parent reads the child's lines until the one it waits for, then
 * sends SIGKILL ({@link Process#destroyForcibly()} on Linux) and expects exit status 137 (128 + 9).
 * <p>
 * Thread safety: one thread drives one child.
 */
public final class ChildJvm implements AutoCloseable
{
    /** The exit status of a process killed by SIGKILL, as a shell reports it. */
    public static final int KILLED = 137;

    private final Process process;
    private final BufferedReader lines;
    private final StringBuilder output = new StringBuilder();

    private ChildJvm(final Process process)
    {
        this.process = process;
        this.lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /** Starts {@code mainClass} with {@code args} in a child JVM, its stderr merged into its stdout. */
    public static ChildJvm start(final Class<?> mainClass, final String... args) throws IOException
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.add("-cp");
        command.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        command.add(mainClass.getName());
        command.addAll(List.of(args));
        return new ChildJvm(new ProcessBuilder(command).redirectErrorStream(true).start());
    }

    /**
     * Reads the child's lines until one starts with {@code prefix}.
     *
     * @return that line.
     * @throws IOException if the child ended first (with what it printed).
     */
    public String awaitLine(final String prefix) throws IOException, InterruptedException
    {
        String line;
        // bound: the child prints a bounded number of lines before this one, or ends (its lifetime is bounded)
        while ((line = lines.readLine()) != null)
        {
            if (line.startsWith(prefix))
            {
                return line;
            }
            output.append(line).append('\n');
        }
        throw new IOException("child ended before printing the line: prefix=" + prefix + ", exit="
            + process.waitFor() + ", output=" + output);
    }

    /**
     * Sends SIGKILL and waits for the child to end (a failure bound of 30 s).
     *
     * @return its exit status: {@link #KILLED} if the signal ended it.
     */
    public int kill() throws InterruptedException
    {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS))
        {
            throw new IllegalStateException("child did not end after SIGKILL: pid=" + process.pid());
        }
        return process.exitValue();
    }

    /** @return what the child printed that was not a line waited for. */
    public String output()
    {
        return output.toString();
    }

    /** Kills the child if it still runs. */
    @Override
    public void close() throws IOException
    {
        process.destroyForcibly();
        lines.close();
    }
}
