/*
 * push.h: pushing profiles to a continuous-profiling server (Grafana
 * Pyroscope's ingest API): CPROF_PUSH_URL and its companions.
 */
#ifndef CPROF_PUSH_H
#define CPROF_PUSH_H

/* What settings.c read from the environment. NULL members take defaults. */
struct cprof_push_config {
    const char *url;      /* CPROF_PUSH_URL: base URL, e.g. http://127.0.0.1:4040 */
    const char *interval; /* CPROF_PUSH_INTERVAL: a Go duration (10s, 1m30s); 15s */
    const char *app;      /* CPROF_APP_NAME: the program's name */
    const char *labels;   /* CPROF_PUSH_LABELS: k=v,k=v */
    int hz;               /* CPU samples per second per thread */
};

/* Starts the push thread. 0, or -1 with cprof_last_error() set (bad URL,
 * name or labels; a second start). Never blocks on the network. */
int cprof__push_start(const struct cprof_push_config *config);

/* Stops the push thread, waiting for it a bounded time (a POST in flight is
 * aborted). Registered with atexit by cprof__push_start. */
void cprof__push_stop(void);

/* Parses a Go duration ("1m30s", "500ms", "2h"): milliseconds, or -1. */
long long cprof__push_parse_duration(const char *text);

#endif
