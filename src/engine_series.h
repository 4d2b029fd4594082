/* engine_series: one account's activity as time series for the dashboard:
 * DAU, WAU, MAU and licensed seats per day, and per feature the users in each
 * of the last 12 seven-day blocks. Invariant: the value for day d is what the
 * account report gives as of the end of day d (metrics.md windows). */
#ifndef UP_ENGINE_SERIES_H
#define UP_ENGINE_SERIES_H

#include "engine.h"
#include "rollup.h"

typedef struct {
    int32_t day;
    int64_t dau, wau, mau, seats;
} up_series_day_t;

typedef struct {
    int32_t d0;                 /* T's UTC day */
    up_series_day_t *days;      /* n_days, oldest first, the last is D0 */
    int n_days;
    uint32_t n_features;
    int64_t (*feature_weeks)[12];   /* [feature][block]: block 0 is the oldest, 11 ends with D0 */
} up_series_t;

/* Fills out for account acc over the n_days days ending with T's day.
 * Returns 0 or -UP_ENOMEM. */
int up_engine_series(const up_rollup_t *r, const up_model_t *m, const up_entities_t *e,
                     const up_account_t *acc, int64_t T, int n_days, up_series_t *out);
void up_series_free(up_series_t *s);

#endif
