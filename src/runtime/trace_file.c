/*
 * trace_file.c: owns traces written to a file (cprof_trace_start/stop,
 * CPROF_TRACE, `cprof run -trace=FILE`): the file sink of the tracer, and
 * the trace due at exit.
 *
 * Records are appended as the writer thread flushes them (every 20 ms), so a
 * process killed mid-trace leaves a file readable up to the last flush.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cprof.h"
#include "errors.h"
#include "settings.h"
#include "trace.h"

#define DEFAULT_BUFFER_BYTES (64 * 1024 * 1024)

struct file_sink {
    int fd;
    char path[PATH_MAX];
    int failed;
};

static struct file_sink out = {-1, "", 0};
static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;

static int write_all(struct file_sink *f, const void *bytes, size_t len)
{
    const char *p = bytes;
    while (len && !f->failed) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            f->failed = errno ? errno : EIO;
            cprof__warn("trace %s: write failed: %s; the rest of the trace is lost", f->path,
                        strerror(f->failed));
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return f->failed ? -1 : 0;
}

static int file_header(void *arg, const void *bytes, size_t len)
{
    return write_all(arg, bytes, len);
}

static int file_write(void *arg, const void *bytes, size_t len, int chunk_end)
{
    (void)chunk_end;
    return write_all(arg, bytes, len);
}

static int file_close(void *arg)
{
    struct file_sink *f = arg;
    int rc = close(f->fd) == 0 && !f->failed ? 0 : -1;
    if (rc < 0)
        cprof__fail("trace %s: %s", f->path, strerror(f->failed ? f->failed : errno));
    f->fd = -1;
    return rc;
}

static const struct cprof_trace_sink file_sink_ops = {file_header, file_write, file_close, NULL};

CPROF_API int cprof_trace_start(const char *path)
{
    if (!path || !*path)
        return cprof__fail("cprof_trace_start: no output path");
    pthread_mutex_lock(&api_lock);
    int rc = -1;
    if (out.fd >= 0) {
        cprof__fail("cprof_trace_start: a trace is already being written to %s", out.path);
        goto done;
    }
    if (cprof__settings_expand_path(path, out.path, sizeof out.path) < 0)
        goto done;
    out.fd = open(out.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out.fd < 0) {
        cprof__fail("cprof_trace_start: cannot create %s: %s", out.path, strerror(errno));
        goto done;
    }
    out.failed = 0;
    rc = cprof__trace_begin(&file_sink_ops, &out, DEFAULT_BUFFER_BYTES);
    if (rc < 0) {
        close(out.fd);
        out.fd = -1;
        unlink(out.path);
    }
done:
    pthread_mutex_unlock(&api_lock);
    return rc;
}

CPROF_API int cprof_trace_stop(void)
{
    pthread_mutex_lock(&api_lock);
    int rc = out.fd >= 0 ? cprof__trace_end()
                         : cprof__fail("cprof_trace_stop: no trace is being written");
    pthread_mutex_unlock(&api_lock);
    return rc;
}

/* The trace file is the parent's: the child neither writes to it nor
 * closes it at exit (its copy of the descriptor is closed now). */
static void atfork_child(void)
{
    pthread_mutex_init(&api_lock, NULL);
    if (out.fd >= 0)
        close(out.fd);
    out.fd = -1;
    cprof__trace_forget();
}

void cprof__trace_file_init(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

void cprof__trace_flush(void)
{
    pthread_mutex_lock(&api_lock);
    if (out.fd >= 0 && cprof__trace_end() < 0)
        cprof__warn("%s", cprof_last_error());
    pthread_mutex_unlock(&api_lock);
}
