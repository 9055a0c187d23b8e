package io.jvirtio.samples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's embedding example is compiled and run as it stands in the README, so it cannot rot: the Java block
 * between the {@code example:start} and {@code example:end} markers.
 */
class ReadmeExampleTest
{
    @Test
    void shouldCompileAndRunTheReadmeEmbeddingExample(@TempDir final Path dir) throws Exception
    {
        final String readme = Files.readString(Path.of("..", "README.md"));
        final int start = readme.indexOf("```java", readme.indexOf("<!-- example:start -->"));
        final int end = readme.indexOf("```", start + 7);
        assertTrue(start > 0 && end > start, "the README has a marked java example");
        final Path source = dir.resolve("EmbeddingExample.java");
        Files.writeString(source, readme.substring(start + "```java".length(), end));

        final String classPath = System.getProperty("surefire.test.class.path",
            System.getProperty("java.class.path"));
        final JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        final ByteArrayOutputStream errors = new ByteArrayOutputStream();
        final int status = javac.run(null, null, errors, "-d", dir.toString(), "-cp", classPath, source.toString());
        assertEquals(0, status, "the README example compiles: " + errors.toString(StandardCharsets.UTF_8));

        final ByteArrayOutputStream printed = new ByteArrayOutputStream();
        final PrintStream original = System.out;
        try (URLClassLoader loader = new URLClassLoader(new URL[]{dir.toUri().toURL()},
            getClass().getClassLoader()))
        {
            System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
            final Method main = loader.loadClass("EmbeddingExample").getMethod("main", String[].class);
            main.invoke(null, (Object)new String[0]);
        }
        finally
        {
            System.setOut(original);
        }
        final String output = printed.toString(StandardCharsets.UTF_8);
        assertTrue(output.contains("echoed 64 bytes, equal: true"), output);
        assertTrue(output.contains("FAST_MMIO"), "the exit statistics table follows: " + output);
    }
}
