/*
 * push.c: owns pushing profiles to a continuous-profiling server. Every
 * interval a thread of cprof's own cuts a CPU profile of that interval and
 * takes the heap profile, and POSTs both with libcurl to Grafana Pyroscope's
 * ingest API.
 *
 * The request is the one Pyroscope's HTTP API reference describes ("Pyroscope
 * server HTTP API", Ingestion, and its "pprof format" section:
 * https://grafana.com/docs/pyroscope/latest/configure-server/about-server-api/,
 * docs/sources/configure-server/about-server-api.md in grafana/pyroscope):
 *
 *   POST {url}/ingest?name=APP{k=v,...}&from=UNIX&until=UNIX&format=pprof
 *        &sampleRate=HZ&spyName=cprof
 *   Content-Type: multipart/form-data; the form file field `profile` holds
 *   the (gzip'd) pprof profile.
 *
 * from and until are Unix seconds ("UNIX time of when the profiling started /
 * stopped"). With format=pprof the reference says that `name` is the prefix
 * of the application name and the server appends the profile type it finds
 * in the file (my-app{} shows as my-app.cpu{}), and that units,
 * aggregationType and sampleRate are ignored, being taken from the profile's
 * sample types. It also says the server knows Go's standard types (cpu,
 * inuse_objects, inuse_space, alloc_objects, alloc_space) and needs a
 * `sample_type_config` field only for other ones. cprof writes exactly Go's
 * sample types, so neither profile carries a config, and the heap profile is
 * a second request with the same name: the server names it by its types.
 * sampleRate is sent anyway, as Pyroscope's own Go client does. The heap
 * profile's alloc_* values are totals since the start, as Go's heap profile
 * (and Alloy scraping /debug/pprof/heap) sends them.
 *
 * Never harm the host: the program's threads never wait for this one. What
 * waits to be sent is a bounded queue (QUEUE_MAX requests) that drops the
 * oldest first and counts what it drops; failures are retried with
 * exponential back-off; stderr gets one line when pushing starts failing and
 * one when it works again. At exit the thread is stopped (a POST in flight
 * is aborted) with a bounded wait; a forked child does not push.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cpu.h"
#include "cprof.h"
#include "errors.h"
#include "heap.h"
#include "heap_write.h"
#include "push.h"
#include "threads.h"

#define QUEUE_MAX          8 /* requests: four intervals of CPU + heap */
#define DEFAULT_INTERVAL   15000
#define MIN_INTERVAL       1000 /* from/until are whole seconds */
#define MAX_INTERVAL       (24LL * 3600 * 1000)
#define BACKOFF_FIRST_MS   500
#define BACKOFF_MAX_MS     30000
#define CONNECT_TIMEOUT_MS 5000
#define REQUEST_TIMEOUT_MS 30000
#define STOP_WAIT_MS       3000
#define MAX_LABELS         32

/* One profile waiting to be sent. */
struct item {
    uint8_t *data;
    size_t len;
    long long from, until; /* Unix seconds */
    const char *what;      /* "cpu" or "heap", for messages */
};

static struct {
    pthread_mutex_t lock; /* guards running and the condition variable */
    pthread_cond_t wake;
    int running;
    pthread_t thread;
    _Atomic int stopping;

    /* Settings, fixed before the thread starts. */
    char url[1024];   /* base URL without a trailing slash */
    char shown[1024]; /* the same without user:password@, for messages */
    char name[2048];  /* APP{k=v,...}, not yet URL-escaped */
    long long interval_ms;
    int hz;

    /* The thread's own; nobody else touches them. */
    struct item queue[QUEUE_MAX];
    int head, count;
    unsigned long sent, dropped, cpu_skipped;
    unsigned long outage_failures, outage_dropped_at_start;
    int failing, warned_cpu, warned_reject;
    uint32_t rng;
} push = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- Parsing the settings ------------------------------------------------------------ */

long long cprof__push_parse_duration(const char *text)
{
    /* Go's time.ParseDuration: one or more "NUMBER[.FRACTION]UNIT"; a bare
     * "0" is zero. Signs are refused: an interval is never negative. */
    static const struct {
        const char *unit;
        long double ns;
    } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
                 {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
    if (!text || !*text)
        return -1;
    if (!strcmp(text, "0"))
        return 0;
    long double total = 0;
    const char *p = text;
    while (*p) {
        long double n = 0;
        int digits = 0;
        for (; *p >= '0' && *p <= '9'; p++, digits++)
            n = n * 10 + (*p - '0');
        if (*p == '.') {
            long double scale = 0.1L;
            for (p++; *p >= '0' && *p <= '9'; p++, digits++, scale /= 10)
                n += (*p - '0') * scale;
        }
        if (!digits)
            return -1;
        size_t best = 0, best_len = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t len = strlen(units[i].unit);
            /* the longest match: "ms" before "m" */
            if (!strncmp(p, units[i].unit, len) && len > best_len)
                best = i, best_len = len;
        }
        if (!best_len)
            return -1;
        total += n * units[best].ns;
        p += best_len;
        if (total > 9e18L)
            return -1;
    }
    return (long long)(total / 1e6L + 0.5L);
}

static int label_key_ok(const char *k, size_t len)
{
    /* Prometheus label names, which Pyroscope's labels follow; names that
     * start with "__" are reserved for the server's own. */
    if (!len || (len >= 2 && k[0] == '_' && k[1] == '_'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = k[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

static int label_value_ok(const char *v, size_t len)
{
    /* Anything that cannot be mistaken for the syntax of APP{k=v,...}. */
    if (!len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] <= ' ' || strchr(",{}=\"\\", v[i]) || v[i] == 0x7f)
            return 0;
    return 1;
}

/* Builds APP{k=v,...} into push.name. */
static int build_name(const char *app, const char *labels)
{
    char fallback[256];
    if (!app || !*app) {
        /* The program's name, made into a valid application name. */
        snprintf(fallback, sizeof fallback, "%s",
                 program_invocation_short_name[0] ? program_invocation_short_name : "cprof");
        for (char *c = fallback; *c; c++)
            if (!strchr("._-", *c) &&
                !((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
                *c = '_';
        app = fallback;
    }
    size_t alen = strlen(app);
    if (alen > 200)
        return cprof__fail("push: application name \"%.40s...\" is longer than 200", app);
    for (size_t i = 0; i < alen; i++) {
        char c = app[i];
        if (!strchr("._-", c) &&
            !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return cprof__fail("push: application name \"%s\": use letters, digits and . _ -", app);
    }
    size_t n = (size_t)snprintf(push.name, sizeof push.name, "%s{", app);
    int pairs = 0;
    for (const char *p = labels && *labels ? labels : NULL; p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq || !label_key_ok(p, (size_t)(eq - p)) ||
            !label_value_ok(eq + 1, len - (size_t)(eq - p) - 1))
            return cprof__fail("push: labels \"%s\": want k=v,k=v (k: letters, digits, _; "
                               "v: no spaces or , { } = \" \\)",
                               labels);
        if (++pairs > MAX_LABELS || n + len + 2 >= sizeof push.name)
            return cprof__fail("push: too many labels in \"%.60s\"", labels);
        n += (size_t)snprintf(push.name + n, sizeof push.name - n, "%s%.*s", pairs > 1 ? "," : "",
                              (int)len, p);
        p = end ? end + 1 : NULL;
    }
    snprintf(push.name + n, sizeof push.name - n, "}");
    return 0;
}

static int set_url(const char *url)
{
    size_t len = strlen(url);
    int https = !strncmp(url, "https://", 8);
    if (strncmp(url, "http://", 7) && !https)
        return cprof__fail("push: URL \"%s\" is not http://HOST[:PORT] or https://...", url);
    if (len >= sizeof push.url - 16 || strpbrk(url, "?# \t\r\n"))
        return cprof__fail("push: URL \"%.60s\": want the server's base URL, without a query", url);
    while (len > 8 && url[len - 1] == '/')
        len--;
    memcpy(push.url, url, len);
    push.url[len] = '\0';
    /* Messages must not print a password given as user:password@host. */
    const char *host = push.url + (https ? 8 : 7);
    const char *at = strchr(host, '@');
    const char *slash = strchr(host, '/');
    if (at && (!slash || at < slash))
        snprintf(push.shown, sizeof push.shown, "%.*s%s", (int)(host - push.url), push.url, at + 1);
    else
        snprintf(push.shown, sizeof push.shown, "%s", push.url);
    return 0;
}

/* ---- Time --------------------------------------------------------------------------------- */

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Unix seconds, rounded to the nearest: an interval's end is the next one's
 * start, so that the server sees adjacent intervals, not overlapping ones. */
static long long unix_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec + (ts.tv_nsec >= 500000000);
}

/* ---- The queue ---------------------------------------------------------------------------- */

static void enqueue(uint8_t *data, size_t len, long long from, long long until, const char *what)
{
    if (push.count == QUEUE_MAX) { /* the oldest is the least worth sending */
        free(push.queue[push.head].data);
        push.head = (push.head + 1) % QUEUE_MAX;
        push.count--;
        push.dropped++;
    }
    struct item *it = &push.queue[(push.head + push.count) % QUEUE_MAX];
    *it = (struct item){data, len, from, until, what};
    push.count++;
}

static void dequeue(void)
{
    free(push.queue[push.head].data);
    push.queue[push.head].data = NULL;
    push.head = (push.head + 1) % QUEUE_MAX;
    push.count--;
}

/* ---- Profiles ------------------------------------------------------------------------------ */

struct interval {
    long long from; /* Unix seconds */
    int cpu_on;     /* this thread started CPU profiling */
};

static void begin_interval(struct interval *iv)
{
    iv->cpu_on = cprof__cpu_start_to_memory(push.hz) == 0;
    if (!iv->cpu_on) {
        /* Someone else profiles (cprof run -cpuprofile, profile?seconds=N,
         * cprof_cpu_start): theirs wins; heap profiles still go. */
        push.cpu_skipped++;
        if (!push.warned_cpu) {
            push.warned_cpu = 1;
            cprof__warn("push: no CPU profile for this interval (%s); skipped intervals are "
                        "counted, heap profiles are still pushed",
                        cprof_last_error());
        }
    }
}

static void end_interval(struct interval *iv)
{
    long long until = unix_seconds();
    if (until <= iv->from) /* an interval of 1 s that began late in its second */
        until = iv->from + 1;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (iv->cpu_on) {
        if (cprof__cpu_stop_to_memory(&buf, &len) == 0 && buf)
            enqueue(buf, len, iv->from, until, "cpu");
        else
            free(buf);
    }
    buf = NULL;
    if (cprof__heap_table() && cprof__heap_encode_default("inuse_space", &buf, &len) == 0 && buf)
        enqueue(buf, len, iv->from, until, "heap");
    else
        free(buf);
    iv->from = until;
}

/* ---- HTTP ------------------------------------------------------------------------------------ */

enum outcome { SENT, RETRY, REJECTED, ABORTED };

struct reply {
    char text[160];
    size_t len;
};

static size_t keep_reply(char *data, size_t size, size_t n, void *arg)
{
    struct reply *r = arg;
    size_t bytes = size * n, room = sizeof r->text - 1 - r->len;
    size_t take = bytes < room ? bytes : room;
    memcpy(r->text + r->len, data, take);
    r->len += take;
    r->text[r->len] = '\0';
    return bytes;
}

/* libcurl calls this at least once a second during a transfer: a stop at exit
 * aborts a POST in flight instead of waiting out its timeout. */
static int abort_if_stopping(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)arg, (void)a, (void)b, (void)c, (void)d;
    return atomic_load(&push.stopping);
}

static void setup(CURL *curl, struct curl_slist *headers, struct reply *reply)
{
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM in someone else's process */
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)REQUEST_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, abort_if_stopping);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_reply);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    static char agent[64];
    snprintf(agent, sizeof agent, "cprof/%s", cprof_version());
    curl_easy_setopt(curl, CURLOPT_USERAGENT, agent);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
}

static enum outcome post(CURL *curl, const struct item *it, struct reply *reply, char *why,
                         size_t whylen)
{
    char *name = curl_easy_escape(curl, push.name, 0);
    char url[sizeof push.url + sizeof push.name * 3 + 160];
    snprintf(url, sizeof url,
             "%s/ingest?name=%s&from=%lld&until=%lld&format=pprof&sampleRate=%d&spyName=cprof",
             push.url, name ? name : "", it->from, it->until, push.hz);
    curl_free(name);
    curl_mime *form = curl_mime_init(curl);
    curl_mimepart *part = form ? curl_mime_addpart(form) : NULL;
    if (!part) {
        curl_mime_free(form);
        snprintf(why, whylen, "out of memory");
        return RETRY;
    }
    /* A form *file* field, as the reference's examples send it (curl -F
     * profile=@file, Go's CreateFormFile). */
    curl_mime_name(part, "profile");
    curl_mime_filename(part, "profile.pprof");
    curl_mime_type(part, "application/octet-stream");
    curl_mime_data(part, (const char *)it->data, it->len);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, form);
    reply->len = 0;
    reply->text[0] = '\0';
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, NULL);
    curl_mime_free(form);
    if (atomic_load(&push.stopping))
        return ABORTED;
    if (rc != CURLE_OK) {
        snprintf(why, whylen, "%s", curl_easy_strerror(rc));
        return RETRY;
    }
    if (status >= 200 && status < 300)
        return SENT;
    for (char *c = reply->text; *c; c++) /* one line on stderr, whatever the server says */
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    snprintf(why, whylen, "HTTP %ld%s%s", status, reply->len ? ": " : "", reply->text);
    /* A 3xx (not followed: a redirect would drop the credentials) or a 4xx
     * other than a timeout or rate limit says this request will never be
     * taken: resending it would block the queue for nothing. 5xx: retry. */
    return status < 500 && status != 408 && status != 429 ? REJECTED : RETRY;
}

/* ---- The thread ---------------------------------------------------------------------------- */

static long long next_backoff(long long previous)
{
    long long ms = previous ? previous * 2 : BACKOFF_FIRST_MS;
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    /* Up to 10% more, so that a fleet that lost its server together does not
     * come back in step. xorshift32: no libc state shared with the program. */
    push.rng ^= push.rng << 13;
    push.rng ^= push.rng >> 17;
    push.rng ^= push.rng << 5;
    return ms + (long long)(push.rng % (uint32_t)(ms / 10 + 1));
}

static void sent_one(enum outcome outcome, const char *why)
{
    const struct item *it = &push.queue[push.head];
    if (outcome == SENT && push.failing) {
        cprof__warn("push to %s works again after %lu failed attempts; %lu profiles dropped "
                    "meanwhile",
                    push.shown, push.outage_failures, push.dropped - push.outage_dropped_at_start);
        push.failing = 0;
    } else if (outcome == REJECTED) {
        push.dropped++;
        if (!push.warned_reject) {
            push.warned_reject = 1;
            cprof__warn("push to %s: the server refused a %s profile (%s); refused profiles "
                        "are dropped",
                        push.shown, it->what, why);
        }
    }
    if (outcome == SENT)
        push.sent++;
    dequeue();
}

static void timed_wait(long long until_ms)
{
    long long ms = until_ms - mono_ms();
    if (ms <= 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&push.wake, &push.lock, &ts);
}

static void *push_main(void *unused)
{
    (void)unused;
    /* Everything this thread allocates (profiles, libcurl's buffers) is
     * cprof's, not the program's: keep it out of the heap profile. */
    cprof__heap_enter_internal();
    pthread_setname_np(pthread_self(), "cprof-push"); /* for top -H and ps -L */
    struct reply reply = {{0}, 0};
    CURL *curl = curl_easy_init();
    /* libcurl waits up to a second for "100 Continue" before a large body;
     * Pyroscope needs no such handshake. */
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    if (!curl || !headers) {
        cprof__warn("push: cannot set up libcurl; not pushing");
        curl_slist_free_all(headers);
        curl_easy_cleanup(curl);
        return NULL;
    }
    setup(curl, headers, &reply);

    struct interval iv = {unix_seconds(), 0};
    begin_interval(&iv);
    long long next_tick = mono_ms() + push.interval_ms, next_try = 0, backoff = 0;
    pthread_mutex_lock(&push.lock);
    while (!atomic_load(&push.stopping)) {
        long long now = mono_ms();
        if (now >= next_tick) {
            pthread_mutex_unlock(&push.lock);
            end_interval(&iv);
            begin_interval(&iv);
            pthread_mutex_lock(&push.lock);
            next_tick += push.interval_ms;
            if (next_tick <= now) /* a slow POST ate whole intervals: do not catch up */
                next_tick = now + push.interval_ms;
            continue;
        }
        if (push.count && now >= next_try) {
            char why[256];
            pthread_mutex_unlock(&push.lock);
            enum outcome outcome = post(curl, &push.queue[push.head], &reply, why, sizeof why);
            pthread_mutex_lock(&push.lock);
            if (outcome == ABORTED)
                break;
            if (outcome == RETRY) {
                if (!push.failing) {
                    push.failing = 1;
                    push.outage_failures = 0;
                    push.outage_dropped_at_start = push.dropped;
                    cprof__warn("push to %s failed (%s); retrying with back-off, keeping the "
                                "newest %d profiles",
                                push.shown, why, QUEUE_MAX);
                }
                push.outage_failures++;
                backoff = next_backoff(backoff);
                next_try = mono_ms() + backoff;
            } else {
                sent_one(outcome, why);
                backoff = 0;
                next_try = 0;
            }
            continue;
        }
        timed_wait(push.count && next_try < next_tick ? next_try : next_tick);
    }
    pthread_mutex_unlock(&push.lock);

    if (iv.cpu_on)
        cprof__cpu_stop_to_memory(NULL, NULL); /* nobody will send it */
    /* What was lost, said once at the end (what is still queued at exit is
     * not counted: a healthy run says nothing). */
    if (push.dropped || push.cpu_skipped)
        cprof__warn("push to %s: %lu profiles sent, %lu dropped, %lu CPU intervals skipped",
                    push.shown, push.sent, push.dropped, push.cpu_skipped);
    while (push.count)
        dequeue();
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return NULL;
}

/* ---- Start, stop, fork ------------------------------------------------------------------------
 */

/* The thread does not survive fork, and the child is not the process the
 * user asked to push from: it forgets the parent's state. The queue's
 * buffers may have been in use by the parent's thread: they are left, not
 * freed. */
static void atfork_child(void)
{
    pthread_mutex_init(&push.lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&push.wake, &attr);
    pthread_condattr_destroy(&attr);
    push.running = 0;
    atomic_store(&push.stopping, 0);
    push.count = push.head = 0;
}

static void at_exit(void)
{
    cprof__push_stop();
}

static int curl_ready;

static void register_once(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&push.wake, &attr);
    pthread_condattr_destroy(&attr);
    pthread_atfork(NULL, NULL, atfork_child);
    /* Before the thread exists: curl_global_init is not safe against
     * concurrent use of libcurl. And before our atexit: the TLS library may
     * register its own cleanup with atexit here, and handlers run in reverse
     * order, so ours (stopping the thread) must be registered after it. */
    curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    /* Registered after the agent's handler too, so it runs before it: the
     * thread is gone before the profiles due at exit are written. */
    atexit(at_exit);
}

int cprof__push_start(const struct cprof_push_config *config)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (!config || !config->url || !*config->url)
        return cprof__fail("push: no URL");
    pthread_mutex_lock(&push.lock);
    int running = push.running;
    pthread_mutex_unlock(&push.lock);
    if (running)
        return cprof__fail("push: already pushing to %s", push.shown);

    long long interval = DEFAULT_INTERVAL;
    if (config->interval && *config->interval) {
        interval = cprof__push_parse_duration(config->interval);
        if (interval < MIN_INTERVAL || interval > MAX_INTERVAL) {
            cprof__warn("CPROF_PUSH_INTERVAL=%s: not a duration from 1s to 24h (10s, 1m, "
                        "1m30s); using 15s",
                        config->interval);
            interval = DEFAULT_INTERVAL;
        }
    }
    if (set_url(config->url) < 0 || build_name(config->app, config->labels) < 0)
        return -1;
    push.interval_ms = interval;
    push.hz = config->hz >= 1 && config->hz <= 10000 ? config->hz : 100;
    push.rng = (uint32_t)getpid() * 2654435761u ^ (uint32_t)mono_ms();
    if (!push.rng)
        push.rng = 1;

    pthread_once(&once, register_once);
    if (!curl_ready)
        return cprof__fail("push: libcurl cannot be initialised (curl_global_init)");
    /* What is pushed needs heap sampling (at the default rate unless the
     * user chose one) and the background thread, as the endpoint does. */
    if (!cprof__heap_table() && cprof__heap_start(512 * 1024) < 0)
        cprof__warn("push: %s; only CPU profiles are pushed", cprof_last_error());
    cprof__agent_start();

    pthread_mutex_lock(&push.lock);
    atomic_store(&push.stopping, 0);
    cprof__heap_enter_internal(); /* the thread's stack and TLS are cprof's */
    int err = cprof__thread_create_internal(&push.thread, push_main, NULL);
    cprof__heap_leave_internal();
    push.running = err == 0;
    pthread_mutex_unlock(&push.lock);
    if (err)
        return cprof__fail("push: cannot start its thread: %s", strerror(err));
    return 0;
}

void cprof__push_stop(void)
{
    pthread_mutex_lock(&push.lock);
    if (!push.running) {
        pthread_mutex_unlock(&push.lock);
        return;
    }
    push.running = 0;
    atomic_store(&push.stopping, 1);
    pthread_cond_signal(&push.wake);
    pthread_t thread = push.thread;
    pthread_mutex_unlock(&push.lock);
    /* Bounded: exit must not hang on a server that does not answer. A
     * thread still busy after that is left to die with the process. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += STOP_WAIT_MS / 1000;
    if (pthread_timedjoin_np(thread, NULL, &deadline) != 0)
        pthread_detach(thread);
}
