/*
 * http.c: owns the live endpoint: the paths of Go's net/http/pprof under
 * /debug/pprof/, served by a libmicrohttpd daemon of cprof's own
 * (cprof_http_start) or mounted on a program's own libmicrohttpd server
 * (cprof_http_handle), so that `go tool pprof http://HOST:PORT/debug/pprof/profile`,
 * Pyroscope's and Parca's scrapers work against a C process unchanged.
 *
 * Answers follow Go's: profiles as gzip'd pprof with Content-Disposition,
 * debug=1|2 as text where Go accepts it, 404 "Unknown profile", 500 "Could
 * not enable CPU profiling: cpu profiling already in use", and
 * X-Content-Type-Options: nosniff on every answer.
 *
 * Safety: loopback only unless the user opts in; an optional bearer token
 * (compared in constant time) guards every path; `seconds` is capped;
 * connections are bounded in number, memory and idle time; a client that
 * goes away during profile?seconds=N stops the profile.
 *
 * Locking: the daemon pointer is set and cleared under `daemon_lock`; each
 * request runs on its own connection thread and only calls into the
 * profilers' APIs, which lock for themselves.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "contention.h"
#include "cpu.h"
#include "cprof.h"
#include "errors.h"
#include "flight.h"
#include "heap.h"
#include "heap_write.h"
#include "http.h"
#include "symbols.h"
#include "threadprof.h"
#include "threads.h"
#include "trace.h"

#define PREFIX           "/debug/pprof/"
#define MAX_BODY         (64 * 1024)
#define MAX_CONNECTIONS  32
#define DEFAULT_SECONDS  30
#define DEFAULT_MAX_SECS 300

static pthread_mutex_t daemon_lock = PTHREAD_MUTEX_INITIALIZER;
static struct MHD_Daemon *daemon_handle;
static char token[256];
static long max_seconds = DEFAULT_MAX_SECS;

/* ---- Answers ----------------------------------------------------------------------- */

/* Queues response r (which it destroys) with cprof's headers. */
static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r,
                             const char *type, const char *filename)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Type", type);
    if (filename) {
        char disposition[128];
        snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", filename);
        MHD_add_response_header(r, "Content-Disposition", disposition);
    }
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, "Allow", "GET, HEAD, POST");
    enum MHD_Result res = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return res;
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *type,
                              void *body, size_t len, int must_free, const char *filename)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (!r) {
        if (must_free)
            free(body);
        return MHD_NO;
    }
    return queue(c, status, r, type, filename);
}

static enum MHD_Result answer_text(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum MHD_Result answer_text(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if (n > (int)sizeof text - 1)
        n = (int)sizeof text - 1;
    return answer(c, status, "text/plain; charset=utf-8", text, (size_t)n, 0, NULL);
}

static enum MHD_Result answer_profile(struct MHD_Connection *c, int rc, uint8_t *buf, size_t len,
                                      const char *name, int text)
{
    if (rc < 0) {
        free(buf);
        return answer_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Could not write %s profile: %s\n",
                           name, cprof_last_error());
    }
    if (text)
        return answer(c, MHD_HTTP_OK, "text/plain; charset=utf-8", buf, len, 1, NULL);
    return answer(c, MHD_HTTP_OK, "application/octet-stream", buf, len, 1, name);
}

/* ---- Parameters -------------------------------------------------------------------- */

/* A non-negative integer query parameter: its value, `fallback` when
 * absent, or -1 (with *bad set) when malformed. */
static long int_param(struct MHD_Connection *c, const char *name, long fallback, int *bad)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    if (!v)
        return fallback;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    /* strtol skips leading spaces; Go's strconv.Atoi, whose answers these
     * are, refuses them. */
    if (!*v || !strchr("+-0123456789", *v) || *end || errno || n < 0) {
        *bad = 1;
        return -1;
    }
    return n;
}

/* ---- Profiles ------------------------------------------------------------------------ */

/* Whether the peer closed the connection (a client that gave up waiting). */
static int peer_gone(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info)
        return 0;
    struct pollfd p = {info->connect_fd, POLLRDHUP, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Waits `seconds`, looking every 100 ms whether the client went away.
 * Returns 1 if it did. */
static int wait_seconds(struct MHD_Connection *c, long seconds)
{
    struct timespec end, now, slice = {0, 100 * 1000000};
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += seconds;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
            return 0;
        if (peer_gone(c))
            return 1;
        nanosleep(&slice, NULL);
    }
}

static enum MHD_Result serve_cpu(struct MHD_Connection *c)
{
    int bad = 0;
    long seconds = int_param(c, "seconds", DEFAULT_SECONDS, &bad);
    if (bad || seconds == 0)
        return answer_text(c, MHD_HTTP_BAD_REQUEST, "Bad Request: invalid value for \"seconds\"\n");
    if (seconds > max_seconds)
        return answer_text(c, MHD_HTTP_BAD_REQUEST,
                           "Bad Request: seconds=%ld exceeds the limit of %ld\n", seconds,
                           max_seconds);
    long hz = int_param(c, "hz", 100, &bad);
    if (bad || hz < 1 || hz > 10000)
        return answer_text(c, MHD_HTTP_BAD_REQUEST, "Bad Request: invalid value for \"hz\"\n");
    if (cprof__cpu_start_to_memory((int)hz) < 0)
        return answer_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "Could not enable CPU profiling: cpu profiling already in use\n");
    if (wait_seconds(c, seconds)) {
        cprof__cpu_stop_to_memory(NULL, NULL); /* the client left: drop the samples */
        return MHD_NO;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = cprof__cpu_stop_to_memory(&buf, &len);
    return answer_profile(c, rc, buf, len, "profile", 0);
}

static enum MHD_Result serve_heap(struct MHD_Connection *c, const char *name)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    /* allocs is the heap profile whose default view is alloc_space. */
    int rc = cprof__heap_encode_default(strcmp(name, "allocs") ? "inuse_space" : "alloc_space",
                                        &buf, &len);
    return answer_profile(c, rc, buf, len, name, 0);
}

static enum MHD_Result serve_threads(struct MHD_Connection *c, const char *name)
{
    int bad = 0;
    long debug = int_param(c, "debug", 0, &bad);
    if (bad || debug > 2)
        return answer_text(c, MHD_HTTP_BAD_REQUEST, "Bad Request: invalid value for \"debug\"\n");
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = cprof__threads_encode((int)debug, NULL, &buf, &len);
    return answer_profile(c, rc, buf, len, name, debug > 0);
}

static enum MHD_Result serve_contention(struct MHD_Connection *c, int mutex)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = cprof__contention_encode(mutex, &buf, &len);
    return answer_profile(c, rc, buf, len, mutex ? "mutex" : "block", 0);
}

static enum MHD_Result serve_threadcreate(struct MHD_Connection *c)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = cprof__threadcreate_encode(NULL, &buf, &len);
    return answer_profile(c, rc, buf, len, "threadcreate", 0);
}

static enum MHD_Result serve_cmdline(struct MHD_Connection *c)
{
    char *buf = malloc(MAX_BODY);
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 && buf ? read(fd, buf, MAX_BODY) : -1;
    if (fd >= 0)
        close(fd);
    if (n < 0) {
        free(buf);
        return answer_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the command line\n");
    }
    /* Go answers with the arguments separated by NUL bytes. */
    return answer(c, MHD_HTTP_OK, "text/plain; charset=utf-8", buf, (size_t)n, 1, NULL);
}

/* POST symbol: "0xADDR+0xADDR+...", answered "0xADDR NAME" per line, as
 * pprof's remote symbolization asks. GET: how many symbols we can name. Go
 * starts both answers with "num_symbols: 1" (pprof only checks that it is
 * not 0, but a client written against Go's answer may expect the line). */
static enum MHD_Result serve_symbol(struct MHD_Connection *c, const char *method, const char *body)
{
    if (strcmp(method, "POST") != 0)
        return answer_text(c, MHD_HTTP_OK, "num_symbols: 1\n");
    cprof_symbolizer *sym = cprof__symbolizer_new();
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    if (!sym || !f) {
        if (f)
            fclose(f);
        free(out);
        cprof__symbolizer_free(sym);
        return answer_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    fprintf(f, "num_symbols: 1\n");
    for (const char *p = body; p && *p;) {
        char *end;
        unsigned long long addr = strtoull(p, &end, 16);
        if (end == p)
            break;
        char name[512];
        if (cprof__symbolize_text(sym, addr, name, sizeof name) > 0) {
            name[strcspn(name, " ")] = '\0'; /* the function alone */
            fprintf(f, "%#llx %s\n", addr, name);
        }
        p = end + strspn(end, "+ \r\n");
    }
    fclose(f);
    cprof__symbolizer_free(sym);
    return answer(c, MHD_HTTP_OK, "text/plain; charset=utf-8", out, outlen, 1, NULL);
}

/* trace?seconds=N: a trace of the next N seconds, recorded into memory. */
struct mem_sink {
    uint8_t *p;
    size_t len, cap;
    int failed;
};

static int mem_append(void *arg, const void *bytes, size_t len)
{
    struct mem_sink *m = arg;
    if (m->len + len > m->cap) {
        size_t cap = (m->len + len) * 2;
        uint8_t *grown = realloc(m->p, cap);
        if (!grown) {
            m->failed = 1;
            return -1;
        }
        m->p = grown;
        m->cap = cap;
    }
    memcpy(m->p + m->len, bytes, len);
    m->len += len;
    return 0;
}

static int mem_write(void *arg, const void *bytes, size_t len, int chunk_end)
{
    (void)chunk_end;
    return mem_append(arg, bytes, len);
}

static int mem_close(void *arg)
{
    return ((struct mem_sink *)arg)->failed ? -1 : 0;
}

static const struct cprof_trace_sink mem_sink_ops = {mem_append, mem_write, mem_close, NULL};

static enum MHD_Result serve_trace(struct MHD_Connection *c)
{
    int bad = 0;
    long seconds = int_param(c, "seconds", 1, &bad);
    if (bad || seconds == 0)
        return answer_text(c, MHD_HTTP_BAD_REQUEST, "Bad Request: invalid value for \"seconds\"\n");
    if (seconds > max_seconds)
        return answer_text(c, MHD_HTTP_BAD_REQUEST,
                           "Bad Request: seconds=%ld exceeds the limit of %ld\n", seconds,
                           max_seconds);
    struct mem_sink *m = calloc(1, sizeof *m);
    if (!m)
        return answer_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    if (cprof__trace_begin(&mem_sink_ops, m, 16 * 1024 * 1024) < 0) {
        free(m);
        return answer_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "Could not enable tracing: tracing already in use\n");
    }
    int gone = wait_seconds(c, seconds);
    int rc = cprof__trace_end();
    enum MHD_Result res;
    if (gone)
        res = MHD_NO;
    else if (rc < 0 || m->failed)
        res = answer_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Could not write the trace\n");
    else
        res = answer(c, MHD_HTTP_OK, "application/octet-stream", m->p, m->len, 1, "trace");
    if (gone || rc < 0 || m->failed)
        free(m->p);
    free(m);
    return res;
}

static enum MHD_Result serve_flight(struct MHD_Connection *c)
{
    if (!cprof__flight_running())
        return answer_text(
            c, MHD_HTTP_NOT_FOUND,
            "The flight recorder is not running (cprof run -flightrecorder=AGE,SIZE)\n");
    /* Into an unlinked file that libmicrohttpd sends from (and closes): the
     * snapshot then sits in the page cache, not in the process's memory, so
     * the recorder keeps to its bound (max_bytes + a buffer per thread) while a
     * slow client reads. Where no such file can be made, a buffer. */
    const char *dir = getenv("TMPDIR");
    int fd = open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) {
        if (cprof__flight_snapshot_fd("snapshot asked for over HTTP", fd) < 0) {
            close(fd);
            return answer_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "%s\n", cprof_last_error());
        }
        off_t size = lseek(fd, 0, SEEK_END);
        struct MHD_Response *r = size < 0 ? NULL : MHD_create_response_from_fd((uint64_t)size, fd);
        if (!r) {
            close(fd);
            return MHD_NO;
        }
        return queue(c, MHD_HTTP_OK, r, "application/octet-stream", "flightrecorder.cpt");
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = cprof__flight_snapshot("snapshot asked for over HTTP", &buf, &len);
    if (rc < 0)
        return answer_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "%s\n", cprof_last_error());
    return answer(c, MHD_HTTP_OK, "application/octet-stream", buf, len, 1, "flightrecorder.cpt");
}

/* ---- The index page ---------------------------------------------------------------------- */

static const struct profile_entry {
    const char *name, *link, *what;
} entries[] = {
    {"allocs", "allocs", "A sampling of all past memory allocations"},
    {"block", "block", "Stack traces that led to blocking on synchronization primitives"},
    {"cmdline", "cmdline", "The command line invocation of the current program"},
    {"goroutine", "goroutine?debug=1",
     "Stack traces of all current threads (goroutine is Go's name; threads is an alias)"},
    {"heap", "heap", "A sampling of memory allocations of live objects"},
    {"mutex", "mutex", "Stack traces of holders of contended mutexes"},
    {"profile", "profile",
     "CPU profile. You can specify the duration in the seconds GET parameter"},
    {"symbol", "symbol", "Names the functions at program counters (pprof's remote symbolization)"},
    {"flightrecorder", "flightrecorder",
     "The last seconds of the execution trace, when the flight recorder runs (cprof trace reads "
     "it)"},
    {"threadcreate", "threadcreate", "Stack traces that led to the creation of new threads"},
    {"trace", "trace?seconds=1",
     "An execution trace (cprof trace reads it). You can specify the duration in the seconds "
     "GET parameter"},
};

static long thread_count(void)
{
    char buf[4096];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    long threads = -1;
    /* Field 20 is num_threads; the fields after the name start at field 3. */
    for (int field = 2; p && *p; p++)
        if (*p == ' ' && ++field == 20)
            threads = strtol(p + 1, NULL, 10);
    return threads;
}

static long count_of(const char *name)
{
    cprof_samples *t = NULL;
    if (!strcmp(name, "goroutine"))
        return thread_count();
    if (!strcmp(name, "heap") || !strcmp(name, "allocs"))
        t = cprof__heap_table();
    else if (!strcmp(name, "threadcreate"))
        t = cprof__threadcreate_table();
    else if (!strcmp(name, "block") || !strcmp(name, "mutex"))
        return cprof__contention_count(!strcmp(name, "mutex"));
    else
        return -1;
    return t ? (long)cprof__samples_nkeys(t) : 0;
}

static enum MHD_Result serve_index(struct MHD_Connection *c)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return answer_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    fprintf(f, "<html>\n<head>\n<title>/debug/pprof/</title>\n</head>\n<body>\n/debug/pprof/\n"
               "<br>\n<p>Set debug=1 as a query parameter to export in legacy text format</p>\n"
               "<br>\nTypes of profiles available:\n<table>\n"
               "<thead><td>Count</td><td>Profile</td></thead>\n");
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        long n = count_of(entries[i].name);
        char count[32] = "";
        if (n >= 0)
            snprintf(count, sizeof count, "%ld", n);
        fprintf(f, "<tr><td>%s</td><td><a href='%s'>%s</a></td></tr>\n", count, entries[i].link,
                entries[i].name);
    }
    fprintf(f, "</table>\n<a href=\"goroutine?debug=2\">full thread stack dump</a>\n<br>\n"
               "<p>\nProfile Descriptions:\n<ul>\n");
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        fprintf(f, "<li><div class=profile-name>%s: </div> %s</li>\n", entries[i].name,
                entries[i].what);
    fprintf(f, "</ul>\n</p>\n</body>\n</html>\n");
    fclose(f);
    return answer(c, MHD_HTTP_OK, "text/html; charset=utf-8", out, len, 1, NULL);
}

/* ---- Dispatch ---------------------------------------------------------------------------------
 */

/* Constant-time comparison: the time taken says nothing of where a guess
 * went wrong. */
static int same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < lb; i++)
        diff |= (unsigned char)(a[i < la ? i : 0] ^ b[i]);
    return diff == 0;
}

static int authorized(struct MHD_Connection *c)
{
    if (!token[0])
        return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    return h && !strncmp(h, "Bearer ", 7) && same_secret(h + 7, token);
}

/* One request whose body (POST symbol) is still arriving. */
struct request {
    char *body;
    size_t len;
    int too_big;
};

static void turn_on(void)
{
    if (!cprof__heap_table())
        cprof__heap_start(512 * 1024);
    cprof__agent_start();
}

static enum MHD_Result dispatch(struct MHD_Connection *c, const char *url, const char *method,
                                const char *body)
{
    if (!authorized(c))
        return answer_text(c, MHD_HTTP_UNAUTHORIZED, "Unauthorized\n");
    const char *name = url + strlen(PREFIX);
    int is_post = !strcmp(method, "POST");
    if (strcmp(method, "GET") && strcmp(method, "HEAD") && !(is_post && !strcmp(name, "symbol")))
        return answer_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed\n");
    if (!*name)
        return serve_index(c);
    if (!strcmp(name, "profile"))
        return serve_cpu(c);
    if (!strcmp(name, "heap") || !strcmp(name, "allocs"))
        return serve_heap(c, name);
    if (!strcmp(name, "goroutine") || !strcmp(name, "threads"))
        return serve_threads(c, name);
    if (!strcmp(name, "block"))
        return serve_contention(c, 0);
    if (!strcmp(name, "mutex"))
        return serve_contention(c, 1);
    if (!strcmp(name, "threadcreate"))
        return serve_threadcreate(c);
    if (!strcmp(name, "cmdline"))
        return serve_cmdline(c);
    if (!strcmp(name, "symbol"))
        return serve_symbol(c, method, body);
    if (!strcmp(name, "flightrecorder"))
        return serve_flight(c);
    if (!strcmp(name, "trace"))
        return serve_trace(c);
    return answer_text(c, MHD_HTTP_NOT_FOUND, "Unknown profile\n");
}

static enum MHD_Result handle(struct MHD_Connection *c, const char *url, const char *method,
                              const char *upload, size_t *upload_size, void **state)
{
    struct request *req = *state;
    if (!req) { /* first call: headers only */
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        *state = req;
        return MHD_YES;
    }
    if (*upload_size) { /* a piece of the body */
        if (req->len + *upload_size > MAX_BODY) {
            req->too_big = 1;
        } else {
            char *grown = realloc(req->body, req->len + *upload_size + 1);
            if (!grown)
                return MHD_NO;
            req->body = grown;
            memcpy(req->body + req->len, upload, *upload_size);
            req->len += *upload_size;
            req->body[req->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->too_big)
        return answer_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "Request body too large\n");
    return dispatch(c, url, method, req->body);
}

static void request_done(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)c;
    (void)why;
    struct request *req = *state;
    if (req) {
        free(req->body);
        free(req);
        *state = NULL;
    }
}

/* What the endpoint serves needs these on, as Go has them always: heap
 * sampling at the default rate, thread states, the background thread. A
 * mounted endpoint turns them on at its first request. */
static void endpoint_on(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, turn_on);
}

CPROF_API int cprof_http_handle(struct MHD_Connection *connection, const char *url,
                                const char *method, const char *upload_data,
                                size_t *upload_data_size, void **con_cls, int *mhd_result)
{
    if (!url || strncmp(url, PREFIX, strlen(PREFIX)) != 0) {
        if (url && !strcmp(url, "/debug/pprof")) { /* Go redirects; we answer the index */
            *mhd_result = serve_index(connection);
            return 1;
        }
        return 0;
    }
    endpoint_on();
    cprof__heap_enter_internal();
    *mhd_result = handle(connection, url, method, upload_data, upload_data_size, con_cls);
    cprof__heap_leave_internal();
    return 1;
}

CPROF_API void cprof_http_request_done(void **con_cls)
{
    request_done(NULL, NULL, con_cls, MHD_REQUEST_TERMINATED_COMPLETED_OK);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* MHD's own unescaping turns "%00" into a NUL that ends the string, so
 * "/debug/pprof/%00" would read as the index and "seconds=%001" as no
 * value. This one decodes "%HH" but leaves "%00" as it stands: no profile
 * name or number contains it, so such requests get 404 or 400, as in Go. */
static size_t unescape_url(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *out = s;
    const char *in = s;
    while (*in) {
        int hi = in[0] == '%' ? hex_value(in[1]) : -1;
        int lo = hi >= 0 ? hex_value(in[2]) : -1;
        if (lo >= 0 && (hi | lo)) {
            *out++ = (char)(hi * 16 + lo);
            in += 3;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
    return (size_t)(out - s);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version, const char *upload,
                                      size_t *upload_size, void **state)
{
    (void)cls;
    (void)version;
    int result;
    if (cprof_http_handle(c, url, method, upload, upload_size, state, &result))
        return (enum MHD_Result)result;
    if (!*state) { /* let the body (if any) arrive, then answer 404 */
        *state = calloc(1, sizeof(struct request));
        return *state ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    return answer_text(c, MHD_HTTP_NOT_FOUND, "404 page not found\n");
}

/* ---- The daemon --------------------------------------------------------------------------------
 */

/* Parses "HOST:PORT", "[V6]:PORT" or ":PORT" (loopback). */
static int parse_address(const char *addr, struct sockaddr_storage *out, socklen_t *len,
                         int *loopback)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon - addr >= (long)sizeof host)
        return cprof__fail("http: address \"%s\" is not HOST:PORT", addr);
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535)
        return cprof__fail("http: bad port in \"%s\"", addr);
    memset(out, 0, sizeof *out);
    if (!host[0] || !strcmp(host, "localhost"))
        strcpy(host, "127.0.0.1");
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = '\0';
        h++;
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, h, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof *v4;
        *loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    } else if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof *v6;
        *loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
    } else {
        return cprof__fail("http: \"%s\" is not a numeric address (use 127.0.0.1, ::1, ...)", h);
    }
    return 0;
}

int cprof__http_start(const char *addr, int allow_remote)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    int loopback = 0;
    if (!addr || parse_address(addr, &sa, &salen, &loopback) < 0)
        return addr ? -1 : cprof__fail("http: no address");
    if (!loopback && !allow_remote)
        return cprof__fail("http: refusing to serve profiles on %s, which is not loopback; "
                           "set CPROF_HTTP_ALLOW_REMOTE=1 (cprof run -http-allow-remote) to "
                           "allow it, and consider CPROF_HTTP_TOKEN",
                           addr);
    const char *tok = getenv("CPROF_HTTP_TOKEN");
    snprintf(token, sizeof token, "%s", tok ? tok : "");
    const char *cap = getenv("CPROF_HTTP_MAX_SECONDS");
    if (cap && atol(cap) > 0)
        max_seconds = atol(cap);
    pthread_mutex_lock(&daemon_lock);
    int rc = 0;
    if (daemon_handle) {
        rc = cprof__fail("http: the endpoint is already running");
    } else {
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
        if (sa.ss_family == AF_INET6)
            flags |= MHD_USE_IPv6;
        cprof__heap_enter_internal(); /* the daemon's memory is cprof's */
        daemon_handle = MHD_start_daemon(
            flags, 0, NULL, NULL, access_handler, NULL, MHD_OPTION_SOCK_ADDR,
            (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
            MHD_OPTION_UNESCAPE_CALLBACK, unescape_url, NULL, MHD_OPTION_END);
        cprof__heap_leave_internal();
        if (!daemon_handle)
            rc = cprof__fail("http: cannot listen on %s: %s", addr, strerror(errno));
    }
    pthread_mutex_unlock(&daemon_lock);
    if (rc == 0)
        endpoint_on();
    return rc;
    (void)salen;
}

CPROF_API int cprof_http_start(const char *addr)
{
    const char *allow = getenv("CPROF_HTTP_ALLOW_REMOTE");
    return cprof__http_start(addr, allow && *allow && strcmp(allow, "0"));
}

CPROF_API void cprof_http_stop(void)
{
    pthread_mutex_lock(&daemon_lock);
    struct MHD_Daemon *d = daemon_handle;
    daemon_handle = NULL;
    pthread_mutex_unlock(&daemon_lock);
    if (d)
        MHD_stop_daemon(d);
}

CPROF_API int cprof_http_port(void)
{
    pthread_mutex_lock(&daemon_lock);
    int port = 0;
    if (daemon_handle) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(daemon_handle, MHD_DAEMON_INFO_BIND_PORT);
        port = info ? info->port : 0;
    }
    pthread_mutex_unlock(&daemon_lock);
    return port;
}
