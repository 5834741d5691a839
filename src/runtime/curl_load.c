/*
 * curl_load.c: owns loading libcurl on demand (see curl_load.h for why).
 */
#include "curl_load.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"

static struct cprof_curl table;
static const struct cprof_curl *loaded;
static char why[256];

/* Each member of the table and the symbol that fills it. */
static const struct {
    const char *symbol;
    size_t offset;
} entries[] = {
    {"curl_global_init", offsetof(struct cprof_curl, global_init)},
    {"curl_easy_init", offsetof(struct cprof_curl, easy_init)},
    {"curl_easy_setopt", offsetof(struct cprof_curl, easy_setopt)},
    {"curl_easy_perform", offsetof(struct cprof_curl, easy_perform)},
    {"curl_easy_getinfo", offsetof(struct cprof_curl, easy_getinfo)},
    {"curl_easy_cleanup", offsetof(struct cprof_curl, easy_cleanup)},
    {"curl_easy_strerror", offsetof(struct cprof_curl, easy_strerror)},
    {"curl_easy_escape", offsetof(struct cprof_curl, easy_escape)},
    {"curl_free", offsetof(struct cprof_curl, free)},
    {"curl_mime_init", offsetof(struct cprof_curl, mime_init)},
    {"curl_mime_addpart", offsetof(struct cprof_curl, mime_addpart)},
    {"curl_mime_free", offsetof(struct cprof_curl, mime_free)},
    {"curl_mime_name", offsetof(struct cprof_curl, mime_name)},
    {"curl_mime_filename", offsetof(struct cprof_curl, mime_filename)},
    {"curl_mime_type", offsetof(struct cprof_curl, mime_type)},
    {"curl_mime_data", offsetof(struct cprof_curl, mime_data)},
    {"curl_slist_append", offsetof(struct cprof_curl, slist_append)},
    {"curl_slist_free_all", offsetof(struct cprof_curl, slist_free_all)},
};

static void load(void)
{
    /* RTLD_LOCAL: its symbols stay out of the program's namespace. */
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        snprintf(why, sizeof why, "cannot load libcurl.so.4 (%s): install libcurl4",
                 e ? e : "not found");
        return;
    }
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        void *f = dlsym(lib, entries[i].symbol);
        if (!f) {
            snprintf(why, sizeof why, "libcurl.so.4 has no %s: too old", entries[i].symbol);
            return; /* the library stays loaded: dlclose of a TLS stack is not worth the risk */
        }
        /* POSIX guarantees that a data pointer from dlsym converts to a
         * function pointer; memcpy says so without a cast warning. */
        memcpy((char *)&table + entries[i].offset, &f, sizeof f);
    }
    loaded = &table;
}

const struct cprof_curl *cprof__curl(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, load);
    if (!loaded)
        cprof__fail("push: %s", why);
    return loaded;
}
