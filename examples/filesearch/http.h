/*
 * http.h: the HTTP side of filesearch, on libmicrohttpd.
 *
 *   POST /search   JSON request → JSON answer (json_io.h), or 400/413 with {"error": ...}
 *   GET  /health   "OK"
 *   anything else  404, or 405 with an Allow header for a known path
 */
#ifndef FILESEARCH_HTTP_H
#define FILESEARCH_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "search.h"

#define HTTP_MAX_BODY        (1024 * 1024) /* larger request bodies get 413 */
#define HTTP_MAX_CONNECTIONS 64
#define HTTP_IDLE_TIMEOUT    60 /* seconds a keep-alive connection may sit idle */

struct http_server;

/* Listens on 127.0.0.1:port (0: any free port) and serves searches with the
 * engine, which must outlive the server. NULL on failure, with err set. */
struct http_server *http_server_start(uint16_t port, struct search_engine *engine, char *err,
                                      size_t errlen);

/* The port it listens on. */
uint16_t http_server_port(const struct http_server *server);

/* Stops accepting, lets the requests being served finish, closes every
 * connection and frees the server. */
void http_server_stop(struct http_server *server);

#endif
