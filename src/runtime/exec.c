/*
 * exec.c: owns what happens when the process replaces itself (the exec
 * family is interposed): the image that ends writes its profiles, as it
 * would at exit, and no SIGPROF of its sampling may survive into the new
 * program, whose default action for SIGPROF is to die (pending signals are
 * kept across exec).
 *
 * glibc's execv, execvp, execl... call execve internally, not through the
 * PLT, so each member of the family is wrapped; each calls the real one
 * after cprof__before_exec. If exec fails, the program goes on with the
 * profiles written and CPU sampling stopped.
 *
 * _exit and _Exit are interposed for the same reason as exit's atexit: to
 * write the profiles of programs that leave without atexit handlers.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cprof.h"
#include "cpu.h"

#define MAX_EXECL_ARGS 4096

/* The process the profiles belong to. A vfork child shares its parent's
 * memory and runs no fork handlers: its pid differs from this one, and it
 * must not write profiles (that would run the parent's writers on the
 * parent's memory from another process). */
static pid_t profiled_pid;

/* Writes the profiles and leaves no SIGPROF pending. */
static void before_exec(void)
{
    int saved = errno;
    if (getpid() == profiled_pid && (cprof_cpu_running() || cprof__agent_started())) {
        cprof__flush_all();
        sigset_t prof, old;
        sigemptyset(&prof);
        sigaddset(&prof, SIGPROF);
        pthread_sigmask(SIG_BLOCK, &prof, &old);
        struct timespec zero = {0, 0};
        while (sigtimedwait(&prof, NULL, &zero) == SIGPROF)
            ; /* samples already on their way: drop them */
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    errno = saved;
}

static void atfork_child(void)
{
    profiled_pid = getpid();
}

void cprof__exec_init(void)
{
    profiled_pid = getpid();
    pthread_atfork(NULL, NULL, atfork_child);
}

typedef void (*exit_fn)(int);

/* _exit and _Exit skip atexit handlers; programs (dash, for one) leave by
 * them, and the profiles would be lost. They are written first, unless this
 * is a vfork child. */
CPROF_API void _exit(int status)
{
    static exit_fn real;
    if (!real)
        real = (exit_fn)dlsym(RTLD_NEXT, "_exit");
    if (getpid() == profiled_pid && (cprof_cpu_running() || cprof__agent_started()))
        cprof__flush_all();
    real(status);
    __builtin_unreachable();
}

CPROF_API void _Exit(int status)
{
    _exit(status);
}

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);

CPROF_API int execve(const char *path, char *const argv[], char *const envp[])
{
    static execve_fn real;
    if (!real)
        real = (execve_fn)dlsym(RTLD_NEXT, "execve");
    before_exec();
    return real(path, argv, envp);
}

CPROF_API int execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

CPROF_API int execvpe(const char *file, char *const argv[], char *const envp[])
{
    static execvpe_fn real;
    if (!real)
        real = (execvpe_fn)dlsym(RTLD_NEXT, "execvpe");
    before_exec();
    return real(file, argv, envp);
}

CPROF_API int execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, environ);
}

CPROF_API int fexecve(int fd, char *const argv[], char *const envp[])
{
    static fexecve_fn real;
    if (!real)
        real = (fexecve_fn)dlsym(RTLD_NEXT, "fexecve");
    before_exec();
    return real(fd, argv, envp);
}

/* Collects execl's variable arguments (up to the NULL) into argv; for
 * execle, the environment that follows the NULL into *envp. */
static int collect(const char *arg0, va_list ap, char **argv, char ***envp)
{
    int n = 0;
    argv[n++] = (char *)arg0;
    while (arg0 && n < MAX_EXECL_ARGS) {
        char *a = va_arg(ap, char *);
        argv[n++] = a;
        if (!a)
            break;
    }
    if (n == MAX_EXECL_ARGS) {
        errno = E2BIG;
        return -1;
    }
    if (envp)
        *envp = va_arg(ap, char **);
    return 0;
}

CPROF_API int execl(const char *path, const char *arg0, ...)
{
    char *argv[MAX_EXECL_ARGS];
    va_list ap;
    va_start(ap, arg0);
    int rc = collect(arg0, ap, argv, NULL);
    va_end(ap);
    return rc < 0 ? -1 : execve(path, argv, environ);
}

CPROF_API int execlp(const char *file, const char *arg0, ...)
{
    char *argv[MAX_EXECL_ARGS];
    va_list ap;
    va_start(ap, arg0);
    int rc = collect(arg0, ap, argv, NULL);
    va_end(ap);
    return rc < 0 ? -1 : execvpe(file, argv, environ);
}

CPROF_API int execle(const char *path, const char *arg0, ...)
{
    char *argv[MAX_EXECL_ARGS];
    char **envp;
    va_list ap;
    va_start(ap, arg0);
    int rc = collect(arg0, ap, argv, &envp);
    va_end(ap);
    return rc < 0 ? -1 : execve(path, argv, envp);
}
