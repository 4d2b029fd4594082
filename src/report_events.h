/* report_events: `uptake report events` and GET /api/v1/events: every event
 * name the store has seen up to T, most frequent first, with how many
 * events, users and accounts, when it was first and last seen, and what the
 * model makes of it: the feature(s) and the kind (use, advanced, exposure,
 * passive or unmapped). The way to write a model for one's own data. */
#ifndef UP_REPORT_EVENTS_H
#define UP_REPORT_EVENTS_H

#include <stdio.h>

#include "fmt.h"
#include "rollup.h"
#include "store.h"

/* Writes the report from one scan of s's log (r: the rollup of T, for the
 * names and the model's classes). Returns 0 or a negative UP_E* code with
 * a sentence in err. */
int up_report_events(FILE *out, up_store_t *s, const up_rollup_t *r, int64_t T, up_format_t format, char *err,
                     size_t errlen);

/* `uptake model suggest`: a draft model (YAML) from the event names seen up
 * to T: features from names sharing a prefix, login / page views passive,
 * the most frequent first action as the key action candidate. Returns 0 or
 * a negative UP_E* code with a sentence in err. */
int up_model_suggest(FILE *out, up_store_t *s, const up_rollup_t *r, int64_t T, char *err, size_t errlen);

#endif
