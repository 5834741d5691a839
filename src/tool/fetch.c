/*
 * fetch.c: reads a profile from a live endpoint with libcurl. Owns the
 * timeouts (a CPU profile's request lasts as long as its ?seconds=N asks),
 * the size bound, and turning HTTP failures into one readable line.
 */
#include "fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

/* As the reader's own bound: nothing legitimate is bigger. */
#define MAX_FETCH_BYTES ((size_t)1 << 30)

struct buf {
    uint8_t *data;
    size_t len, cap;
    int too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ctx)
{
    struct buf *b = ctx;
    size_t n = size * nmemb;
    if (b->len + n > MAX_FETCH_BYTES) {
        b->too_big = 1;
        return 0;
    }
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap : 65536;
        while (ncap < b->len + n)
            ncap *= 2;
        uint8_t *p = realloc(b->data, ncap);
        if (!p)
            return 0;
        b->data = p;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    return n;
}

/* A profile or trace request runs for ?seconds=N before answering; allow
 * that plus a minute for the rest. */
static long timeout_for(const char *url)
{
    const char *q = strstr(url, "seconds=");
    long secs = q ? strtol(q + 8, NULL, 10) : 0;
    if (secs < 0 || secs > 24 * 3600)
        secs = 0;
    return secs + 60;
}

/* The first line of an error body, which is how Go's endpoints (and
 * cprof's) say what is wrong. */
static void first_line(const struct buf *b, char *out, size_t len)
{
    size_t n = 0;
    while (n < b->len && n + 1 < len && b->data[n] != '\n' && b->data[n] != '\r')
        n++;
    memcpy(out, b->data, n);
    out[n] = '\0';
}

static int perform(CURL *c, const char *url, struct buf *b, char *err, size_t errlen)
{
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_for(url));
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cprof");
    CURLcode rc = curl_easy_perform(c);
    if (b->too_big) {
        snprintf(err, errlen, "%s: answer larger than %zu MiB", url, MAX_FETCH_BYTES >> 20);
        return -1;
    }
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", url, cerr[0] ? cerr : curl_easy_strerror(rc));
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        char body[200];
        first_line(b, body, sizeof body);
        snprintf(err, errlen, "%s: HTTP status %ld%s%s", url, status, body[0] ? ": " : "", body);
        return -1;
    }
    if (b->len == 0) {
        snprintf(err, errlen, "%s: empty answer", url);
        return -1;
    }
    return 0;
}

int tool_fetch_url(const char *url, uint8_t **data, size_t *len, char *err, size_t errlen)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        snprintf(err, errlen, "%s: cannot initialise libcurl", url);
        return -1;
    }
    CURL *c = curl_easy_init();
    struct buf b = {0};
    int rc = -1;
    if (!c)
        snprintf(err, errlen, "%s: cannot initialise libcurl", url);
    else
        rc = perform(c, url, &b, err, errlen);
    if (c)
        curl_easy_cleanup(c);
    curl_global_cleanup();
    if (rc) {
        free(b.data);
        return -1;
    }
    *data = b.data;
    *len = b.len;
    return 0;
}
