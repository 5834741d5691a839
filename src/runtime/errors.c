/*
 * errors.c: owns the per-thread "last error" text behind cprof_last_error()
 * and the way cprof talks to the user on stderr (one line, one write).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cprof.h"
#include "errors.h"

/* initial-exec: no allocation on first access, even from a preloaded library. */
static __thread char last_error[256] __attribute__((tls_model("initial-exec")));

CPROF_API const char *cprof_last_error(void)
{
    return last_error;
}

int cprof__fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return -1;
}

void cprof__warn(const char *fmt, ...)
{
    char line[512];
    int n = snprintf(line, sizeof line, "cprof: ");
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, (size_t)n);
    (void)ignored;
}
