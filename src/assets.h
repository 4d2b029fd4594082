/* assets: the dashboard's files, embedded at build time by tools/embed.c
 * from web/ and Debian's Chart.js (build/obj/web_assets.c). */
#ifndef UP_ASSETS_H
#define UP_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *name;              /* path under /assets/, e.g. "app.js" */
    const char *mime;
    const unsigned char *data;
    size_t len;
} up_asset_t;

/* Ends with an entry whose name is NULL. */
extern const up_asset_t up_assets[];

#endif
