/*
 * http.c: libmicrohttpd handlers for the routes of http.h.
 *
 * Threading: MHD runs one thread per connection (MHD_USE_THREAD_PER_CONNECTION),
 * and a search runs to completion on the thread of its connection. A slow
 * search then holds up only its own connection; with MHD's thread pool it
 * would also stall every other connection that pool thread serves. The
 * HTTP threads stay few and long-lived: one per open connection (at most
 * HTTP_MAX_CONNECTIONS), and a load generator keeps its connections alive.
 * So the threads a profile or a trace shows coming and going by the
 * thousand are the search's own (search_slow.c), not the server's.
 *
 * MHD calls the handler several times per request: once with the headers
 * (*con_cls is NULL), then once per piece of the body, then once more with
 * *upload_data_size == 0 when the body is complete; the answer is queued
 * then, so that the connection stays open for the next request. Only a
 * Content-Length over HTTP_MAX_BODY is answered at once, with 413 (MHD then
 * closes the connection rather than read the body).
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "json_io.h"

#include <cprof.h>

#define CONTENT_TYPE_JSON "application/json"
#define CONTENT_TYPE_TEXT "text/plain; charset=utf-8"

struct http_server {
    struct MHD_Daemon *daemon;
    struct search_engine *engine;
    uint16_t port;
};

/* A request's body, gathered across calls (only POST /search reads it). */
struct upload {
    char *data;
    size_t len, cap;
    bool too_large;
    bool profiling;    /* a /debug/pprof/ request, answered by cprof */
    void *cprof_state; /* cprof's per-request state */
};

/* Queues body (malloc'd; MHD frees it) as the answer. */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             char *body, size_t len, const char *allow)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    char *body = strdup(text);
    if (body == NULL)
        return MHD_NO;
    return reply(conn, status, CONTENT_TYPE_TEXT, body, strlen(body), NULL);
}

static enum MHD_Result reply_error(struct MHD_Connection *conn, unsigned status, const char *allow,
                                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* {"error": "..."} with the given status (and Allow header, for a 405). */
static enum MHD_Result reply_error(struct MHD_Connection *conn, unsigned status, const char *allow,
                                   const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    size_t len;
    char *body = json_io_format_error(message, &len);
    if (body == NULL)
        return MHD_NO;
    return reply(conn, status, CONTENT_TYPE_JSON, body, len, allow);
}

static enum MHD_Result reply_method_not_allowed(struct MHD_Connection *conn, const char *method,
                                                const char *url, const char *allow)
{
    return reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, allow, "method %s not allowed on %s",
                       method, url);
}

static bool append_body(struct upload *up, const char *data, size_t size)
{
    if (up->too_large || size > HTTP_MAX_BODY - up->len) {
        up->too_large = true; /* the rest is read and dropped */
        return true;
    }
    if (up->len + size > up->cap) {
        size_t cap = up->cap ? up->cap : 4096;
        while (cap < up->len + size)
            cap *= 2;
        char *data_new = realloc(up->data, cap);
        if (data_new == NULL)
            return false;
        up->data = data_new;
        up->cap = cap;
    }
    memcpy(up->data + up->len, data, size);
    up->len += size;
    return true;
}

static enum MHD_Result handle_search(struct http_server *srv, struct MHD_Connection *conn,
                                     const struct upload *up)
{
    char err[512];
    struct search_request req;
    if (!json_io_parse_request(up->data ? up->data : "", up->len, &req, err, sizeof err))
        return reply_error(conn, MHD_HTTP_BAD_REQUEST, NULL, "%s", err);

    /* One trace task per request: its files' regions hang under it. */
    struct search_result result;
    req.task = cprof_task_begin(0, "search");
    enum search_status status = search_run(srv->engine, &req, &result, err, sizeof err);
    cprof_task_end(req.task);
    search_request_free(&req);
    if (status == SEARCH_BAD_REQUEST)
        return reply_error(conn, MHD_HTTP_BAD_REQUEST, NULL, "%s", err);
    if (status != SEARCH_OK) {
        fprintf(stderr, "filesearch: search failed: %s\n", err);
        return reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "%s", err);
    }

    size_t len;
    char *body = json_io_format_result(&result, &len);
    search_result_free(&result);
    if (body == NULL)
        return reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
    return reply(conn, MHD_HTTP_OK, CONTENT_TYPE_JSON, body, len, NULL);
}

/* The request is complete: route it. */
static enum MHD_Result answer(struct http_server *srv, struct MHD_Connection *conn, const char *url,
                              const char *method, const struct upload *up)
{
    if (up->too_large)
        return reply_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, NULL, "body: larger than %d bytes",
                           HTTP_MAX_BODY);
    if (strcmp(url, "/health") == 0) {
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
            return reply_method_not_allowed(conn, method, url, "GET, HEAD");
        return reply_text(conn, MHD_HTTP_OK, "OK");
    }
    if (strcmp(url, "/search") != 0)
        return reply_error(conn, MHD_HTTP_NOT_FOUND, NULL, "no such path: %s", url);
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return reply_method_not_allowed(conn, method, url, "POST");
    return handle_search(srv, conn, up);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct upload *up = *con_cls;
    /* cprof's live endpoint, mounted on this server: /debug/pprof/... */
    if (up == NULL && strncmp(url, "/debug/pprof", 12) == 0) {
        up = calloc(1, sizeof *up);
        if (up == NULL)
            return MHD_NO;
        up->profiling = true;
        *con_cls = up;
    }
    if (up != NULL && up->profiling) {
        int result;
        if (cprof_http_handle(conn, url, method, upload_data, upload_data_size, &up->cprof_state,
                              &result))
            return (enum MHD_Result)result;
        return reply_error(conn, MHD_HTTP_NOT_FOUND, NULL, "no such path: %s", url);
    }
    if (up == NULL) { /* the headers are in */
        const char *length =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length != NULL && strtoull(length, NULL, 10) > HTTP_MAX_BODY)
            return reply_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, NULL, "body: larger than %d bytes",
                               HTTP_MAX_BODY);
        up = calloc(1, sizeof *up);
        if (up == NULL)
            return MHD_NO;
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_data_size > 0) { /* a piece of the body */
        if (!append_body(up, upload_data, *upload_data_size))
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return answer(cls, conn, url, method, up);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    struct upload *up = *con_cls;
    if (up) {
        if (up->profiling)
            cprof_http_request_done(&up->cprof_state);
        free(up->data);
        free(up);
        *con_cls = NULL;
    }
}

/* A listening socket on 127.0.0.1:port, or -1 with err set. Made here rather
 * than by MHD so that a busy port gets a precise message. */
static int listen_loopback(uint16_t port, uint16_t *bound, char *err, size_t errlen)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof addr;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &alen) != 0) {
        snprintf(err, errlen, "cannot listen on 127.0.0.1:%u: %s", port, strerror(errno));
        close(fd);
        return -1;
    }
    *bound = ntohs(addr.sin_port);
    return fd;
}

struct http_server *http_server_start(uint16_t port, struct search_engine *engine, char *err,
                                      size_t errlen)
{
    struct http_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->engine = engine;
    int fd = listen_loopback(port, &srv->port, err, errlen);
    if (fd < 0) {
        free(srv);
        return NULL;
    }
    srv->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
        NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)HTTP_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        snprintf(err, errlen, "cannot start the HTTP server (libmicrohttpd)");
        close(fd);
        free(srv);
        return NULL;
    }
    return srv;
}

uint16_t http_server_port(const struct http_server *server)
{
    return server->port;
}

void http_server_stop(struct http_server *server)
{
    if (server == NULL)
        return;
    MHD_stop_daemon(server->daemon); /* joins the connection threads, closes the socket */
    free(server);
}
