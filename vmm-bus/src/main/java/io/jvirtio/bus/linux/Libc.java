package io.jvirtio.bus.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few Linux system calls jvirtio needs, bound through the FFM API ({@code java.lang.foreign}).
 * <p>
 * Every call returns what the kernel returns, in the kernel's convention: a non-negative result, or {@code -errno}
 * on failure. Nothing here throws for a failed system call and nothing allocates on the Java heap per call: errno is
 * captured into a per-thread segment, so these methods can sit on a data path (an eventfd signal, a worker's read).
 * Callers turn a negative result into their own typed error.
 * <p>
 * Thread safety: every method may be called from any thread.
 */
public final class Libc
{
    public static final int EFD_SEMAPHORE = 1;
    public static final int EFD_CLOEXEC = 0x80000;
    public static final int EFD_NONBLOCK = 0x800;
    public static final int MFD_CLOEXEC = 1;
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 1;
    public static final int MAP_PRIVATE = 2;
    public static final int O_RDONLY = 0;
    public static final int O_RDWR = 2;
    public static final int O_CLOEXEC = 0x80000;
    public static final int EPOLL_CLOEXEC = 0x80000;
    public static final int EPOLL_CTL_ADD = 1;
    public static final int EPOLL_CTL_DEL = 2;
    public static final int EPOLL_CTL_MOD = 3;
    public static final int EPOLLIN = 1;
    public static final int POLLIN = 1;
    public static final int POLLOUT = 4;
    /** socket(2) domain of Unix-domain sockets (include/linux/socket.h). */
    public static final int AF_UNIX = 1;
    /** socket(2) type: a reliable byte stream. */
    public static final int SOCK_STREAM = 1;
    /** socket(2) type flag: close on exec. */
    public static final int SOCK_CLOEXEC = 0x80000;
    /** {@code cmsg_level} of socket-level control messages. */
    public static final int SOL_SOCKET = 1;
    /** {@code cmsg_type} that carries file descriptors (unix(7)). */
    public static final int SCM_RIGHTS = 1;
    /** recvmsg(2) result flag: control data was discarded for lack of room (excess fds are closed by the kernel). */
    public static final int MSG_CTRUNC = 8;
    /** sendmsg(2) flag: a closed peer gives EPIPE, not SIGPIPE. */
    public static final int MSG_NOSIGNAL = 0x4000;
    /** recvmsg(2) flag: received file descriptors are close-on-exec. */
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;
    /** shutdown(2): no more receptions or transmissions; wakes a thread blocked in accept or recvmsg. */
    public static final int SHUT_RDWR = 2;
    /** {@code struct sockaddr_un}: u16 family, then 108 bytes of path (unix(7)). */
    public static final long SOCKADDR_UN_SIZE = 110;
    /** The longest {@code sun_path}, with its terminating NUL. */
    public static final int SUN_PATH_MAX = 108;
    /** {@code struct stat} on x86-64: 144 bytes, {@code st_size} (a signed 64-bit count) at offset 48. */
    public static final long STAT_SIZE = 144;
    public static final long STAT_ST_SIZE_OFFSET = 48;
    /** ioctl(2) request that sets or clears O_NONBLOCK on an open file; the argument points to an int. */
    public static final long FIONBIO = 0x5421;

    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EIO = 5;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int ENOSYS = 38;
    public static final int EOPNOTSUPP = 95;
    public static final int EPIPE = 32;
    public static final int ECONNRESET = 104;

    /** {@code struct epoll_event} is packed on x86-64: a u32 event mask followed by a u64 of user data. */
    public static final long EPOLL_EVENT_SIZE = 12;

    private static final boolean AVAILABLE;
    private static final MethodHandle EVENTFD;
    private static final MethodHandle READ;
    private static final MethodHandle WRITE;
    private static final MethodHandle CLOSE;
    private static final MethodHandle MEMFD_CREATE;
    private static final MethodHandle FTRUNCATE;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final MethodHandle EPOLL_CREATE1;
    private static final MethodHandle EPOLL_CTL;
    private static final MethodHandle EPOLL_WAIT;
    private static final MethodHandle POLL;
    private static final MethodHandle IOCTL;
    private static final MethodHandle OPEN;
    private static final MethodHandle DUP;
    private static final MethodHandle PREAD;
    private static final MethodHandle PWRITE;
    private static final MethodHandle FSYNC;
    private static final MethodHandle FDATASYNC;
    private static final MethodHandle SOCKET;
    private static final MethodHandle SOCKETPAIR;
    private static final MethodHandle BIND;
    private static final MethodHandle LISTEN;
    private static final MethodHandle ACCEPT4;
    private static final MethodHandle CONNECT;
    private static final MethodHandle SENDMSG;
    private static final MethodHandle RECVMSG;
    private static final MethodHandle SHUTDOWN;
    private static final MethodHandle UNLINK;
    private static final MethodHandle FSTAT;
    private static final VarHandle ERRNO;
    private static final long CAPTURE_SIZE;
    private static final ThreadLocal<MemorySegment> CAPTURE;
    private static final MemorySegment MAP_FAILED = MemorySegment.ofAddress(-1L);

    static
    {
        final boolean linux = System.getProperty("os.name", "").startsWith("Linux");
        MethodHandle eventfd = null;
        MethodHandle read = null;
        MethodHandle write = null;
        MethodHandle close = null;
        MethodHandle memfd = null;
        MethodHandle ftruncate = null;
        MethodHandle mmap = null;
        MethodHandle munmap = null;
        MethodHandle epollCreate = null;
        MethodHandle epollCtl = null;
        MethodHandle epollWait = null;
        MethodHandle poll = null;
        MethodHandle ioctl = null;
        MethodHandle open = null;
        MethodHandle dup = null;
        MethodHandle pread = null;
        MethodHandle pwrite = null;
        MethodHandle fsync = null;
        MethodHandle fdatasync = null;
        MethodHandle socket = null;
        MethodHandle socketpair = null;
        MethodHandle bind = null;
        MethodHandle listen = null;
        MethodHandle accept4 = null;
        MethodHandle connect = null;
        MethodHandle sendmsg = null;
        MethodHandle recvmsg = null;
        MethodHandle shutdown = null;
        MethodHandle unlink = null;
        MethodHandle fstat = null;
        VarHandle errno = null;
        long captureSize = 0;
        boolean available = false;
        if (linux)
        {
            try
            {
                final Linker linker = Linker.nativeLinker();
                final SymbolLookup libc = linker.defaultLookup();
                final Linker.Option ccs = Linker.Option.captureCallState("errno");
                final MemoryLayout captureLayout = Linker.Option.captureStateLayout();
                errno = captureLayout.varHandle(MemoryLayout.PathElement.groupElement("errno"));
                captureSize = captureLayout.byteSize();
                eventfd = downcall(linker, libc, "eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), ccs);
                read = downcall(linker, libc, "read",
                    FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), ccs);
                write = downcall(linker, libc, "write",
                    FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), ccs);
                close = downcall(linker, libc, "close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), ccs);
                memfd = downcall(linker, libc, "memfd_create",
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), ccs);
                ftruncate = downcall(linker, libc, "ftruncate",
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG), ccs);
                mmap = downcall(linker, libc, "mmap", FunctionDescriptor.of(
                    ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG), ccs);
                munmap = downcall(linker, libc, "munmap",
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), ccs);
                epollCreate = downcall(linker, libc, "epoll_create1",
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT), ccs);
                epollCtl = downcall(linker, libc, "epoll_ctl",
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), ccs);
                epollWait = downcall(linker, libc, "epoll_wait",
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), ccs);
                poll = downcall(linker, libc, "poll",
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), ccs);
                ioctl = downcall(linker, libc, "ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
                    ccs, Linker.Option.firstVariadicArg(2));
                open = downcall(linker, libc, "open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
                    ccs, Linker.Option.firstVariadicArg(2));
                dup = downcall(linker, libc, "dup", FunctionDescriptor.of(JAVA_INT, JAVA_INT), ccs);
                // the buffer is a raw host address (JAVA_LONG), so a caller that already checked its range passes it
                // without making a MemorySegment per call
                pread = downcall(linker, libc, "pread",
                    FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG), ccs);
                pwrite = downcall(linker, libc, "pwrite",
                    FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG), ccs);
                fsync = downcall(linker, libc, "fsync", FunctionDescriptor.of(JAVA_INT, JAVA_INT), ccs);
                fdatasync = downcall(linker, libc, "fdatasync", FunctionDescriptor.of(JAVA_INT, JAVA_INT), ccs);
                socket = downcall(linker, libc, "socket",
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), ccs);
                socketpair = downcall(linker, libc, "socketpair",
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), ccs);
                bind = downcall(linker, libc, "bind",
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), ccs);
                listen = downcall(linker, libc, "listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), ccs);
                accept4 = downcall(linker, libc, "accept4",
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT), ccs);
                connect = downcall(linker, libc, "connect",
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), ccs);
                sendmsg = downcall(linker, libc, "sendmsg",
                    FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), ccs);
                recvmsg = downcall(linker, libc, "recvmsg",
                    FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), ccs);
                shutdown = downcall(linker, libc, "shutdown", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), ccs);
                unlink = downcall(linker, libc, "unlink", FunctionDescriptor.of(JAVA_INT, ADDRESS), ccs);
                fstat = downcall(linker, libc, "fstat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), ccs);
                available = true;
            }
            catch (final RuntimeException | LinkageError ex)
            {
                available = false;
            }
        }
        AVAILABLE = available;
        EVENTFD = eventfd;
        READ = read;
        WRITE = write;
        CLOSE = close;
        MEMFD_CREATE = memfd;
        FTRUNCATE = ftruncate;
        MMAP = mmap;
        MUNMAP = munmap;
        EPOLL_CREATE1 = epollCreate;
        EPOLL_CTL = epollCtl;
        EPOLL_WAIT = epollWait;
        POLL = poll;
        IOCTL = ioctl;
        OPEN = open;
        DUP = dup;
        PREAD = pread;
        PWRITE = pwrite;
        FSYNC = fsync;
        FDATASYNC = fdatasync;
        SOCKET = socket;
        SOCKETPAIR = socketpair;
        BIND = bind;
        LISTEN = listen;
        ACCEPT4 = accept4;
        CONNECT = connect;
        SENDMSG = sendmsg;
        RECVMSG = recvmsg;
        SHUTDOWN = shutdown;
        UNLINK = unlink;
        FSTAT = fstat;
        ERRNO = errno;
        CAPTURE_SIZE = captureSize;
        CAPTURE = ThreadLocal.withInitial(() -> Arena.global().allocate(CAPTURE_SIZE, 8));
    }

    private Libc()
    {
    }

    private static MethodHandle downcall(
        final Linker linker,
        final SymbolLookup libc,
        final String name,
        final FunctionDescriptor descriptor,
        final Linker.Option... options)
    {
        return linker.downcallHandle(libc.find(name).orElseThrow(), descriptor, options);
    }

    /**
     * @return true when this is Linux and the bindings linked; every other method requires it.
     */
    public static boolean isAvailable()
    {
        return AVAILABLE;
    }

    /**
     * @return a one-line reason why {@link #isAvailable()} is false, for a test's skip message.
     */
    public static String unavailableReason()
    {
        return AVAILABLE ? "available" : "Linux system calls are unavailable on " + System.getProperty("os.name");
    }

    private static void requireAvailable()
    {
        if (!AVAILABLE)
        {
            throw new UnsupportedOperationException(unavailableReason());
        }
    }

    private static int errno(final MemorySegment capture)
    {
        return (int)ERRNO.get(capture, 0L);
    }

    private static int result(final int ret, final MemorySegment capture)
    {
        return ret < 0 ? -errno(capture) : ret;
    }

    private static long result(final long ret, final MemorySegment capture)
    {
        return ret < 0 ? -errno(capture) : ret;
    }

    private static RuntimeException rethrow(final Throwable t)
    {
        if (t instanceof RuntimeException re)
        {
            return re;
        }
        if (t instanceof Error e)
        {
            throw e;
        }
        return new IllegalStateException("native call failed: " + t, t);
    }

    /** eventfd(2): the new fd, or -errno. */
    public static int eventfd(final int initval, final int flags)
    {
        requireAvailable();
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)EVENTFD.invokeExact(capture, initval, flags), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** read(2) into native memory: bytes read, or -errno. */
    public static long read(final int fd, final MemorySegment buffer, final long count)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((long)READ.invokeExact(capture, fd, buffer, count), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** write(2) from native memory: bytes written, or -errno. */
    public static long write(final int fd, final MemorySegment buffer, final long count)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((long)WRITE.invokeExact(capture, fd, buffer, count), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** close(2): 0 or -errno. */
    public static int close(final int fd)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)CLOSE.invokeExact(capture, fd), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** dup(2): the new fd, or -errno. */
    public static int dup(final int fd)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)DUP.invokeExact(capture, fd), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** memfd_create(2): the new fd, or -errno. */
    public static int memfdCreate(final String name, final int flags)
    {
        requireAvailable();
        final MemorySegment capture = CAPTURE.get();
        try (Arena arena = Arena.ofConfined())
        {
            return result((int)MEMFD_CREATE.invokeExact(capture, arena.allocateFrom(name), flags), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** open(2): the new fd, or -errno. */
    public static int open(final String path, final int flags, final int mode)
    {
        requireAvailable();
        final MemorySegment capture = CAPTURE.get();
        try (Arena arena = Arena.ofConfined())
        {
            return result((int)OPEN.invokeExact(capture, arena.allocateFrom(path), flags, mode), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** ftruncate(2): 0 or -errno. */
    public static int ftruncate(final int fd, final long length)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)FTRUNCATE.invokeExact(capture, fd, length), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * mmap(2) of {@code length} bytes of {@code fd} at {@code offset}.
     *
     * @return the mapping, sized to {@code length}; or a zero-length segment whose address is {@code -errno}.
     */
    public static MemorySegment mmap(
        final long length, final int prot, final int flags, final int fd, final long offset)
    {
        requireAvailable();
        final MemorySegment capture = CAPTURE.get();
        try
        {
            final MemorySegment addr = (MemorySegment)MMAP.invokeExact(
                capture, MemorySegment.NULL, length, prot, flags, fd, offset);
            if (addr.address() == MAP_FAILED.address())
            {
                return MemorySegment.ofAddress(-errno(capture));
            }
            return addr.reinterpret(length);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** munmap(2): 0 or -errno. */
    public static int munmap(final MemorySegment mapping)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)MUNMAP.invokeExact(capture, mapping, mapping.byteSize()), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** epoll_create1(2): the new fd, or -errno. */
    public static int epollCreate1(final int flags)
    {
        requireAvailable();
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)EPOLL_CREATE1.invokeExact(capture, flags), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * epoll_ctl(2) with one {@code struct epoll_event} held in {@code event} ({@link #EPOLL_EVENT_SIZE} bytes).
     *
     * @return 0 or -errno.
     */
    public static int epollCtl(final int epfd, final int op, final int fd, final MemorySegment event)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)EPOLL_CTL.invokeExact(capture, epfd, op, fd, event), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** epoll_wait(2): the number of events written to {@code events}, or -errno. */
    public static int epollWait(final int epfd, final MemorySegment events, final int maxEvents, final int timeoutMs)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)EPOLL_WAIT.invokeExact(capture, epfd, events, maxEvents, timeoutMs), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** poll(2) over {@code nfds} {@code struct pollfd} entries (8 bytes each): ready count, or -errno. */
    public static int poll(final MemorySegment fds, final long nfds, final int timeoutMs)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)POLL.invokeExact(capture, fds, nfds, timeoutMs), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** ioctl(2) with an integer or pointer argument: the result, or -errno. */
    public static int ioctl(final int fd, final long request, final long arg)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)IOCTL.invokeExact(capture, fd, request, arg), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * pread(2) into native memory at a raw host address the caller has range-checked: bytes read (0 at end of file),
     * or -errno. A short read is not an error; the caller loops.
     */
    public static long pread(final int fd, final long address, final long count, final long offset)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((long)PREAD.invokeExact(capture, fd, address, count, offset), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * pwrite(2) from native memory at a raw host address the caller has range-checked: bytes written, or -errno. A
     * short write is not an error; the caller loops.
     */
    public static long pwrite(final int fd, final long address, final long count, final long offset)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((long)PWRITE.invokeExact(capture, fd, address, count, offset), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** fsync(2): 0 once the file's data and metadata are on stable storage, or -errno. */
    public static int fsync(final int fd)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)FSYNC.invokeExact(capture, fd), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * fdatasync(2): 0 once the file's data, and the metadata needed to read it back (its size, its block map), are on
     * stable storage, or -errno.
     */
    public static int fdatasync(final int fd)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)FDATASYNC.invokeExact(capture, fd), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** socket(2): the new fd, or -errno. */
    public static int socket(final int domain, final int type, final int protocol)
    {
        requireAvailable();
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)SOCKET.invokeExact(capture, domain, type, protocol), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** socketpair(2) into {@code fds} (two ints): 0 or -errno. */
    public static int socketpair(final int domain, final int type, final int protocol, final MemorySegment fds)
    {
        requireAvailable();
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)SOCKETPAIR.invokeExact(capture, domain, type, protocol, fds), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** bind(2) to the socket address in {@code address} ({@code length} bytes): 0 or -errno. */
    public static int bind(final int fd, final MemorySegment address, final int length)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)BIND.invokeExact(capture, fd, address, length), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** listen(2): 0 or -errno. */
    public static int listen(final int fd, final int backlog)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)LISTEN.invokeExact(capture, fd, backlog), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** accept4(2) without the peer's address: the new fd, or -errno. */
    public static int accept4(final int fd, final int flags)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)ACCEPT4.invokeExact(capture, fd, MemorySegment.NULL, MemorySegment.NULL, flags),
                capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** connect(2) to the socket address in {@code address} ({@code length} bytes): 0 or -errno. */
    public static int connect(final int fd, final MemorySegment address, final int length)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)CONNECT.invokeExact(capture, fd, address, length), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** sendmsg(2) of the {@code struct msghdr} in {@code message}: bytes sent, or -errno. */
    public static long sendmsg(final int fd, final MemorySegment message, final int flags)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((long)SENDMSG.invokeExact(capture, fd, message, flags), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** recvmsg(2) into the {@code struct msghdr} in {@code message}: bytes received (0 at end), or -errno. */
    public static long recvmsg(final int fd, final MemorySegment message, final int flags)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((long)RECVMSG.invokeExact(capture, fd, message, flags), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** shutdown(2): 0 or -errno. */
    public static int shutdown(final int fd, final int how)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)SHUTDOWN.invokeExact(capture, fd, how), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** unlink(2): 0 or -errno. */
    public static int unlink(final String path)
    {
        requireAvailable();
        final MemorySegment capture = CAPTURE.get();
        try (Arena arena = Arena.ofConfined())
        {
            return result((int)UNLINK.invokeExact(capture, arena.allocateFrom(path)), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** fstat(2) into {@code stat} ({@link #STAT_SIZE} bytes): 0 or -errno. */
    public static int fstat(final int fd, final MemorySegment stat)
    {
        final MemorySegment capture = CAPTURE.get();
        try
        {
            return result((int)FSTAT.invokeExact(capture, fd, stat), capture);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }
}
