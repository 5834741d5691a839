/*
 * trace_syscalls.c: owns the blocking system calls the tracer sees: read,
 * write, recv, send, accept, connect, poll, select, epoll_wait, the sleeps
 * and waits, interposed. With tracing off each is one load and a call to
 * the real function. With it on, the call is timed, and one that lasted
 * long enough to have blocked (about 5 us) becomes one event carrying its
 * duration: a read that returns at once is not worth the bytes.
 *
 * glibc calls some of these internally without the PLT (fread's read, for
 * one): those are not seen. errno is kept as the real call left it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"
#include "threads.h"
#include "trace.h"

/* The real function, looked up on first use. */
static void *next(void **slot, const char *name)
{
    void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (!f) {
        f = dlsym(RTLD_NEXT, name);
        __atomic_store_n(slot, f, __ATOMIC_RELEASE);
    }
    return f;
}

/* After the real call: one event if it blocked; errno untouched. */
static void done(long nr, uint64_t began)
{
    int saved = errno;
    /* cprof's own threads (the tracer's writer, the endpoint) are not the
     * program's story. */
    if (cprof__trace_slow_syscall(began) && !cprof__threads_is_internal())
        cprof__trace_syscall(nr, began);
    errno = saved;
}

CPROF_API ssize_t read(int fd, void *buf, size_t n)
{
    static void *real;
    ssize_t (*f)(int fd, void *buf, size_t n) =
        (ssize_t(*)(int fd, void *buf, size_t n))next(&real, "read");
    if (!cprof__trace_on())
        return f(fd, buf, n);
    uint64_t began = cprof__trace_ticks();
    ssize_t r = f(fd, buf, n);
    done(SYS_read, began);
    return r;
}

CPROF_API ssize_t write(int fd, const void *buf, size_t n)
{
    static void *real;
    ssize_t (*f)(int fd, const void *buf, size_t n) =
        (ssize_t(*)(int fd, const void *buf, size_t n))next(&real, "write");
    if (!cprof__trace_on())
        return f(fd, buf, n);
    uint64_t began = cprof__trace_ticks();
    ssize_t r = f(fd, buf, n);
    done(SYS_write, began);
    return r;
}

CPROF_API ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    static void *real;
    ssize_t (*f)(int fd, void *buf, size_t n, off_t off) =
        (ssize_t(*)(int fd, void *buf, size_t n, off_t off))next(&real, "pread");
    if (!cprof__trace_on())
        return f(fd, buf, n, off);
    uint64_t began = cprof__trace_ticks();
    ssize_t r = f(fd, buf, n, off);
    done(SYS_pread64, began);
    return r;
}

CPROF_API ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    static void *real;
    ssize_t (*f)(int fd, const void *buf, size_t n, off_t off) =
        (ssize_t(*)(int fd, const void *buf, size_t n, off_t off))next(&real, "pwrite");
    if (!cprof__trace_on())
        return f(fd, buf, n, off);
    uint64_t began = cprof__trace_ticks();
    ssize_t r = f(fd, buf, n, off);
    done(SYS_pwrite64, began);
    return r;
}

CPROF_API ssize_t readv(int fd, const struct iovec *iov, int n)
{
    static void *real;
    ssize_t (*f)(int fd, const struct iovec *iov, int n) =
        (ssize_t(*)(int fd, const struct iovec *iov, int n))next(&real, "readv");
    if (!cprof__trace_on())
        return f(fd, iov, n);
    uint64_t began = cprof__trace_ticks();
    ssize_t r = f(fd, iov, n);
    done(SYS_readv, began);
    return r;
}

CPROF_API ssize_t writev(int fd, const struct iovec *iov, int n)
{
    static void *real;
    ssize_t (*f)(int fd, const struct iovec *iov, int n) =
        (ssize_t(*)(int fd, const struct iovec *iov, int n))next(&real, "writev");
    if (!cprof__trace_on())
        return f(fd, iov, n);
    uint64_t began = cprof__trace_ticks();
    ssize_t r = f(fd, iov, n);
    done(SYS_writev, began);
    return r;
}

CPROF_API ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    static void *real;
    ssize_t (*f)(int fd, void *buf, size_t n, int flags) =
        (ssize_t(*)(int fd, void *buf, size_t n, int flags))next(&real, "recv");
    if (!cprof__trace_on())
        return f(fd, buf, n, flags);
    uint64_t began = cprof__trace_ticks();
    ssize_t r = f(fd, buf, n, flags);
    done(SYS_recvfrom, began);
    return r;
}

CPROF_API ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
                           socklen_t *len)
{
    static void *real;
    ssize_t (*f)(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *len) =
        (ssize_t(*)(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
                    socklen_t *len))next(&real, "recvfrom");
    if (!cprof__trace_on())
        return f(fd, buf, n, flags, addr, len);
    uint64_t began = cprof__trace_ticks();
    ssize_t r = f(fd, buf, n, flags, addr, len);
    done(SYS_recvfrom, began);
    return r;
}

CPROF_API ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    static void *real;
    ssize_t (*f)(int fd, struct msghdr *msg, int flags) =
        (ssize_t(*)(int fd, struct msghdr *msg, int flags))next(&real, "recvmsg");
    if (!cprof__trace_on())
        return f(fd, msg, flags);
    uint64_t began = cprof__trace_ticks();
    ssize_t r = f(fd, msg, flags);
    done(SYS_recvmsg, began);
    return r;
}

CPROF_API ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    static void *real;
    ssize_t (*f)(int fd, const void *buf, size_t n, int flags) =
        (ssize_t(*)(int fd, const void *buf, size_t n, int flags))next(&real, "send");
    if (!cprof__trace_on())
        return f(fd, buf, n, flags);
    uint64_t began = cprof__trace_ticks();
    ssize_t r = f(fd, buf, n, flags);
    done(SYS_sendto, began);
    return r;
}

CPROF_API ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
                         socklen_t len)
{
    static void *real;
    ssize_t (*f)(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
                 socklen_t len) =
        (ssize_t(*)(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
                    socklen_t len))next(&real, "sendto");
    if (!cprof__trace_on())
        return f(fd, buf, n, flags, addr, len);
    uint64_t began = cprof__trace_ticks();
    ssize_t r = f(fd, buf, n, flags, addr, len);
    done(SYS_sendto, began);
    return r;
}

CPROF_API ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    static void *real;
    ssize_t (*f)(int fd, const struct msghdr *msg, int flags) =
        (ssize_t(*)(int fd, const struct msghdr *msg, int flags))next(&real, "sendmsg");
    if (!cprof__trace_on())
        return f(fd, msg, flags);
    uint64_t began = cprof__trace_ticks();
    ssize_t r = f(fd, msg, flags);
    done(SYS_sendmsg, began);
    return r;
}

CPROF_API int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    static void *real;
    int (*f)(int fd, struct sockaddr *addr, socklen_t *len) =
        (int (*)(int fd, struct sockaddr *addr, socklen_t *len))next(&real, "accept");
    if (!cprof__trace_on())
        return f(fd, addr, len);
    uint64_t began = cprof__trace_ticks();
    int r = f(fd, addr, len);
    done(SYS_accept, began);
    return r;
}

CPROF_API int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    static void *real;
    int (*f)(int fd, struct sockaddr *addr, socklen_t *len, int flags) =
        (int (*)(int fd, struct sockaddr *addr, socklen_t *len, int flags))next(&real, "accept4");
    if (!cprof__trace_on())
        return f(fd, addr, len, flags);
    uint64_t began = cprof__trace_ticks();
    int r = f(fd, addr, len, flags);
    done(SYS_accept4, began);
    return r;
}

CPROF_API int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    static void *real;
    int (*f)(int fd, const struct sockaddr *addr, socklen_t len) =
        (int (*)(int fd, const struct sockaddr *addr, socklen_t len))next(&real, "connect");
    if (!cprof__trace_on())
        return f(fd, addr, len);
    uint64_t began = cprof__trace_ticks();
    int r = f(fd, addr, len);
    done(SYS_connect, began);
    return r;
}

CPROF_API int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    static void *real;
    int (*f)(struct pollfd * fds, nfds_t n, int timeout) =
        (int (*)(struct pollfd * fds, nfds_t n, int timeout)) next(&real, "poll");
    if (!cprof__trace_on())
        return f(fds, n, timeout);
    uint64_t began = cprof__trace_ticks();
    int r = f(fds, n, timeout);
    done(SYS_poll, began);
    return r;
}

CPROF_API int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *mask)
{
    static void *real;
    int (*f)(struct pollfd * fds, nfds_t n, const struct timespec *t, const sigset_t *mask) =
        (int (*)(struct pollfd * fds, nfds_t n, const struct timespec *t, const sigset_t *mask))
            next(&real, "ppoll");
    if (!cprof__trace_on())
        return f(fds, n, t, mask);
    uint64_t began = cprof__trace_ticks();
    int r = f(fds, n, t, mask);
    done(SYS_ppoll, began);
    return r;
}

CPROF_API int select(int n, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *t)
{
    static void *real;
    int (*f)(int n, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *t) =
        (int (*)(int n, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *t))next(&real,
                                                                                    "select");
    if (!cprof__trace_on())
        return f(n, rd, wr, ex, t);
    uint64_t began = cprof__trace_ticks();
    int r = f(n, rd, wr, ex, t);
    done(SYS_select, began);
    return r;
}

CPROF_API int pselect(int n, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *t,
                      const sigset_t *mask)
{
    static void *real;
    int (*f)(int n, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *t,
             const sigset_t *mask) =
        (int (*)(int n, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *t,
                 const sigset_t *mask))next(&real, "pselect");
    if (!cprof__trace_on())
        return f(n, rd, wr, ex, t, mask);
    uint64_t began = cprof__trace_ticks();
    int r = f(n, rd, wr, ex, t, mask);
    done(SYS_pselect6, began);
    return r;
}

CPROF_API int epoll_wait(int fd, struct epoll_event *ev, int n, int timeout)
{
    static void *real;
    int (*f)(int fd, struct epoll_event *ev, int n, int timeout) =
        (int (*)(int fd, struct epoll_event *ev, int n, int timeout))next(&real, "epoll_wait");
    if (!cprof__trace_on())
        return f(fd, ev, n, timeout);
    uint64_t began = cprof__trace_ticks();
    int r = f(fd, ev, n, timeout);
    done(SYS_epoll_wait, began);
    return r;
}

CPROF_API int epoll_pwait(int fd, struct epoll_event *ev, int n, int timeout, const sigset_t *mask)
{
    static void *real;
    int (*f)(int fd, struct epoll_event *ev, int n, int timeout, const sigset_t *mask) =
        (int (*)(int fd, struct epoll_event *ev, int n, int timeout, const sigset_t *mask))next(
            &real, "epoll_pwait");
    if (!cprof__trace_on())
        return f(fd, ev, n, timeout, mask);
    uint64_t began = cprof__trace_ticks();
    int r = f(fd, ev, n, timeout, mask);
    done(SYS_epoll_pwait, began);
    return r;
}

CPROF_API int nanosleep(const struct timespec *req, struct timespec *rem)
{
    static void *real;
    int (*f)(const struct timespec *req, struct timespec *rem) =
        (int (*)(const struct timespec *req, struct timespec *rem))next(&real, "nanosleep");
    if (!cprof__trace_on())
        return f(req, rem);
    uint64_t began = cprof__trace_ticks();
    int r = f(req, rem);
    done(SYS_nanosleep, began);
    return r;
}

CPROF_API int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
                              struct timespec *rem)
{
    static void *real;
    int (*f)(clockid_t clock, int flags, const struct timespec *req, struct timespec *rem) =
        (int (*)(clockid_t clock, int flags, const struct timespec *req, struct timespec *rem))next(
            &real, "clock_nanosleep");
    if (!cprof__trace_on())
        return f(clock, flags, req, rem);
    uint64_t began = cprof__trace_ticks();
    int r = f(clock, flags, req, rem);
    done(SYS_clock_nanosleep, began);
    return r;
}

CPROF_API int usleep(useconds_t us)
{
    static void *real;
    int (*f)(useconds_t us) = (int (*)(useconds_t us))next(&real, "usleep");
    if (!cprof__trace_on())
        return f(us);
    uint64_t began = cprof__trace_ticks();
    int r = f(us);
    done(SYS_nanosleep, began);
    return r;
}

CPROF_API unsigned sleep(unsigned s)
{
    static void *real;
    unsigned (*f)(unsigned s) = (unsigned (*)(unsigned s))next(&real, "sleep");
    if (!cprof__trace_on())
        return f(s);
    uint64_t began = cprof__trace_ticks();
    unsigned r = f(s);
    done(SYS_nanosleep, began);
    return r;
}

CPROF_API pid_t waitpid(pid_t pid, int *status, int options)
{
    static void *real;
    pid_t (*f)(pid_t pid, int *status, int options) =
        (pid_t(*)(pid_t pid, int *status, int options))next(&real, "waitpid");
    if (!cprof__trace_on())
        return f(pid, status, options);
    uint64_t began = cprof__trace_ticks();
    pid_t r = f(pid, status, options);
    done(SYS_wait4, began);
    return r;
}

CPROF_API pid_t wait(int *status)
{
    static void *real;
    pid_t (*f)(int *status) = (pid_t(*)(int *status))next(&real, "wait");
    if (!cprof__trace_on())
        return f(status);
    uint64_t began = cprof__trace_ticks();
    pid_t r = f(status);
    done(SYS_wait4, began);
    return r;
}
