/*
 * curl_load.h: libcurl, loaded with dlopen the first time something pushes
 * (push.c), not linked: a preloaded process that never pushes does not map
 * libcurl and the dozen libraries it brings (TLS, HTTP/2, IDN, ...).
 */
#ifndef CPROF_CURL_LOAD_H
#define CPROF_CURL_LOAD_H

#include <curl/curl.h>

/* The libcurl functions push.c calls, by their names without "curl_". */
struct cprof_curl {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
    char *(*easy_escape)(CURL *curl, const char *string, int length);
    void (*free)(void *p);
    curl_mime *(*mime_init)(CURL *curl);
    curl_mimepart *(*mime_addpart)(curl_mime *mime);
    void (*mime_free)(curl_mime *mime);
    CURLcode (*mime_name)(curl_mimepart *part, const char *name);
    CURLcode (*mime_filename)(curl_mimepart *part, const char *filename);
    CURLcode (*mime_type)(curl_mimepart *part, const char *mimetype);
    CURLcode (*mime_data)(curl_mimepart *part, const char *data, size_t datasize);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
    void (*slist_free_all)(struct curl_slist *list);
};

/* Loads libcurl.so.4 once (later calls return the same table). NULL, with
 * cprof_last_error() saying why, when it or one of its functions is missing.
 * Not from a signal handler: dlopen allocates and takes the loader's lock. */
const struct cprof_curl *cprof__curl(void);

#endif
