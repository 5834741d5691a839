/*
 * trace_names.c: the names of thread states and interposed system calls.
 */
#include "trace_names.h"

#include <inttypes.h>
#include <stdio.h>
#include <sys/syscall.h>

#include "trace_format.h"

static const char *const state_names[TRACE_STATE_COUNT] = {
    "running", "mutex", "rwlock", "cond", "semaphore", "join", "barrier", "sleep", "syscall",
};

const char *trace_state_name(uint64_t state)
{
    return state < TRACE_STATE_COUNT ? state_names[state] : "unknown";
}

/* The calls the runtime interposes (src/runtime/trace_syscalls.c). The
 * file records numbers of the writer's architecture; this table is the
 * reader's, which is the same machine in every use cprof supports. */
static const struct {
    long nr;
    const char *name;
} syscall_names[] = {
    {SYS_read, "read"},
    {SYS_write, "write"},
    {SYS_pread64, "pread"},
    {SYS_pwrite64, "pwrite"},
    {SYS_readv, "readv"},
    {SYS_writev, "writev"},
    {SYS_recvfrom, "recvfrom"},
    {SYS_recvmsg, "recvmsg"},
    {SYS_sendto, "sendto"},
    {SYS_sendmsg, "sendmsg"},
#ifdef SYS_accept
    {SYS_accept, "accept"},
#endif
    {SYS_accept4, "accept4"},
    {SYS_connect, "connect"},
#ifdef SYS_poll
    {SYS_poll, "poll"},
#endif
    {SYS_ppoll, "ppoll"},
#ifdef SYS_select
    {SYS_select, "select"},
#endif
    {SYS_pselect6, "pselect"},
#ifdef SYS_epoll_wait
    {SYS_epoll_wait, "epoll_wait"},
#endif
    {SYS_epoll_pwait, "epoll_pwait"},
    {SYS_nanosleep, "nanosleep"},
    {SYS_clock_nanosleep, "clock_nanosleep"},
    {SYS_wait4, "wait4"},
};

const char *trace_syscall_known_name(uint64_t nr)
{
    for (size_t i = 0; i < sizeof syscall_names / sizeof syscall_names[0]; i++)
        if ((uint64_t)syscall_names[i].nr == nr)
            return syscall_names[i].name;
    return NULL;
}

const char *trace_syscall_name(uint64_t nr, char *buf, size_t len)
{
    const char *known = trace_syscall_known_name(nr);
    if (known)
        return known;
    snprintf(buf, len, "syscall %" PRIu64, nr);
    return buf;
}

int trace_is_sleep_syscall(uint64_t nr)
{
    return nr == (uint64_t)SYS_nanosleep || nr == (uint64_t)SYS_clock_nanosleep;
}
