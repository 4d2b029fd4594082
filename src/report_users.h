/* report_users: `report users` (stage per user × feature) and `report stages`
 * (the funnel per feature with conversions and a diagnosis), in table, JSON
 * and CSV. Invariant: CSV and JSON use the names of spec/metrics.md. */
#ifndef UP_REPORT_USERS_H
#define UP_REPORT_USERS_H

#include <stdio.h>

#include "engine_stages.h"
#include "report.h"

/* Writes `report users`. */
int up_report_users(FILE *out, const up_rollup_t *r, const up_model_t *m, int64_t T,
                    const up_stages_t *s, up_format_t format);

/* Writes `report stages`; feature (may be NULL) keeps one feature. Returns
 * -UP_ENOTFOUND when feature names no feature of the model. */
int up_report_users_stages(FILE *out, const up_model_t *m, int64_t T, const up_stages_t *s,
                     const char *feature, up_format_t format);

#endif
