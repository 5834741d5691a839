/*
 * glibc_private.c: lets bench_sample link libcprof.a statically.
 *
 * The runtime's pthread interposers (src/runtime/sync.c) call glibc's
 * __pthread_* entry points. Since glibc 2.34 those exist only as
 * compatibility symbols (__pthread_mutex_lock@GLIBC_2.2.5): libcprof.so
 * binds them at run time, but a static link of libcprof.a into an executable
 * cannot ("undefined reference"), and every object of the archive is pulled
 * in (unwind.o needs threads.o, which needs sync.o). This file defines them,
 * forwarding to the same compatibility versions bound explicitly.
 * Delete it when libcprof.a links into executables on its own.
 */
#include <pthread.h>

#define FORWARD(name, versioned_as)                                                                \
    extern int real_##name(void *) __asm__(#name "_compat_ref");                                   \
    __asm__(".symver " #name "_compat_ref, " #name "@" versioned_as);                              \
    int name(void *lock);                                                                          \
    int name(void *lock)                                                                           \
    {                                                                                              \
        return real_##name(lock);                                                                  \
    }

FORWARD(__pthread_mutex_lock, "GLIBC_2.2.5")
FORWARD(__pthread_mutex_trylock, "GLIBC_2.2.5")
FORWARD(__pthread_mutex_unlock, "GLIBC_2.2.5")
FORWARD(__pthread_rwlock_rdlock, "GLIBC_2.2.5")
FORWARD(__pthread_rwlock_wrlock, "GLIBC_2.2.5")
FORWARD(__pthread_rwlock_tryrdlock, "GLIBC_2.2.5")
FORWARD(__pthread_rwlock_trywrlock, "GLIBC_2.2.5")
