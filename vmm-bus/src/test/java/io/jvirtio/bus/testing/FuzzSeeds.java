package io.jvirtio.bus.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checked-in seed inputs of a fuzz target, in Jazzer's regression layout
 * ({@code src/test/resources/<package>/<Class>Inputs/<method>/<name>}), kept equal to the generator that states
 * them as {@link FuzzInput} calls. {@link #check} asserts that every generated seed is checked in unchanged; with
 * {@code -Djvirtio.fuzz.writeSeeds=true} it writes them instead (run the target's seed test once that way to
 * regenerate). Other files there, such as crash inputs kept as regressions, are left alone.
 * <p>
 * Thread safety: static and stateless; JUnit's thread calls it from the module's directory.
 */
public final class FuzzSeeds
{
    /** The system property that makes {@link #check} write the seeds. */
    public static final String WRITE_PROPERTY = "jvirtio.fuzz.writeSeeds";

    private FuzzSeeds()
    {
    }

    /**
     * @param target the fuzz test class.
     * @param method its {@code @FuzzTest} method's name.
     * @param seeds  file name to input.
     */
    public static void check(final Class<?> target, final String method, final Map<String, byte[]> seeds)
    {
        final Path dir = Path.of("src", "test", "resources", target.getPackageName().replace('.', '/'),
            target.getSimpleName() + "Inputs", method);
        final boolean write = Boolean.getBoolean(WRITE_PROPERTY);
        for (final Map.Entry<String, byte[]> seed : seeds.entrySet())
        {
            final Path file = dir.resolve(seed.getKey());
            try
            {
                if (write)
                {
                    Files.createDirectories(dir);
                    Files.write(file, seed.getValue());
                }
                assertTrue(Files.isRegularFile(file), "seed checked in: " + file);
                assertArrayEquals(seed.getValue(), Files.readAllBytes(file), "seed up to date: " + file);
            }
            catch (final IOException e)
            {
                throw new UncheckedIOException("could not access the seed: file=" + file, e);
            }
        }
    }
}
