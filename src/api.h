/* api: the JSON API under /api/v1/ (see docs/api.md). Routes:
 *   accounts, accounts/{id}, accounts/{id}/users, accounts/{id}/series, features,
 *   stages, gaps, rejects, alerts, alerts/{id}, tasks
 * each with ?as_of=DATE and the filters of the matching CLI report. */
#ifndef UP_API_H
#define UP_API_H

#include "store.h"
#include "util.h"

/* Returns the (decoded) value of query parameter key, or NULL. */
typedef const char *(*up_api_arg_fn)(void *ctx, const char *key);

/* Answers one GET of path (as sent: percent-escapes undone here, segment
 * by segment, so "/api/v1/accounts/x%2Fy" is the account "x/y") on store s: writes a JSON body to out and
 * returns the HTTP status (200, 400, 404, 500). The caller holds whatever
 * lock serialises use of s. */
int up_api_handle(up_store_t *s, const char *path, up_api_arg_fn arg, void *actx, up_buf_t *out);

#endif
