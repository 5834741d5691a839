/*
 * fetch.h: getting a profile from a live endpoint (http://host:port/debug/pprof/...).
 */
#ifndef CPROF_FETCH_H
#define CPROF_FETCH_H

#include <stddef.h>
#include <stdint.h>

/* GETs url (its query kept as given) into a malloc'd buffer. On failure
 * returns -1 with a one-line reason naming the URL in err. */
int tool_fetch_url(const char *url, uint8_t **data, size_t *len, char *err, size_t errlen);

#endif
