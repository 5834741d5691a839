/*
 * json_io.h: the JSON of the HTTP API, read and written with json-c.
 *
 *   request:  {"pattern": "ERE", "paths": ["dir", ...], "max_results": 100}
 *   answer:   {"matches": [{"file": "...", "line": 42, "content": "..."}], "total": N}
 *   error:    {"error": "one line"}
 */
#ifndef FILESEARCH_JSON_IO_H
#define FILESEARCH_JSON_IO_H

#include <stdbool.h>
#include <stddef.h>

#include "search.h"

#define JSON_IO_MAX_PATHS 1000 /* paths a request may name */

/* Parses the body of POST /search into req (free it with
 * search_request_free). On failure returns false and says in err what is
 * wrong with the body, naming the field. */
bool json_io_parse_request(const char *body, size_t len, struct search_request *req, char *err,
                           size_t errlen);

/* The answer to a search, as a malloc'd string of *len bytes; NULL when out of memory. */
char *json_io_format_result(const struct search_result *result, size_t *len);

/* {"error": message}, as a malloc'd string of *len bytes; NULL when out of memory. */
char *json_io_format_error(const char *message, size_t *len);

#endif
