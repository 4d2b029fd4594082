/* api: the JSON API under /api/v1/ (see docs/api.md). Routes:
 *   accounts, accounts/{id}, accounts/{id}/users, accounts/{id}/series,
 *   accounts/{id}/qbr (HTML), features,
 *   stages, gaps, rejects, alerts, alerts/{id}, tasks
 * each with ?as_of=DATE and the filters of the matching CLI report. */
#ifndef UP_API_H
#define UP_API_H

#include "store.h"
#include "util.h"

/* Returns the (decoded) value of query parameter key, or NULL. */
typedef const char *(*up_api_arg_fn)(void *ctx, const char *key);

/* Answers one GET of path (as sent: percent-escapes undone here, segment
 * by segment, so "/api/v1/accounts/x%2Fy" is the account "x/y") on store s: writes a JSON body (HTML for
 * accounts/{id}/qbr) to out, its type to *ctype, and returns the HTTP status (200, 400, 404, 500). The caller holds whatever
 * lock serialises use of s. */
typedef struct {
    const char *vendor;   /* the customer QBR's heading (config vendor_name), or NULL */
    const char *logo;     /* its logo as a data: URI (config vendor_logo), or NULL */
} up_api_opts_t;
int up_api_handle(up_store_t *s, const char *path, up_api_arg_fn arg, void *actx, const up_api_opts_t *o,
                  up_buf_t *out, const char **ctype);

#endif
