package io.jvirtio.samples.guest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Runs a host command (apt-get, dpkg-deb, gcc) to completion with a failure timeout, its output and errors together.
 * <p>
 * Thread safety: stateless; any thread.
 */
final class HostCommand
{
    private HostCommand()
    {
    }

    /**
     * @param status the exit status, or -1 after the timeout.
     * @param output everything it printed.
     */
    record Result(int status, String output)
    {
        /** @return the last non-empty line printed, for a one-line reason. */
        String lastLine()
        {
            final String s = output.strip();
            final int nl = s.lastIndexOf('\n');
            return nl < 0 ? s : s.substring(nl + 1);
        }
    }

    static Result run(final Path dir, final long timeoutSeconds, final String... command)
        throws IOException, InterruptedException
    {
        final Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        process.getOutputStream().close();
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final Thread reader = Thread.ofVirtual().start(() ->
        {
            try (InputStream in = process.getInputStream())
            {
                in.transferTo(out);
            }
            catch (final IOException e)
            {
                // the process went away: what was read so far is kept
            }
        });
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS))
        {
            process.destroyForcibly();
            reader.join(TimeUnit.SECONDS.toMillis(5));
            return new Result(-1, "timed out: seconds=" + timeoutSeconds + " command=" + command[0]);
        }
        reader.join(TimeUnit.SECONDS.toMillis(5));
        return new Result(process.exitValue(), out.toString(StandardCharsets.UTF_8));
    }
}
