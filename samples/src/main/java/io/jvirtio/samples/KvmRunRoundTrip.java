package io.jvirtio.samples;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The floor of one {@code KVM_RUN} round trip to userspace: a minimal C program that opens {@code /dev/kvm}, makes a
 * VM ({@code KVM_CREATE_VM}, RAM from {@code mmap} as {@code KVM_SET_USER_MEMORY_REGION} slot 0,
 * {@code KVM_CREATE_VCPU}, {@code kvm_run} mapped from the vCPU fd), puts the vCPU in real mode and runs the same
 * guest bytes as {@link KvmExitRow}'s PIO row: {@code out dx, al} in a {@code loop}, then {@code hlt}. Each store is
 * one {@code KVM_EXIT_IO}; the program counts them until {@code KVM_EXIT_HLT}, times the loop with
 * {@code clock_gettime(CLOCK_MONOTONIC)} and prints {@code exits=<n> ns_per_exit=<x>} (api.rst section 4.10,
 * "KVM_RUN", and section 5, "KVM_EXIT_IO").
 * <p>
 * The source is written from here into a temporary directory at run time, compiled with the machine's {@code cc} (or
 * {@code gcc}) and run; the directory is deleted afterwards.
 * <p>
 * Thread safety: one thread; each call is independent.
 */
final class KvmRunRoundTrip implements AutoCloseable
{
    /** How long the compiler or one run of the program may take before it counts as failed. */
    private static final long PROCESS_TIMEOUT_SECONDS = 120;

    private final Path directory;
    private final Path binary;

    private KvmRunRoundTrip(final Path directory, final Path binary)
    {
        this.directory = directory;
        this.binary = binary;
    }

    /**
     * Writes and compiles the harness for {@code guest}.
     *
     * @param guest the guest code, loaded at {@link KvmExitRow#ENTRY}; registers AL = value, CX = stores per pass,
     *              DX = port.
     * @param port  the port the guest writes, with no ioeventfd.
     * @return the compiled harness.
     * @throws IOException if there is no C compiler or it fails; the message says which, in one line.
     */
    static KvmRunRoundTrip compile(final byte[] guest, final int port) throws IOException
    {
        final Path dir = Files.createTempDirectory("jvirtio-kvm-run");
        try
        {
            final Path source = dir.resolve("kvm_run_loop.c");
            Files.writeString(source, source(guest, port), StandardCharsets.UTF_8);
            final Path binary = dir.resolve("kvm_run_loop");
            IOException missing = null;
            for (final String compiler : List.of("cc", "gcc"))
            {
                final Result result;
                try
                {
                    result = exec(List.of(compiler, "-O2", "-o", binary.toString(), source.toString()));
                }
                catch (final IOException e)
                {
                    missing = e;
                    continue;
                }
                if (result.status != 0)
                {
                    throw new IOException("c compiler failed: compiler=" + compiler + ", status=" + result.status
                        + ", output=" + firstLine(result.output));
                }
                return new KvmRunRoundTrip(dir, binary);
            }
            throw new IOException("no c compiler (cc or gcc) on the path: cause=" + firstLine(
                missing == null ? "" : String.valueOf(missing.getMessage())));
        }
        catch (final IOException | RuntimeException e)
        {
            delete(dir);
            throw e;
        }
    }

    /**
     * Runs the harness once.
     *
     * @param stores how many {@code out} stores the guest makes.
     * @return nanoseconds per {@code KVM_EXIT_IO}.
     * @throws IOException if the program fails, exits a different number of times, or prints no figure.
     */
    double run(final int stores) throws IOException
    {
        final Result result = exec(List.of(binary.toString(), Integer.toString(stores)));
        final String line = firstLine(result.output);
        if (result.status != 0)
        {
            throw new IOException("kvm run harness failed: status=" + result.status + ", output=" + line);
        }
        long exits = -1;
        double nanos = Double.NaN;
        // bound: the program prints two fields on one line
        for (final String field : line.split(" "))
        {
            if (field.startsWith("exits="))
            {
                exits = Long.parseLong(field.substring("exits=".length()));
            }
            else if (field.startsWith("ns_per_exit="))
            {
                nanos = Double.parseDouble(field.substring("ns_per_exit=".length()));
            }
        }
        if (exits != stores || Double.isNaN(nanos))
        {
            throw new IOException("kvm run harness printed an unexpected result: stores=" + stores + ", output="
                + line);
        }
        return nanos;
    }

    private record Result(int status, String output)
    {
    }

    private static Result exec(final List<String> command) throws IOException
    {
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try
        {
            final byte[] output = process.getInputStream().readAllBytes();
            if (!process.waitFor(PROCESS_TIMEOUT_SECONDS, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
                throw new IOException("process did not finish: command=" + command.getFirst());
            }
            return new Result(process.exitValue(), new String(output, StandardCharsets.UTF_8));
        }
        catch (final InterruptedException e)
        {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting: command=" + command.getFirst(), e);
        }
    }

    private static String firstLine(final String text)
    {
        final String stripped = text.strip();
        final int newline = stripped.indexOf('\n');
        return newline < 0 ? stripped : stripped.substring(0, newline);
    }

    /** @return the C source: the guest bytes and port are filled in, everything else is fixed. */
    static String source(final byte[] guest, final int port)
    {
        final List<String> bytes = new ArrayList<>();
        for (final byte b : guest)
        {
            bytes.add(String.format(Locale.ROOT, "0x%02x", b & 0xFF));
        }
        return String.join("\n",
            "#include <fcntl.h>",
            "#include <linux/kvm.h>",
            "#include <stdio.h>",
            "#include <stdlib.h>",
            "#include <string.h>",
            "#include <sys/ioctl.h>",
            "#include <sys/mman.h>",
            "#include <time.h>",
            "#include <unistd.h>",
            "",
            "#define MEM_SIZE (4UL << 20)",
            "#define ENTRY 0x" + Long.toHexString(KvmExitRow.ENTRY),
            "#define PORT 0x" + Integer.toHexString(port),
            "#define MAX_PASS " + KvmExitRow.MAX_PASS,
            "",
            "static const unsigned char guest[] = {" + String.join(", ", bytes) + "};",
            "",
            "static int fail(const char *what)",
            "{",
            "    perror(what);",
            "    return 1;",
            "}",
            "",
            "static void flat(struct kvm_segment *s)",
            "{",
            "    s->base = 0;",
            "    s->selector = 0;",
            "}",
            "",
            "int main(int argc, char **argv)",
            "{",
            "    long stores = argc > 1 ? atol(argv[1]) : 0;",
            "    if (stores < 1) {",
            "        fprintf(stderr, \"usage: kvm_run_loop stores\\n\");",
            "        return 2;",
            "    }",
            "    int kvm = open(\"/dev/kvm\", O_RDWR | O_CLOEXEC);",
            "    if (kvm < 0) return fail(\"open /dev/kvm\");",
            "    int vm = ioctl(kvm, KVM_CREATE_VM, 0);",
            "    if (vm < 0) return fail(\"KVM_CREATE_VM\");",
            "    unsigned char *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,",
            "                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);",
            "    if (mem == MAP_FAILED) return fail(\"mmap\");",
            "    memcpy(mem + ENTRY, guest, sizeof(guest));",
            "    struct kvm_userspace_memory_region region = {",
            "        .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE, .userspace_addr = (unsigned long)mem};",
            "    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) return fail(\"KVM_SET_USER_MEMORY_REGION\");",
            "    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);",
            "    if (vcpu < 0) return fail(\"KVM_CREATE_VCPU\");",
            "    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);",
            "    if (run_size < 0) return fail(\"KVM_GET_VCPU_MMAP_SIZE\");",
            "    struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);",
            "    if (run == MAP_FAILED) return fail(\"mmap kvm_run\");",
            "    struct kvm_sregs sregs;",
            "    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) return fail(\"KVM_GET_SREGS\");",
            "    flat(&sregs.cs); flat(&sregs.ds); flat(&sregs.es);",
            "    flat(&sregs.fs); flat(&sregs.gs); flat(&sregs.ss);",
            "    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) return fail(\"KVM_SET_SREGS\");",
            "    long exits = 0;",
            "    long left = stores;",
            "    struct timespec start, end;",
            "    clock_gettime(CLOCK_MONOTONIC, &start);",
            "    while (left > 0) {",
            "        long pass = left < MAX_PASS ? left : MAX_PASS;",
            "        struct kvm_regs regs;",
            "        memset(&regs, 0, sizeof(regs));",
            "        regs.rip = ENTRY; regs.rflags = 2;",
            "        regs.rax = 0x" + Integer.toHexString(VmExitMatrix.DATA) + "; regs.rcx = pass; regs.rdx = PORT;",
            "        if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) return fail(\"KVM_SET_REGS\");",
            "        for (long n = 0; n <= pass + 16; n++) {",
            "            if (ioctl(vcpu, KVM_RUN, 0) < 0) return fail(\"KVM_RUN\");",
            "            if (run->exit_reason == KVM_EXIT_IO) {",
            "                exits++;",
            "            } else if (run->exit_reason == KVM_EXIT_HLT) {",
            "                break;",
            "            } else if (run->exit_reason != KVM_EXIT_INTR) {",
            "                fprintf(stderr, \"unexpected exit: reason=%u\\n\", run->exit_reason);",
            "                return 1;",
            "            }",
            "        }",
            "        left -= pass;",
            "    }",
            "    clock_gettime(CLOCK_MONOTONIC, &end);",
            "    double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);",
            "    printf(\"exits=%ld ns_per_exit=%.1f\\n\", exits, ns / stores);",
            "    return 0;",
            "}",
            "");
    }

    private static void delete(final Path dir)
    {
        try (Stream<Path> paths = Files.walk(dir))
        {
            // bound: the directory holds the source and the binary
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList())
            {
                Files.deleteIfExists(path);
            }
        }
        catch (final IOException e)
        {
            // a temporary directory left behind is harmless; the measurement already has its result
            return;
        }
    }

    /** Deletes the temporary directory with the source and the binary. */
    @Override
    public void close()
    {
        delete(directory);
    }
}
