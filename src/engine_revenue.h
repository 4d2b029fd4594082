/* engine_revenue: one account's seats and revenue over time, from the
 * subscriptions table: each day its licensed seats changed (removals and
 * overnight drops flagged), seat utilization (MAU / seats) at 12 weekly
 * points, ARR now and a year ago, and the expansion and contraction between.
 * Definitions where metrics.md is silent: docs/metrics.md, choice 19. */
#ifndef UP_ENGINE_REVENUE_H
#define UP_ENGINE_REVENUE_H

#include "engine.h"
#include "rollup.h"

typedef struct {
    int32_t day;
    int64_t from, to;          /* seats at the end of the day before / of this day */
    int removal, overnight_drop;   /* to < from; and by drop_share or more */
} up_seat_change_t;

typedef struct {
    int32_t day;
    double from, to;
} up_arr_change_t;

typedef struct {
    int32_t day;
    int64_t seats, mau;
    double utilization;        /* mau / seats; NAN when seats = 0 */
} up_util_point_t;

typedef struct {
    int has_subscriptions;
    up_seat_change_t *seat_changes;    /* oldest first, days <= T's day */
    uint32_t n_seat_changes;
    up_util_point_t util[12];          /* T - 77 days .. T, a week apart, oldest first */
    double arr, arr_365d_ago;          /* NAN when unknown */
    double expansion_365d, contraction_365d;   /* sums of ARR increases / decreases (>= 0) */
    double new_365d;                           /* ARR that started from none (a new contract): not expansion */
    double nrr_365d;                   /* arr / arr_365d_ago; NAN when that is 0 or unknown */
    up_arr_change_t *arr_changes;      /* in the last 365 days, oldest first */
    uint32_t n_arr_changes;
} up_revenue_t;

int up_engine_revenue(const up_rollup_t *r, const up_model_t *m, const up_entities_t *e, const up_account_t *acc,
                      int64_t T, double drop_share, up_revenue_t *out);
void up_revenue_free(up_revenue_t *v);

#endif
