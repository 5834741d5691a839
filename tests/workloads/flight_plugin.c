/*
 * flight_plugin: a library that flight_gt's `plugin` mode loads, unloads
 * and loads again in another build (libcprof_flight_plugin_a.so, _b.so: the
 * same code, the function named by PLUGIN_WAIT). Its one function waits on
 * a condition variable, so that the trace records a wait whose stack has a
 * pc inside the library; the two builds are alike byte for byte but for the
 * name, so that the second, loaded where the first was, has the same pcs.
 */
#include <pthread.h>
#include <time.h>

#ifndef PLUGIN_WAIT
#error "build with -DPLUGIN_WAIT=name"
#endif

/* Waits 2 ms on a condition nobody signals. */
__attribute__((visibility("default"), noinline)) void PLUGIN_WAIT(void)
{
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 2000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&lock);
    pthread_cond_timedwait(&cond, &lock, &until);
    pthread_mutex_unlock(&lock);
}
