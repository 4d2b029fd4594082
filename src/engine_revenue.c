/* engine_revenue: seats and ARR histories from the account's subscription
 * rows (see the header). A change is looked for on every day a subscription
 * starts or ends: the value at the end of the day before against the value
 * at the end of that day (or at T on T's day), so a subscription replaced by
 * another on the same day is no change, and a drop that lands overnight is
 * one change on the day it takes effect. */
#include "engine_revenue.h"

#include "engine_series.h"
#include "timeparse.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double arr_at(const up_entities_t *e, uint32_t lo, uint32_t hi, const up_account_t *acc, int64_t t)
{
    (void)lo;
    (void)hi;
    return up_engine_contract_arr_at(e, acc, t);
}

static int cmp_day(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Room for item n of an array with capacity *cap: the array itself, or
 * realloc'd to twice *cap (8 at first) with *cap set; NULL when out of memory. */
static void *room_for(void *items, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return items;
    size_t c = *cap ? 2 * *cap : 8;
    void *p = realloc(items, c * size);
    if (p)
        *cap = c;
    return p;
}

int up_engine_revenue(const up_rollup_t *r, const up_model_t *m, const up_entities_t *e, const up_account_t *acc,
                      int64_t T, double drop_share, up_revenue_t *out)
{
    memset(out, 0, sizeof *out);
    int32_t d0 = up_day_of(T);
    uint32_t lo = 0, hi = 0;
    while (lo < e->n_subscriptions && strcmp(e->subscriptions[lo].account_id, acc->account_id) < 0)
        lo++;
    hi = lo;
    while (hi < e->n_subscriptions && strcmp(e->subscriptions[hi].account_id, acc->account_id) == 0)
        hi++;
    out->has_subscriptions = hi > lo;
    /* the days on which a subscription starts or ends, up to T's day */
    int32_t *days = malloc((2 * (size_t)(hi - lo) + 1) * sizeof *days);
    if (!days)
        return -UP_ENOMEM;
    size_t nd = 0;
    for (uint32_t i = lo; i < hi; i++) {
        const up_subscription_t *b = &e->subscriptions[i];
        if (b->start <= T)
            days[nd++] = up_day_of(b->start);
        if (b->end != UP_TS_NONE && b->end <= T)
            days[nd++] = up_day_of(b->end);
    }
    qsort(days, nd, sizeof *days, cmp_day);
    size_t cap_s = 0, cap_a = 0;
    for (size_t i = 0; i < nd; i++) {
        if (i && days[i] == days[i - 1])
            continue;
        int32_t d = days[i];
        int64_t t_before = up_engine_end_of_day(d - 1), t_after = d == d0 ? T : up_engine_end_of_day(d);
        int64_t from = up_engine_seats_at(e, acc, t_before), to = up_engine_seats_at(e, acc, t_after);
        if (from != to) {
            up_seat_change_t *q = room_for(out->seat_changes, out->n_seat_changes, &cap_s, sizeof *q);
            if (!q)
                goto nomem;
            out->seat_changes = q;
            up_seat_change_t *c = &out->seat_changes[out->n_seat_changes++];
            c->day = d;
            c->from = from;
            c->to = to;
            c->removal = to < from;
            c->overnight_drop = to < from && from > 0 && (double)(from - to) / (double)from >= drop_share;
        }
        double af = arr_at(e, lo, hi, acc, t_before), at = arr_at(e, lo, hi, acc, t_after);
        if (d > d0 - 365 && af != at && !isnan(af) && !isnan(at)) {
            up_arr_change_t *q = room_for(out->arr_changes, out->n_arr_changes, &cap_a, sizeof *q);
            if (!q)
                goto nomem;
            out->arr_changes = q;
            up_arr_change_t *c = &out->arr_changes[out->n_arr_changes++];
            c->day = d;
            c->from = af;
            c->to = at;
            if (af == 0 && at > 0)
                out->new_365d += at;   /* from nothing: a new contract, not an expansion */
            else if (at > af)
                out->expansion_365d += at - af;
            else
                out->contraction_365d += af - at;
        }
    }
    free(days);
    days = NULL;
    out->arr = arr_at(e, lo, hi, acc, T);
    out->arr_365d_ago = arr_at(e, lo, hi, acc, up_engine_end_of_day(d0 - 365));
    out->nrr_365d = !isnan(out->arr) && !isnan(out->arr_365d_ago) && out->arr_365d_ago > 0
                        ? out->arr / out->arr_365d_ago : NAN;
    /* utilization at T, T - 7 d, …, T - 77 d: MAU from the day series */
    up_series_t se;
    int rc = up_engine_series(r, m, e, acc, T, 78, &se);
    if (rc < 0) {
        up_revenue_free(out);
        return rc;
    }
    for (int k = 0; k < 12; k++) {
        const up_series_day_t *sd = &se.days[se.n_days - 1 - 7 * (11 - k)];
        up_util_point_t *u = &out->util[k];
        u->day = sd->day;
        u->seats = sd->seats;
        u->mau = sd->mau;
        u->utilization = sd->seats > 0 ? (double)sd->mau / (double)sd->seats : NAN;
    }
    up_series_free(&se);
    return 0;
nomem:
    free(days);
    up_revenue_free(out);
    return -UP_ENOMEM;
}

void up_revenue_free(up_revenue_t *v)
{
    free(v->seat_changes);
    free(v->arr_changes);
    v->seat_changes = NULL;
    v->arr_changes = NULL;
    v->n_seat_changes = v->n_arr_changes = 0;
}
