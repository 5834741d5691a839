/*
 * pyroscope_receiver.c: a stand-in for a Grafana Pyroscope server, for the
 * push tests. It checks every request the way Pyroscope's HTTP API reference
 * specifies an ingest request ("Pyroscope server HTTP API", Ingestion and
 * "pprof format": grafana.com/docs/pyroscope/latest/configure-server/about-server-api/):
 *
 *   POST /ingest with query parameters name (APP{k=v,...}), from and until
 *   (Unix seconds), format=pprof, sampleRate (Hz), spyName, and nothing the
 *   reference does not list; a multipart/form-data body whose form *file*
 *   field `profile` holds the pprof profile (and, optionally, the fields
 *   `prev_profile` and `sample_type_config` the reference also names).
 *
 * The profile must gunzip to a valid pprof profile (src/format's reader) whose
 * sample types are Go's CPU or heap types, the ones the reference says the
 * server knows without a sample_type_config.
 *
 * One line per request is appended to the -out file:
 *   t=UNIX_MS status=CODE app=APP labels=K=V,... from=F until=U format=pprof
 *   sampleRate=HZ spyName=S type=cpu|heap bytes=N samples=N fn=0|1 result=ok|ERR:why
 * A request that breaks a rule gets 400 and result=ERR:<rule>.
 *
 * usage: pyroscope_receiver -port N (0: any; the port is printed) -out FILE
 *        [-fail N (the first N well-formed requests get 500)] [-cpu FUNC]
 *        [-heap FUNC] (fn=1 when FUNC is on a stack with a non-zero value in
 *        a CPU, resp. heap, profile)
 * Runs until SIGTERM or SIGINT, or 300 s at most.
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "pprof_read.h"

#define MAX_BODY (32u << 20)

static FILE *out;
static int fail_left;
static const char *cpu_fn = "", *heap_fn = "";
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

struct request {
    char *body;
    size_t len;
    int too_big;
};

struct seen {
    const char *app_end; /* into name */
    char app[256], labels[1024];
    const char *type;
    size_t samples;
    int hot;
    char why[256];
};

static int fail(struct seen *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct seen *s, const char *fmt, ...)
{
    if (s->why[0])
        return -1; /* the first broken rule is the one reported */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
    for (char *c = s->why; *c; c++)
        if (*c == ' ' || *c == '\n')
            *c = '_';
    return -1;
}

static int all_digits(const char *v)
{
    return v && *v && strspn(v, "0123456789") == strlen(v);
}

/* ---- The query -------------------------------------------------------------------- */

static const char *const known_params[] = {"name",       "from",    "until", "format",
                                           "sampleRate", "spyName", "units", "aggregationType"};

static enum MHD_Result check_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct seen *s = cls;
    (void)kind;
    (void)value;
    for (size_t i = 0; i < sizeof known_params / sizeof known_params[0]; i++)
        if (!strcmp(key, known_params[i]))
            return MHD_YES;
    fail(s, "query parameter %s is not in the reference", key);
    return MHD_YES;
}

/* name: APP{k=v,...} (the braces may be empty). */
static void check_name(struct seen *s, const char *name)
{
    if (!name || !*name) {
        fail(s, "no name");
        return;
    }
    const char *brace = strchr(name, '{');
    size_t len = strlen(name);
    if (!brace || name[len - 1] != '}' || brace == name) {
        fail(s, "name %s is not APP{k=v,...}", name);
        return;
    }
    size_t alen = (size_t)(brace - name);
    if (alen >= sizeof s->app || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789._-") != alen) {
        fail(s, "application name in %s", name);
        return;
    }
    memcpy(s->app, name, alen);
    s->app[alen] = '\0';
    size_t llen = len - alen - 2;
    if (llen >= sizeof s->labels) {
        fail(s, "labels too long");
        return;
    }
    memcpy(s->labels, brace + 1, llen);
    s->labels[llen] = '\0';
    for (char *p = s->labels; llen && p;) {
        char *end = strchr(p, ',');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        size_t key = strcspn(p, "=");
        if (!key || key >= plen || key + 1 == plen || (p[0] >= '0' && p[0] <= '9') ||
            strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != key ||
            strcspn(p + key + 1, "{}=") < plen - key - 1) {
            fail(s, "label in %s", name);
            return;
        }
        p = end ? end + 1 : NULL;
    }
}

static void check_query(struct seen *s, struct MHD_Connection *c)
{
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, check_param, s);
    check_name(s, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name"));
    const char *from = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from");
    const char *until = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "until");
    const char *format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    const char *rate = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sampleRate");
    const char *spy = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "spyName");
    long long now = (long long)time(NULL);
    if (!all_digits(from) || !all_digits(until))
        fail(s, "from/until are not Unix seconds");
    else if (atoll(from) < now - 3600 || atoll(until) > now + 60 || atoll(from) >= atoll(until))
        fail(s, "from=%s until=%s are not a recent interval (now %lld)", from, until, now);
    if (!format || strcmp(format, "pprof"))
        fail(s, "format is not pprof");
    if (!all_digits(rate) || atol(rate) < 1 || atol(rate) > 10000)
        fail(s, "sampleRate is not a rate in Hz");
    if (!spy || !*spy || strspn(spy, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(spy))
        fail(s, "spyName");
}

/* ---- The body --------------------------------------------------------------------- */

static const char *find(const char *hay, size_t haylen, const char *needle, size_t nlen)
{
    return nlen ? memmem(hay, haylen, needle, nlen) : hay;
}

/* The value of `attr="..."` in a Content-Disposition header line, or NULL. */
static int disposition_attr(const char *headers, size_t len, const char *attr, char *out,
                            size_t outlen)
{
    char key[64];
    snprintf(key, sizeof key, "; %s=\"", attr);
    const char *p = find(headers, len, key, strlen(key));
    if (!p)
        return 0;
    p += strlen(key);
    const char *q = memchr(p, '"', len - (size_t)(p - headers));
    if (!q || (size_t)(q - p) >= outlen)
        return 0;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
    return 1;
}

static int function_on_stack(const cprof_profile *p, const char *fn)
{
    Perftools__Profiles__Profile *pb = p->pb;
    for (size_t i = 0; i < pb->n_sample; i++) {
        int nonzero = 0;
        for (size_t v = 0; v < pb->sample[i]->n_value; v++)
            nonzero |= pb->sample[i]->value[v] != 0;
        for (size_t l = 0; nonzero && l < pb->sample[i]->n_location_id; l++) {
            const Perftools__Profiles__Location *loc =
                cprof_profile_location(p, pb->sample[i]->location_id[l]);
            for (size_t k = 0; loc && k < loc->n_line; k++) {
                const Perftools__Profiles__Function *f =
                    cprof_profile_function(p, loc->line[k]->function_id);
                if (f && !strcmp(cprof_profile_str(p, f->name), fn))
                    return 1;
            }
        }
    }
    return 0;
}

static void check_profile(struct seen *s, const uint8_t *data, size_t len)
{
    if (len < 2 || data[0] != 0x1f || data[1] != 0x8b) {
        fail(s, "profile is not gzip'd");
        return;
    }
    char err[256];
    cprof_profile *p = cprof_profile_parse(data, len, err, sizeof err);
    if (!p) {
        fail(s, "profile does not parse: %s", err);
        return;
    }
    static const char *const cpu[] = {"samples", "count", "cpu", "nanoseconds"};
    static const char *const heap[] = {"alloc_objects", "count", "alloc_space", "bytes",
                                       "inuse_objects", "count", "inuse_space", "bytes"};
    Perftools__Profiles__Profile *pb = p->pb;
    int is_cpu = pb->n_sample_type == 2, is_heap = pb->n_sample_type == 4;
    for (size_t i = 0; i < pb->n_sample_type; i++) {
        const char *type = cprof_profile_str(p, pb->sample_type[i]->type);
        const char *unit = cprof_profile_str(p, pb->sample_type[i]->unit);
        is_cpu &= i < 2 && !strcmp(type, cpu[2 * i]) && !strcmp(unit, cpu[2 * i + 1]);
        is_heap &= i < 4 && !strcmp(type, heap[2 * i]) && !strcmp(unit, heap[2 * i + 1]);
    }
    s->type = is_cpu ? "cpu" : is_heap ? "heap" : "other";
    if (!is_cpu && !is_heap)
        fail(s, "sample types are not Go's cpu or heap types (no sample_type_config sent)");
    s->samples = pb->n_sample;
    const char *fn = is_cpu ? cpu_fn : heap_fn;
    s->hot = *fn && function_on_stack(p, fn);
    cprof_profile_free(p);
}

static void check_body(struct seen *s, struct MHD_Connection *c, const char *body, size_t len)
{
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (!type || strncmp(type, "multipart/form-data", 19)) {
        fail(s, "Content-Type %s is not multipart/form-data", type ? type : "(none)");
        return;
    }
    const char *b = strstr(type, "boundary=");
    if (!b) {
        fail(s, "no multipart boundary");
        return;
    }
    char delim[128];
    b += 9;
    size_t blen = *b == '"' ? strcspn(b + 1, "\"") : strcspn(b, "; ");
    if (!blen || blen > 70) {
        fail(s, "multipart boundary length");
        return;
    }
    snprintf(delim, sizeof delim, "--%.*s", (int)blen, *b == '"' ? b + 1 : b);
    size_t dlen = strlen(delim);
    /* RFC 2046: --B CRLF headers CRLF CRLF data CRLF --B ... CRLF --B-- */
    if (len < dlen + 2 || memcmp(body, delim, dlen) || memcmp(body + dlen, "\r\n", 2)) {
        fail(s, "body does not start with the boundary");
        return;
    }
    int profiles = 0;
    const char *p = body + dlen + 2, *end = body + len;
    for (;;) {
        const char *hend = find(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (!hend) {
            fail(s, "multipart part without headers");
            return;
        }
        char crlf_delim[132];
        snprintf(crlf_delim, sizeof crlf_delim, "\r\n%s", delim);
        const char *data = hend + 4;
        const char *next = find(data, (size_t)(end - data), crlf_delim, dlen + 2);
        if (!next) {
            fail(s, "multipart part not closed by the boundary");
            return;
        }
        char field[64] = "", filename[256] = "";
        size_t hlen = (size_t)(hend - p);
        const char *disp = find(p, hlen, "Content-Disposition: form-data", 30);
        if (!disp || !disposition_attr(p, hlen, "name", field, sizeof field)) {
            fail(s, "multipart part without Content-Disposition: form-data; name=");
            return;
        }
        if (!strcmp(field, "profile")) {
            profiles++;
            if (!disposition_attr(p, hlen, "filename", filename, sizeof filename))
                fail(s, "profile is not a form file field (no filename)");
            check_profile(s, (const uint8_t *)data, (size_t)(next - data));
        } else if (strcmp(field, "prev_profile") && strcmp(field, "sample_type_config")) {
            fail(s, "form field %s is not in the reference", field);
        }
        p = next + dlen + 2;
        if (end - p >= 2 && !memcmp(p, "--", 2))
            break;
        if (end - p < 2 || memcmp(p, "\r\n", 2)) {
            fail(s, "garbage after a multipart boundary");
            return;
        }
        p += 2;
    }
    if (profiles != 1)
        fail(s, "%d profile fields, want 1", profiles);
}

/* ---- The server ------------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result res = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return res;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **state)
{
    (void)cls;
    (void)version;
    struct request *req = *state;
    if (!req) {
        *state = calloc(1, sizeof *req);
        return *state ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        if (req->len + *upload_size > MAX_BODY) {
            req->too_big = 1;
        } else {
            char *grown = realloc(req->body, req->len + *upload_size);
            if (!grown)
                return MHD_NO;
            req->body = grown;
            memcpy(req->body + req->len, upload, *upload_size);
            req->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    struct seen s = {.type = "-"};
    if (strcmp(method, "POST"))
        fail(&s, "method %s is not POST", method);
    if (strcmp(url, "/ingest"))
        fail(&s, "path %s is not /ingest", url);
    if (req->too_big)
        fail(&s, "body larger than %u bytes", MAX_BODY);
    check_query(&s, c);
    if (!s.why[0])
        check_body(&s, c, req->body, req->len);
    unsigned status = 200;
    pthread_mutex_lock(&out_lock);
    if (s.why[0])
        status = 400;
    else if (fail_left > 0 && fail_left--)
        status = 500;
    struct timeval tv;
    gettimeofday(&tv, NULL);
#define Q(k) (MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k) ?: "-")
    fprintf(out,
            "t=%lld status=%u app=%s labels=%s from=%s until=%s format=%s sampleRate=%s "
            "spyName=%s type=%s bytes=%zu samples=%zu fn=%d result=%s%s\n",
            (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000, status, s.app[0] ? s.app : "-",
            s.labels[0] ? s.labels : "-", Q("from"), Q("until"), Q("format"), Q("sampleRate"),
            Q("spyName"), s.type, req->len, s.samples, s.hot, s.why[0] ? "ERR:" : "ok", s.why);
#undef Q
    fflush(out);
    pthread_mutex_unlock(&out_lock);
    return reply(c, status, status == 200 ? "" : status == 500 ? "injected failure\n" : s.why);
}

static void done(void *cls, struct MHD_Connection *c, void **state,
                 enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)c, (void)why;
    struct request *req = *state;
    if (req)
        free(req->body);
    free(req);
    *state = NULL;
}

int main(int argc, char **argv)
{
    int port = -1;
    const char *path = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-out"))
            path = argv[i + 1];
        else if (!strcmp(argv[i], "-fail"))
            fail_left = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-cpu"))
            cpu_fn = argv[i + 1];
        else if (!strcmp(argv[i], "-heap"))
            heap_fn = argv[i + 1];
    }
    if (port < 0 || port > 65535 || !path) {
        fprintf(stderr,
                "usage: pyroscope_receiver -port N -out FILE [-fail N] [-cpu FUNC] [-heap FUNC]\n");
        return 2;
    }
    out = fopen(path, "a");
    if (!out) {
        perror(path);
        return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* MHD's threads inherit the mask */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                         NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "pyroscope_receiver: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("%u\n", info ? info->port : 0);
    fflush(stdout);
    alarm(300);
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    fclose(out);
    return 0;
}
