/*
 * web_assets.h: the files of `cprof web`'s page (src/tool/web/), compiled
 * into the binary by src/tool/web/embed.cmake, which writes web_assets.c
 * in the build tree.
 */
#ifndef CPROF_WEB_ASSETS_H
#define CPROF_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *path; /* as requested: "/index.html" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
};

extern const struct web_asset web_assets[];
extern const size_t web_nassets;

#endif
