/*
 * http.h: the live endpoint's internal interface (the public one is
 * cprof_http_* in cprof.h).
 */
#ifndef CPROF_HTTP_H
#define CPROF_HTTP_H

/* Starts the endpoint on addr ("HOST:PORT"); a non-loopback address needs
 * allow_remote. 0, or -1 with cprof_last_error() set. */
int cprof__http_start(const char *addr, int allow_remote);

#endif
