/*
 * load.c: filesearch-load, a load generator for filesearch. Opens -c
 * keep-alive HTTP/1.1 connections to the server (loopback only), each on its
 * own thread, and sends the same search on each, one request after another,
 * for -duration; then prints requests/s, errors and latency percentiles.
 *
 * Plain sockets and a minimal HTTP/1.1 client: enough for filesearch's
 * answers (Content-Length bodies), not a general-purpose client.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flags.h"

#define MAX_CONNECTIONS  256
#define MAX_DURATION_MS  (3600L * 1000)
#define IO_TIMEOUT_S     30 /* a request that takes longer counts as an error */
#define MAX_RESPONSE     (256L * 1024 * 1024)
#define CONNECT_RETRY_NS (100L * 1000 * 1000)

static const char *prog = "filesearch-load";

struct target {
    struct sockaddr_in addr;
    char hostport[80]; /* for the Host header */
    char path[256];
};

/* What every worker shares, read-only once the workers run. */
struct load {
    struct target target;
    char *request; /* the whole HTTP request, headers and body */
    size_t request_len;
    struct timespec deadline;
};

struct worker {
    const struct load *load;
    pthread_t thread;
    int fd;      /* -1 when not connected */
    bool reused; /* fd has carried a request already */
    char *buf;
    size_t cap;
    /* results */
    double *latency_ms; /* of the successful requests */
    size_t ok, errors, cap_latency;
    long total; /* "total" of the first good answer; -1 until then */
    char first_error[160];
};

/* ---- Time ---------------------------------------------------------------- */

static struct timespec now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static double ms_between(struct timespec a, struct timespec b)
{
    return (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
}

static bool before(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* ---- The target ---------------------------------------------------------- */

/* http://HOST[:PORT][/PATH], HOST being 127.x.y.z or localhost. */
static bool parse_url(const char *url, struct target *t)
{
    const char *scheme = "http://";
    if (strncmp(url, scheme, strlen(scheme)) != 0) {
        fprintf(stderr, "%s: -url must start with http://, not \"%s\"\n", prog, url);
        return false;
    }
    const char *host = url + strlen(scheme);
    size_t hostlen = strcspn(host, ":/");
    const char *rest = host + hostlen;
    char name[64];
    if (hostlen == 0 || hostlen >= sizeof name) {
        fprintf(stderr, "%s: -url has no usable host: \"%s\"\n", prog, url);
        return false;
    }
    memcpy(name, host, hostlen);
    name[hostlen] = '\0';

    long port = 80;
    if (*rest == ':') {
        char *end;
        port = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || port < 1 || port > 65535 || (*end != '\0' && *end != '/')) {
            fprintf(stderr, "%s: -url has a bad port: \"%s\"\n", prog, url);
            return false;
        }
        rest = end;
    }
    const char *path = *rest ? rest : "/search";
    if (strlen(path) >= sizeof t->path || strpbrk(path, " \r\n") != NULL) {
        fprintf(stderr, "%s: -url has a bad path: \"%s\"\n", prog, url);
        return false;
    }

    memset(&t->addr, 0, sizeof t->addr);
    t->addr.sin_family = AF_INET;
    t->addr.sin_port = htons((uint16_t)port);
    if (strcmp(name, "localhost") == 0) {
        t->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (inet_pton(AF_INET, name, &t->addr.sin_addr) != 1 ||
               (ntohl(t->addr.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "%s: refusing to load %s: only loopback targets (127.0.0.0/8, localhost)\n",
                prog, name);
        return false;
    }
    snprintf(t->hostport, sizeof t->hostport, "%s:%ld", name, port);
    snprintf(t->path, sizeof t->path, "%s", path);
    return true;
}

/* The search request as JSON, made with json-c. NULL when out of memory. */
static char *request_body(const char *pattern, const char *paths, long max_results)
{
    struct json_object *root = json_object_new_object();
    struct json_object *list = json_object_new_array();
    if (root == NULL || list == NULL) {
        json_object_put(root);
        json_object_put(list);
        return NULL;
    }
    json_object_object_add(root, "pattern", json_object_new_string(pattern));
    json_object_object_add(root, "paths", list);
    for (const char *p = paths; *p;) {
        size_t len = strcspn(p, ",");
        if (len > 0)
            json_object_array_add(list, json_object_new_string_len(p, (int)len));
        p += len + (p[len] == ',');
    }
    json_object_object_add(root, "max_results", json_object_new_int64(max_results));
    const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE);
    char *copy = text ? strdup(text) : NULL;
    json_object_put(root);
    return copy;
}

static bool build_request(struct load *load, const char *body)
{
    size_t blen = strlen(body);
    int n = asprintf(&load->request,
                     "POST %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "User-Agent: filesearch-load\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n"
                     "%s",
                     load->target.path, load->target.hostport, blen, body);
    if (n < 0)
        return false;
    load->request_len = (size_t)n;
    return true;
}

/* ---- One connection --------------------------------------------------------- */

static void set_error(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct worker *w, const char *fmt, ...)
{
    if (w->first_error[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->first_error, sizeof w->first_error, fmt, ap);
    va_end(ap);
}

static void disconnect(struct worker *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    w->reused = false;
}

static bool connect_target(struct worker *w)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_error(w, "socket: %s", strerror(errno));
        return false;
    }
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)&w->load->target.addr, sizeof w->load->target.addr) !=
        0) {
        set_error(w, "connect to %s: %s", w->load->target.hostport, strerror(errno));
        close(fd);
        return false;
    }
    w->fd = fd;
    w->reused = false;
    return true;
}

static bool send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads more of the response into w->buf[*len..]. 0 at EOF, -1 on error. */
static ssize_t read_more(struct worker *w, size_t *len)
{
    if (*len == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 65536;
        if (cap > MAX_RESPONSE) {
            errno = EFBIG;
            return -1;
        }
        char *buf = realloc(w->buf, cap + 1);
        if (buf == NULL)
            return -1;
        w->buf = buf;
        w->cap = cap;
    }
    ssize_t n;
    do
        n = recv(w->fd, w->buf + *len, w->cap - *len, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        *len += (size_t)n;
    return n;
}

/* The value of header `name` in the header block, or NULL. */
static const char *header_value(const char *headers, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    for (const char *line = strstr(headers, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            v += strspn(v, " \t");
            *vlen = strcspn(v, "\r\n");
            return v;
        }
    }
    return NULL;
}

enum exchange_result { EXCHANGE_OK, EXCHANGE_IO, EXCHANGE_CLOSED_EARLY };

/* Sends the request and reads the response on the worker's connection.
 * On EXCHANGE_OK, *status is set and the body is at *body (in w->buf). */
static enum exchange_result exchange(struct worker *w, int *status, const char **body,
                                     size_t *body_len)
{
    const struct load *load = w->load;
    if (!send_all(w->fd, load->request, load->request_len)) {
        set_error(w, "send: %s", strerror(errno));
        return EXCHANGE_IO;
    }
    size_t len = 0;
    char *end_of_headers = NULL;
    while (end_of_headers == NULL) {
        ssize_t n = read_more(w, &len);
        if (n == 0 && len == 0)
            return EXCHANGE_CLOSED_EARLY;
        if (n <= 0) {
            set_error(w, "reading the response: %s",
                      n == 0 ? "connection closed" : strerror(errno));
            return EXCHANGE_IO;
        }
        w->buf[len] = '\0';
        end_of_headers = strstr(w->buf, "\r\n\r\n");
    }
    *end_of_headers = '\0';
    if (sscanf(w->buf, "HTTP/1.%*d %d", status) != 1) {
        set_error(w, "malformed response status line");
        return EXCHANGE_IO;
    }
    size_t vlen;
    const char *v = header_value(w->buf, "Content-Length", &vlen);
    if (v == NULL) {
        set_error(w, "response without Content-Length (unsupported)");
        return EXCHANGE_IO;
    }
    size_t content_length = strtoul(v, NULL, 10);
    v = header_value(w->buf, "Connection", &vlen);
    bool close_after = v != NULL && vlen == 5 && strncasecmp(v, "close", 5) == 0;

    size_t header_len = (size_t)(end_of_headers - w->buf) + 4;
    while (len - header_len < content_length) {
        ssize_t n = read_more(w, &len);
        if (n <= 0) {
            set_error(w, "reading the body: %s", n == 0 ? "connection closed" : strerror(errno));
            return EXCHANGE_IO;
        }
    }
    w->buf[header_len + content_length] = '\0';
    *body = w->buf + header_len;
    *body_len = content_length;
    if (close_after)
        disconnect(w);
    else
        w->reused = true;
    return EXCHANGE_OK;
}

/* The "total" of a search answer, or -1. */
static long answer_total(const char *body, size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    if (tok == NULL)
        return -1;
    struct json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    struct json_object *total;
    long n = -1;
    if (root && json_object_object_get_ex(root, "total", &total))
        n = (long)json_object_get_int64(total);
    json_object_put(root);
    json_tokener_free(tok);
    return n;
}

static bool record_latency(struct worker *w, double ms)
{
    if (w->ok == w->cap_latency) {
        size_t cap = w->cap_latency ? w->cap_latency * 2 : 4096;
        double *lat = realloc(w->latency_ms, cap * sizeof *lat);
        if (lat == NULL)
            return false;
        w->latency_ms = lat;
        w->cap_latency = cap;
    }
    w->latency_ms[w->ok++] = ms;
    return true;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct timespec retry = {.tv_nsec = CONNECT_RETRY_NS};
    while (before(now(), w->load->deadline)) {
        if (w->fd < 0 && !connect_target(w)) {
            w->errors++;
            nanosleep(&retry, NULL);
            continue;
        }
        struct timespec start = now();
        int status = 0;
        const char *body = NULL;
        size_t body_len = 0;
        enum exchange_result r = exchange(w, &status, &body, &body_len);
        if (r == EXCHANGE_CLOSED_EARLY && w->reused) {
            /* the server closed an idle keep-alive connection: not an error */
            disconnect(w);
            continue;
        }
        double ms = ms_between(start, now());
        if (r != EXCHANGE_OK) {
            if (r == EXCHANGE_CLOSED_EARLY)
                set_error(w, "connection closed before the response");
            disconnect(w);
            w->errors++;
        } else if (status != 200) {
            set_error(w, "HTTP %d: %.100s", status, body);
            w->errors++;
        } else {
            if (w->total < 0)
                w->total = answer_total(body, body_len);
            if (!record_latency(w, ms)) {
                set_error(w, "out of memory");
                w->errors++;
                break;
            }
        }
    }
    disconnect(w);
    return NULL;
}

/* ---- Report ------------------------------------------------------------------ */

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted values. */
static double percentile(const double *sorted, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return sorted[rank > 0 ? rank - 1 : 0];
}

static int report(struct worker *workers, size_t nworkers, double seconds, const char *url)
{
    size_t ok = 0, errors = 0;
    long total = -1;
    const char *first_error = NULL;
    for (size_t i = 0; i < nworkers; i++) {
        ok += workers[i].ok;
        errors += workers[i].errors;
        if (total < 0)
            total = workers[i].total;
        if (first_error == NULL && workers[i].first_error[0] != '\0')
            first_error = workers[i].first_error;
    }
    double *all = malloc((ok ? ok : 1) * sizeof *all);
    if (all == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    size_t k = 0;
    for (size_t i = 0; i < nworkers; i++) {
        if (workers[i].ok > 0)
            memcpy(all + k, workers[i].latency_ms, workers[i].ok * sizeof *all);
        k += workers[i].ok;
    }
    if (ok > 1)
        qsort(all, ok, sizeof *all, compare_doubles);

    printf("target:     POST %s, %zu connections, %.1f s\n", url, nworkers, seconds);
    if (total >= 0)
        printf("answers:    %ld matches each\n", total);
    printf("requests:   %zu ok, %zu errors, %.1f requests/s\n", ok, errors, (double)ok / seconds);
    if (ok > 0)
        printf("latency:    p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
               percentile(all, ok, 50), percentile(all, ok, 90), percentile(all, ok, 99),
               all[ok - 1]);
    if (first_error)
        printf("first error: %s\n", first_error);
    free(all);
    return errors == 0 && ok > 0 ? 0 : 1;
}

static void usage(FILE *out, const struct flag *flags, size_t nflags)
{
    fprintf(out,
            "usage: %s [flags]\n\n"
            "Sends the same search to a filesearch server on -c connections for -duration\n"
            "and prints requests/s and latency percentiles. Loopback targets only.\n\n"
            "flags:\n",
            prog);
    flags_print_usage(out, flags, nflags);
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    long port = 0, duration_ms = 10000, conns = 8, max_results = 100;
    const char *pattern = "pthread_(mutex|cond)_[a-z]+", *paths = "/usr/include";
    const struct flag flags[] = {
        {"url", FLAG_STRING, &url, "URL",
         "the search endpoint (default http://127.0.0.1:8080/search)", 0, 0},
        {"port", FLAG_INT, &port, "N", "shorthand for -url=http://127.0.0.1:N/search", 1, 65535},
        {"duration", FLAG_DURATION, &duration_ms, "D", "how long to send requests (default 10s)", 1,
         MAX_DURATION_MS},
        {"c", FLAG_INT, &conns, "N", "concurrent connections, one thread each (default 8)", 1,
         MAX_CONNECTIONS},
        {"pattern", FLAG_STRING, &pattern, "ERE", "the pattern to search for", 0, 0},
        {"paths", FLAG_STRING, &paths, "DIR,...",
         "comma-separated paths to search (default /usr/include)", 0, 0},
        {"max_results", FLAG_INT, &max_results, "N", "max_results of each search (default 100)", 0,
         100000},
    };
    const size_t nflags = sizeof flags / sizeof flags[0];
    switch (flags_parse(prog, flags, nflags, argc, argv)) {
    case FLAGS_OK:
        break;
    case FLAGS_HELP:
        usage(stdout, flags, nflags);
        return 0;
    case FLAGS_BAD:
        return 2;
    }
    if (url && port) {
        fprintf(stderr, "%s: give -url or -port, not both\n", prog);
        return 2;
    }
    char url_buf[64];
    if (url == NULL) {
        snprintf(url_buf, sizeof url_buf, "http://127.0.0.1:%ld/search", port ? port : 8080);
        url = url_buf;
    }

    struct load load = {0};
    if (!parse_url(url, &load.target))
        return 2;
    char *body = request_body(pattern, paths, max_results);
    if (body == NULL || !build_request(&load, body)) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    free(body);

    struct worker *workers = calloc((size_t)conns, sizeof *workers);
    if (workers == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    struct timespec start = now();
    load.deadline = start;
    load.deadline.tv_sec += duration_ms / 1000;
    load.deadline.tv_nsec += (duration_ms % 1000) * 1000000L;
    if (load.deadline.tv_nsec >= 1000000000L) {
        load.deadline.tv_sec++;
        load.deadline.tv_nsec -= 1000000000L;
    }

    size_t started = 0;
    for (; started < (size_t)conns; started++) {
        struct worker *w = &workers[started];
        *w = (struct worker){.load = &load, .fd = -1, .total = -1};
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            fprintf(stderr, "%s: cannot start connection thread: %s\n", prog, strerror(rc));
            break;
        }
    }
    for (size_t i = 0; i < started; i++)
        pthread_join(workers[i].thread, NULL);
    double seconds = ms_between(start, now()) / 1e3;

    int rc = started > 0 ? report(workers, started, seconds, url) : 1;
    for (size_t i = 0; i < started; i++) {
        free(workers[i].buf);
        free(workers[i].latency_ms);
    }
    free(workers);
    free(load.request);
    return rc;
}
