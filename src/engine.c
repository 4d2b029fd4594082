/* engine: account metrics, feature adoption and health as of T.
 *
 * Everything is a count over the rollup's day bitmaps: DAU/WAU/MAU are pairs
 * with a set bit in a day range; stickiness sums the bits; consistency ORs
 * the account's pairs per block. The cost is O(pairs × features), never
 * O(events). Floating-point expressions follow metrics.md term by term (one
 * division per ratio, in the order written) so that the figures match an
 * independent implementation to the last digit. */
#include "engine.h"
#include "timeparse.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

const char *const up_level_names[3] = {"low", "high", "effective"};
const char *const up_status_names[3] = {"customer", "churned", "prospect"};

int up_status_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, up_status_names[i]) == 0)
            return i;
    return -1;
}

int64_t up_engine_end_of_day(int32_t day)
{
    return (int64_t)(day + 1) * UP_MS_PER_DAY - 1;
}

/* ---- entities ---------------------------------------------------------- */

int up_engine_outcome_on_track(const up_outcome_t *first, const up_outcome_t *latest, int64_t T)
{
    if (isnan(latest->target))
        return -1;
    if (latest->value >= latest->target)
        return 1;
    if (latest->due != UP_TS_NONE && T < latest->due && latest->due > first->ts)
        return latest->value >= latest->target * (double)(T - first->ts) / (double)(latest->due - first->ts);
    return 0;
}

int64_t up_engine_nps_from(const up_model_t *m, int64_t T)
{
    return (int64_t)(up_day_of(T) - (m->settings.nps_window_days - 1)) * UP_MS_PER_DAY;
}

static void account_free(up_account_t *a)
{
    free(a->account_id);
}

/* ---- metrics ----------------------------------------------------------- */

typedef struct {
    const up_rollup_t *r;
    const up_model_t *m;
    const up_entities_t *e;
    int64_t T;
    int32_t d0;
    const up_pair_groups_t *g;   /* the pairs by account (up_engine_group_pairs) */
    int health_only;        /* only health and the metrics it scores (UP_PORTFOLIO_SECOND_HEALTH) */
} ctx_t;

static double clamp100(double v)
{
    return v < 0 ? 0 : v > 100 ? 100 : v;
}

/* Whether pair p has a key action in [from, to] (ms, inclusive). */
/* The workflow completions of pair that count as key actions: [*lo, *hi). */
static void extra_range(const up_entities_t *e, uint32_t pair, size_t *lo, size_t *hi)
{
    size_t l = 0, h = e->n_ka_extra;
    while (l < h) {
        size_t mid = (l + h) / 2;
        if (e->ka_pair[mid] < pair)
            l = mid + 1;
        else
            h = mid;
    }
    *lo = l;
    while (l < e->n_ka_extra && e->ka_pair[l] == pair)
        l++;
    *hi = l;
}

/* 1 when a workflow completion of pair that is a key action lies in [from, to]. */
static int extra_between(const up_entities_t *e, uint32_t pair, int64_t from, int64_t to)
{
    size_t lo, hi;
    extra_range(e, pair, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        if (e->ka_ts[i] >= from && e->ka_ts[i] <= to)
            return 1;
    return 0;
}

static int ka_between(const up_pair_t *p, int64_t from, int64_t to)
{
    if (p->first_ka_ts > to)
        return 0;
    int32_t dfrom = up_day_of(from), dto = up_day_of(to);
    for (uint32_t i = 0; i < p->n_ka; i++) {
        const up_kaday_t *k = &p->ka[i];
        if (k->day < dfrom || k->day > dto)
            continue;
        int64_t base = (int64_t)k->day * UP_MS_PER_DAY;
        int64_t lo = base + k->min_ms, hi = base + k->max_ms;
        if (k->day > dfrom && k->day < dto)
            return 1;
        /* boundary day: some key action of that day lies in [from, to] when
         * the day's earliest is not after `to` and its latest not before `from`;
         * on a boundary day one of the two limits is outside the day, so the
         * day's min/max decide exactly */
        if (lo <= to && hi >= from)
            return 1;
    }
    return 0;
}

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a, b);
}

/* Index range of the entity rows [lo, hi) of account id in a sorted array. */
#define RANGE_OF(arr, n, field, id, lo, hi)                                  \
    do {                                                                     \
        uint32_t l_ = 0, h_ = (n);                                           \
        while (l_ < h_) {                                                    \
            uint32_t m_ = (l_ + h_) / 2;                                     \
            if (cmp_str((arr)[m_].field, (id)) < 0)                          \
                l_ = m_ + 1;                                                 \
            else                                                             \
                h_ = m_;                                                     \
        }                                                                    \
        (lo) = l_;                                                           \
        while (l_ < (n) && strcmp((arr)[l_].field, (id)) == 0)               \
            l_++;                                                            \
        (hi) = l_;                                                           \
    } while (0)

/* The rows [lo, hi) of account acc in entity table arr (UP_ROWS_* t):
 * found when the entities were loaded, or searched for. */
#define ROWS_OF(e, acc, arr, n, t, lo, hi)                                   \
    do {                                                                     \
        if ((acc)->has_rows) {                                               \
            (lo) = (acc)->rows[t][0];                                        \
            (hi) = (acc)->rows[t][1];                                        \
        } else                                                               \
            RANGE_OF(arr, n, account_id, (acc)->account_id, lo, hi);         \
    } while (0)

/* What one pass over an account's pairs gathers. */
typedef struct {
    int64_t sum_dau, cohort, activated, champions, champions_active, first_ka;
    int64_t first_event;    /* the account's first event by T; UP_TS_NONE when none */
    int32_t last_active;    /* the last day <= D0 with an active user; UP_NO_DAY when none */
    uint64_t acc_days[2];   /* days D0-83 .. D0 as bits 0 .. 83: D0 is bit 83 */
    uint8_t *core_used;     /* per model feature: a core feature used in window(28) */
} scan_t;

/* 1 when the users-table pair i (p) was created in the activation cohort of
 * T and has a key action within activation_days of its creation. */
static void activation_of(const ctx_t *c, uint32_t i, const up_pair_t *p, scan_t *s)
{
    int32_t act_days = c->m->settings.activation_days;
    int32_t cd = up_day_of(p->created_at);
    if (cd < c->d0 - (act_days + 27) || cd > c->d0 - act_days)
        return;
    s->cohort++;
    int64_t until = p->created_at + (int64_t)act_days * UP_MS_PER_DAY;
    if (until > c->T)
        until = c->T;
    if (ka_between(p, p->created_at, until) ||
        (c->e->n_ka_extra && extra_between(c->e, c->g->acc_pairs[i], p->created_at, until)))
        s->activated++;
}

/* The last day <= to in d, or UP_NO_DAY. */
static int32_t last_day_upto(const up_days_t *d, int32_t to)
{
    int64_t off = (int64_t)to - d->base, max = (int64_t)d->nw * 64 - 1;
    if (!d->nw || off < 0)
        return UP_NO_DAY;
    if (off > max)
        off = max;
    for (int64_t wi = off / 64; wi >= 0; wi--) {
        uint64_t w = d->w[wi];
        if (wi == off / 64 && off % 64 < 63)
            w &= (2ULL << (off % 64)) - 1;
        if (w)
            return d->base + (int32_t)(wi * 64 + 63 - __builtin_clzll(w));
    }
    return UP_NO_DAY;
}

/* One active pair's weeks and month: the weekly and monthly actives, the
 * active days and events of window(28). */
static void fold_weeks(const ctx_t *c, const up_pair_t *p, const uint64_t w[2], up_account_metrics_t *row, scan_t *s)
{
    row->wau += up_rollup_bits128_any(w, 77, 83);
    row->wau_prev += up_rollup_bits128_any(w, 70, 76);
    int days28 = up_rollup_bits128_count(w, 56, 83);
    if (days28) {
        row->mau++;
        s->sum_dau += days28;
        row->events_28d += (int64_t)up_rollup_events_between(p, c->d0 - 27, c->d0);
    }
}

/* What health scores of one active pair: its weeks and month, the core
 * features used. */
static void fold_health(const ctx_t *c, const up_pair_t *p, const uint64_t w[2], up_account_metrics_t *row,
                        scan_t *s)
{
    fold_weeks(c, p, w, row, s);
    for (uint32_t j = 0; j < p->n_pf; j++) {
        const up_pf_t *pf = &p->pf[j];
        if (c->m->features[pf->feature].core && !s->core_used[pf->feature] && pf->first_use_ts <= c->T &&
            up_days_any(&pf->used, c->d0 - 27, c->d0))
            s->core_used[pf->feature] = 1;
    }
}

/* Folds one active pair (with an event by T) into the counts of row and s. */
static void fold_active(const ctx_t *c, uint32_t i, const up_pair_t *p, const uint64_t w[2],
                        up_account_metrics_t *row, scan_t *s)
{
    s->acc_days[0] |= w[0];
    s->acc_days[1] |= w[1];
    if (c->health_only) {
        fold_health(c, p, w, row, s);
        return;
    }
    int32_t last = last_day_upto(&p->active, c->d0);
    if (last != UP_NO_DAY && (s->last_active == UP_NO_DAY || last > s->last_active))
        s->last_active = last;
    row->dau += up_rollup_bits128_count(w, 83, 83);
    fold_weeks(c, p, w, row, s);
    if (p->first_ka_ts < s->first_ka)
        s->first_ka = p->first_ka_ts;
    if (p->first_ts < s->first_event)
        s->first_event = p->first_ts;
    if (c->e->n_ka_extra) {
        size_t lo, hi;
        extra_range(c->e, c->g->acc_pairs[i], &lo, &hi);
        if (hi > lo && c->e->ka_ts[lo] < s->first_ka)
            s->first_ka = c->e->ka_ts[lo];
    }
    for (uint32_t j = 0; j < p->n_pf; j++) {
        const up_pf_t *pf = &p->pf[j];
        if (pf->first_use_ts <= c->T && up_days_any(&pf->used, c->d0 - 27, c->d0)) {
            row->feature_users[pf->feature]++;
            if (c->m->features[pf->feature].core)
                s->core_used[pf->feature] = 1;
        }
    }
}

/* One pair of the account (its i-th) into row and s. A pair is a
 * users-table user (created_at and role from the table), an event-only
 * user, or both; known[0] counts the first, known[1] the second. */
static void scan_pair(const ctx_t *c, uint32_t i, const up_pair_t *p, up_account_metrics_t *row, scan_t *s,
                      int64_t known[2])
{
    int exists = p->first_ts <= c->T;   /* has an event by T */
    uint64_t w[2] = {0, 0};
    if (exists)
        up_days_window128(&p->active, c->d0 - 83, w);
    if (p->flags & UP_PAIR_IN_TABLE) {
        if (p->created_at == UP_TS_NONE || p->created_at <= c->T) {
            known[0]++;
            if (p->created_at != UP_TS_NONE && !c->health_only)
                activation_of(c, i, p, s);
            if ((p->flags & UP_PAIR_CHAMPION) && !c->health_only) {
                s->champions++;
                s->champions_active += up_rollup_bits128_any(w, 70, 83);
            }
        }
    } else if (exists)
        known[1]++;   /* an event-only user is known once it has an event */
    if (exists)
        fold_active(c, i, p, w, row, s);
}

/* One pass over the account's pairs for the instant of c[k], k < n (two at
 * most: each pair's records are read once for both). */
static void scan_pairs(const ctx_t *const *c, int n, int64_t aid, up_account_metrics_t *const *row, scan_t *s)
{
    if (aid < 0)
        return;
    int64_t known[2][2] = {{0, 0}, {0, 0}};
    const up_pair_groups_t *g = c[0]->g;
    for (uint32_t i = g->acc_start[aid]; i < g->acc_start[aid + 1]; i++) {
        const up_pair_t *p = &c[0]->r->pairs[g->acc_pairs[i]];
        for (int k = 0; k < n; k++)
            scan_pair(c[k], i, p, row[k], &s[k], known[k]);
    }
    for (int k = 0; k < n; k++)
        row[k]->known_users = known[k][0] + known[k][1];
}

/* Breadth, depth, feature adoption, stickiness and the WAU trend. */
static void usage_ratios(const ctx_t *c, up_account_metrics_t *row, const scan_t *s)
{
    const up_model_t *m = c->m;
    if (row->seats > 0)
        row->breadth = (double)row->active_users / (double)row->seats;
    else if (row->known_users > 0)
        row->breadth = (double)row->active_users / (double)row->known_users;
    else {
        row->breadth = NAN;
        row->why_null[UP_M_BREADTH] = "seats = 0 and the account has no known users";
    }
    size_t n_core = 0, n_core_used = 0;
    for (size_t f = 0; f < m->n_features; f++) {
        if (m->features[f].core) {
            n_core++;
            n_core_used += s->core_used[f];
        }
        if (row->feature_adoption)
            row->feature_adoption[f] = row->active_users > 0
                ? (double)row->feature_users[f] / (double)row->active_users : NAN;
    }
    row->core_features = (int64_t)n_core;
    row->core_used = (int64_t)n_core_used;
    if (n_core)
        row->depth = (double)n_core_used / (double)n_core;
    else {
        row->depth = NAN;
        row->why_null[UP_M_DEPTH] = "the adoption model has no core feature";
    }
    if (row->mau > 0)
        row->stickiness = ((double)s->sum_dau / 28.0) / (double)row->mau;
    else {
        row->stickiness = NAN;
        row->why_null[UP_M_STICKINESS] = "no active user in the last 28 days (MAU = 0)";
    }
    if (s->sum_dau > 0)
        row->intensity = (double)row->events_28d / (double)s->sum_dau;
    else {
        row->intensity = NAN;
        row->why_null[UP_M_INTENSITY] = "no active user-day in the last 28 days";
    }
    if (row->wau_prev > 0)
        row->wau_trend = (double)(row->wau - row->wau_prev) / (double)row->wau_prev;
    else {
        row->wau_trend = NAN;
        row->why_null[UP_M_WAU_TREND] = "no active user in the week before last (WAU(T-7d) = 0)";
    }
}

/* TTFV, activation, consistency and the champions. */
static void value_and_habit(const ctx_t *c, const up_account_t *acc, up_account_metrics_t *row, const scan_t *s)
{
    int32_t d0 = c->d0;
    row->ttfv_days = INT64_MIN;
    if (s->first_ka > c->T)
        row->why_null[UP_M_TTFV] = "no key action yet";
    else if (acc->contract_start == UP_NO_DAY)
        row->why_null[UP_M_TTFV] = "the account has no contract_start";
    else if (c->m->settings.ttfv_history_gap_days > 0 && s->first_event != UP_TS_NONE &&
             (int64_t)up_day_of(s->first_event) - acc->contract_start > c->m->settings.ttfv_history_gap_days)
        row->why_null[UP_M_TTFV] = "the account's events start more than ttfv_history_gap_days after its"
                                   " contract_start: the history is incomplete, the first key action may be earlier";
    else {
        int64_t d = (int64_t)up_day_of(s->first_ka) - acc->contract_start;
        row->ttfv_days = d < 0 ? 0 : d;
    }
    if (s->cohort > 0)
        row->activation_rate = (double)s->activated / (double)s->cohort;
    else {
        row->activation_rate = NAN;
        row->why_null[UP_M_ACTIVATION] = "no user was created in the activation cohort: from activation_days (14 by default) to activation_days + 27 (41) days before the as-of date";
    }
    /* block k = days D0-7k-6 .. D0-7k = bits 77-7k .. 83-7k */
    int blocks = 0, blocks_active = 0;
    for (int k = 0; k < 12; k++) {
        int32_t first_day = d0 - 7 * k - 6;
        if (acc->contract_start != UP_NO_DAY && first_day < acc->contract_start)
            continue;
        blocks++;
        blocks_active += up_rollup_bits128_any(s->acc_days, 77 - 7 * k, 83 - 7 * k);
    }
    if (blocks)
        row->consistency = (double)blocks_active / (double)blocks;
    else {
        row->consistency = NAN;
        row->why_null[UP_M_CONSISTENCY] = "no 7-day block starts on or after contract_start";
    }
    if (s->champions)
        row->champion_active = s->champions_active == s->champions;
    else {
        row->champion_active = -1;
        row->why_null[UP_M_CHAMPION] = "the account has no user with role champion";
    }
}

static void nps_of(const ctx_t *c, const up_account_t *acc, up_account_metrics_t *row)
{
    const up_settings_t *set = &c->m->settings;
    uint32_t s_lo, s_hi;
    ROWS_OF(c->e, acc, c->e->surveys, c->e->n_surveys, UP_ROWS_SURVEYS, s_lo, s_hi);
    int64_t answers = 0, promoters = 0, detractors = 0;
    int64_t nps_from = (int64_t)(c->d0 - (set->nps_window_days - 1)) * UP_MS_PER_DAY;
    for (uint32_t i = s_lo; i < s_hi; i++) {
        const up_survey_t *sv = &c->e->surveys[i];
        if (sv->ts < nps_from || sv->ts > c->T)
            continue;
        answers++;
        if (sv->score >= set->nps_promoter_min)
            promoters++;
        else if (sv->score <= set->nps_detractor_max)
            detractors++;
    }
    if (answers)
        row->nps = (double)(100 * (promoters - detractors)) / (double)answers;
    else {
        row->nps = NAN;
        row->why_null[UP_M_NPS] = "no NPS answer within nps_window_days of the as-of date";
    }
}

/* A health component's score from its metric (metrics.md "Health score"). */
static double component_score(const ctx_t *c, int h, double v)
{
    if (isnan(v))
        return NAN;
    switch (h) {
    case UP_H_INTENSITY: return clamp100(100 * v / c->m->settings.intensity_target);
    case UP_H_STICKINESS: return clamp100(200 * v);
    case UP_H_TREND: return clamp100(50 + 100 * v);
    case UP_H_NPS: return clamp100((v + 100) / 2);
    default: return clamp100(100 * v);
    }
}

/* health: null components left out, the other weights rescaled */
static void health_of(const ctx_t *c, up_account_metrics_t *row)
{
    const up_health_weights_t *w = &c->m->settings.weights;
    const double weights[UP_H_N] = {
#define W_(ID, name, metric, weight) w->name,
        UP_HEALTH(W_)
#undef W_
    };
    double wsum = 0;
    for (int i = 0; i < UP_H_N; i++) {
        up_health_part_t *hp = &row->parts[i];
        hp->score = component_score(c, i, up_engine_metric(row, up_health_metric[i]));
        hp->weight = weights[i];
        if (!isnan(hp->score))
            wsum += weights[i];
    }
    row->health = NAN;
    if (wsum <= 0) {
        row->why_null[UP_M_HEALTH] = "no health component has a value (or their weights are all 0)";
        return;
    }
    double h = 0;
    for (int i = 0; i < UP_H_N; i++) {
        up_health_part_t *hp = &row->parts[i];
        if (isnan(hp->score))
            continue;
        hp->rescaled = weights[i] / wsum;
        hp->contribution = hp->rescaled * hp->score;
        h += hp->contribution;
    }
    row->health = h;
}

/* level (TSIA): low / high from breadth and depth, effective when every
 * outcome metric with a target is on track, judged on its latest row */
static void level_of(const ctx_t *c, const up_account_t *acc, up_account_metrics_t *row)
{
    const up_settings_t *set = &c->m->settings;
    int64_t T = c->T;
    uint32_t o_lo, o_hi;
    ROWS_OF(c->e, acc, c->e->outcomes, c->e->n_outcomes, UP_ROWS_OUTCOMES, o_lo, o_hi);
    for (uint32_t i = o_lo; i < o_hi;) {
        uint32_t j = i, last = i;
        while (j < o_hi && strcmp(c->e->outcomes[j].metric, c->e->outcomes[i].metric) == 0) {
            if (c->e->outcomes[j].ts <= T)
                last = j;   /* rows are by ts: the latest row at or before T */
            j++;
        }
        int ok = c->e->outcomes[i].ts <= T ? up_engine_outcome_on_track(&c->e->outcomes[i], &c->e->outcomes[last], T) : -1;
        if (ok >= 0) {
            row->outcomes_with_target++;
            row->outcomes_on_track += ok;
        }
        i = j;
    }
    if (isnan(row->breadth) || isnan(row->depth)) {
        row->level = UP_LEVEL_LOW;
        row->level_why = "breadth or depth has no value";
    } else if (row->breadth < set->level_breadth_min || row->depth < set->level_depth_min) {
        row->level = UP_LEVEL_LOW;
        row->level_why = row->breadth < set->level_breadth_min ? "breadth is below level_breadth_min"
                                                               : "depth is below level_depth_min";
    } else if (row->outcomes_with_target > 0 && row->outcomes_on_track == row->outcomes_with_target) {
        row->level = UP_LEVEL_EFFECTIVE;
        row->level_why = "breadth and depth reach the thresholds and every outcome with a target is on track";
    } else {
        row->level = UP_LEVEL_HIGH;
        row->level_why = row->outcomes_with_target == 0
            ? "breadth and depth reach the thresholds; no outcome with a target is recorded"
            : "breadth and depth reach the thresholds; an outcome with a target is off track";
    }
}

static int64_t days_or_null(int32_t a, int32_t b)
{
    return a == UP_NO_DAY || b == UP_NO_DAY ? INT64_MIN : (int64_t)a - b;
}

/* The metrics read off the others and the account's own fields (the alert
 * variables that are not signals), and the signals left null. */
static void derived_of(const ctx_t *c, const up_account_t *acc, up_account_metrics_t *row)
{
    row->status = up_engine_status_at(c->e, acc, c->T);
    row->arr = up_engine_arr_at(c->e, acc, c->T);
    row->level_low = row->level == UP_LEVEL_LOW;
    row->level_high = row->level == UP_LEVEL_HIGH;
    row->level_effective = row->level == UP_LEVEL_EFFECTIVE;
    row->core_unused_28d = row->core_features ? row->core_features - row->core_used : INT64_MIN;
    row->days_into_contract = days_or_null(c->d0, acc->contract_start);
    row->days_to_renewal = days_or_null(up_engine_renewal_day(c->e, acc), c->d0);
    row->churn_probability = NAN;
    row->has_key_action = row->ttfv_days != INT64_MIN || !isnan(row->activation_rate);
    /* seats at the end of yesterday against now */
    int64_t prev = up_engine_seats_at(c->e, acc, up_engine_end_of_day(c->d0 - 1));
    row->seats_removed_1d = prev > 0 ? (double)(prev - row->seats) / (double)prev : NAN;
    if (row->seats_removed_1d < 0)
        row->seats_removed_1d = 0;
    row->seats_utilization = row->seats > 0 ? (double)row->mau / (double)row->seats : NAN;
    row->champion_quiet = -1;
    row->health_change = NAN;
    row->milestone_overdue_days = row->days_since_milestone_done = INT64_MIN;
    row->open_milestones = row->tickets_28d = INT64_MIN;
    row->friction = NAN;
    row->friction_flag = -1;
}

/* An account's row before its pairs are scanned. */
static int metrics_start(const ctx_t *c, const up_account_t *acc, up_account_metrics_t *row, scan_t *s, int zeroed)
{
    size_t nf = c->m->n_features;
    if (!zeroed)
        memset(row, 0, sizeof *row);
    row->account = acc;
    row->seats = up_engine_seats_at(c->e, acc, c->T);
    if (!c->health_only) {
        row->feature_users = calloc(nf + 1, sizeof *row->feature_users);
        row->feature_adoption = calloc(nf + 1, sizeof *row->feature_adoption);
    }
    *s = (scan_t){0, 0, 0, 0, 0, UP_TS_NONE, UP_TS_NONE, UP_NO_DAY, {0, 0}, calloc(nf + 1, 1)};
    if ((!c->health_only && (!row->feature_users || !row->feature_adoption)) || !s->core_used) {
        free(s->core_used);
        return -UP_ENOMEM;
    }
    return 0;
}

/* The rest of the row from what the scan gathered. */
static void metrics_finish(const ctx_t *c, const up_account_t *acc, up_account_metrics_t *row, scan_t *s)
{
    row->active_users = row->mau;
    usage_ratios(c, row, s);
    free(s->core_used);
    value_and_habit(c, acc, row, s);
    row->days_since_last_active = s->last_active == UP_NO_DAY ? INT64_MIN : (int64_t)(c->d0 - s->last_active);
    nps_of(c, acc, row);
    health_of(c, row);
    if (c->health_only)
        return;
    level_of(c, acc, row);
    derived_of(c, acc, row);
}

/* The account's row as of each c[k] (k < n, n <= 2) into row[k]; acc[k] is
 * the account's record for that row. */
static int account_metrics_at(const ctx_t *const *c, int n, const up_account_t *const *acc,
                              up_account_metrics_t *const *row, int zeroed)
{
    scan_t s[2];
    for (int k = 0; k < n; k++)
        if (metrics_start(c[k], acc[k], row[k], &s[k], zeroed) < 0) {
            while (k-- > 0)
                free(s[k].core_used);
            return -UP_ENOMEM;
        }
    int64_t aid = up_dict_find(&c[0]->r->dict[UP_KIND_ACCOUNT], acc[0]->account_id, strlen(acc[0]->account_id));
    scan_pairs(c, n, aid, row, s);
    for (int k = 0; k < n; k++)
        metrics_finish(c[k], acc[k], row[k], &s[k]);
    return 0;
}

static int account_metrics(const ctx_t *c, const up_account_t *acc, up_account_metrics_t *row)
{
    return account_metrics_at(&c, 1, &acc, &row, 0);
}

double up_engine_metric(const up_account_metrics_t *row, int id)
{
    switch (id) {
#define V_COUNT(x) ((x) == INT64_MIN ? NAN : (double)(x))
#define V_DAYS(x) V_COUNT(x)
#define V_RATIO(x) (x)
#define V_SCORE(x) (x)
#define V_AMOUNT(x) (x)
#define V_BOOL(x) ((x) < 0 ? NAN : (double)(x))
#define V_LEVEL(x) ((double)(x))
#define V_STATUS(x) ((double)(x))
#define CASE_(ID, name, kind, uses, meaning) case UP_M_##ID: return V_##kind(row->name);
        UP_METRICS(CASE_)
#undef CASE_
    }
    return NAN;
}

typedef struct {
    const ctx_t *c[2];
    up_portfolio_t *out[2];
    const int32_t *second;   /* per event-only account of out[0]: its index in out[1]'s, or -1 */
    const up_entities_t *e;
    uint32_t first, step;
    int rc;
} worker_t;

static void *worker_run(void *arg)
{
    worker_t *w = arg;
    uint32_t na = w->e->n_accounts, n = na + w->out[0]->n_event_only;
    for (uint32_t i = w->first; i < n && w->rc == 0; i += w->step) {
        const up_account_t *acc[2];
        up_account_metrics_t *row[2];
        acc[0] = i < na ? &w->e->accounts[i] : &w->out[0]->event_only[i - na];
        row[0] = &w->out[0]->rows[i];
        int n_at = 1;
        if (w->out[1] && (i < na || w->second[i - na] >= 0)) {   /* the account exists at the second instant */
            uint32_t j = i < na ? i : na + (uint32_t)w->second[i - na];
            acc[1] = i < na ? acc[0] : &w->out[1]->event_only[j - na];
            row[1] = &w->out[1]->rows[j];
            n_at = 2;
        }
        w->rc = account_metrics_at(w->c, n_at, acc, row, 1);   /* rows of a calloc */
    }
    return NULL;
}

int up_engine_group_pairs(const up_rollup_t *r, up_pair_groups_t *g)
{
    memset(g, 0, sizeof *g);
    uint32_t n_acc = r->dict[UP_KIND_ACCOUNT].n;
    g->acc_start = calloc(n_acc + 2, sizeof *g->acc_start);
    g->acc_first = malloc((n_acc + 1) * sizeof *g->acc_first);
    g->acc_pairs = malloc((r->n_pairs + 1) * sizeof *g->acc_pairs);
    up_prefault(g->acc_pairs, (r->n_pairs + 1) * sizeof *g->acc_pairs);
    uint32_t *fill = malloc((n_acc + 1) * sizeof *fill);
    if (!g->acc_start || !g->acc_first || !g->acc_pairs || !fill) {
        free(fill);
        up_engine_pair_groups_free(g);
        return -UP_ENOMEM;
    }
    for (uint32_t a = 0; a <= n_acc; a++)
        g->acc_first[a] = UP_TS_NONE;
    for (uint32_t i = 0; i < r->n_pairs; i++) {
        const up_pair_t *p = &r->pairs[i];
        g->acc_start[p->account + 1]++;
        if (p->first_ts < g->acc_first[p->account])
            g->acc_first[p->account] = p->first_ts;
    }
    for (uint32_t a = 0; a < n_acc; a++)
        g->acc_start[a + 1] += g->acc_start[a];
    memcpy(fill, g->acc_start, (n_acc + 1) * sizeof *fill);
    for (uint32_t i = 0; i < r->n_pairs; i++)
        g->acc_pairs[fill[r->pairs[i].account]++] = i;
    free(fill);
    g->n_accounts = n_acc;
    g->n_pairs = r->n_pairs;
    return 0;
}

void up_engine_pair_groups_free(up_pair_groups_t *g)
{
    free(g->acc_start);
    free(g->acc_pairs);
    free(g->acc_first);
    memset(g, 0, sizeof *g);
}

/* c's groups: g when it is given (and still fits r), else computed into
 * own (freed by the caller). */
static int use_groups(ctx_t *c, const up_pair_groups_t *g, up_pair_groups_t *own)
{
    memset(own, 0, sizeof *own);
    if (!g || g->n_accounts != c->r->dict[UP_KIND_ACCOUNT].n || g->n_pairs != c->r->n_pairs) {
        int rc = up_engine_group_pairs(c->r, own);
        if (rc < 0)
            return rc;
        g = own;
    }
    c->g = g;
    return 0;
}

int up_engine_level_history(const up_rollup_t *r, const up_model_t *m, const up_entities_t *e,
                            const up_account_t *acc, int32_t from_day, int32_t to_day, up_level_t *out)
{
    ctx_t c = {r, m, e, 0, 0, NULL, 0};
    up_pair_groups_t own;
    int rc = use_groups(&c, NULL, &own);
    for (int32_t d = from_day; rc == 0 && d <= to_day; d++) {
        up_account_metrics_t row;
        c.T = up_engine_end_of_day(d);
        c.d0 = d;
        rc = account_metrics(&c, acc, &row);
        free(row.feature_users);
        free(row.feature_adoption);
        if (rc == 0)
            out[d - from_day] = row.level;
    }
    up_engine_pair_groups_free(&own);
    return rc;
}

static int cmp_account(const void *a, const void *b)
{
    return strcmp(((const up_account_t *)a)->account_id, ((const up_account_t *)b)->account_id);
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const up_account_metrics_t *)a)->account->account_id,
                  ((const up_account_metrics_t *)b)->account->account_id);
}

/* The rows by account_id: they come so unless accounts known from events
 * only fall among the table's (a sort moves 8 MB at 8,000 accounts). */
static void sort_rows(up_portfolio_t *p)
{
    for (uint32_t i = 1; i < p->n_rows; i++)
        if (cmp_row(&p->rows[i - 1], &p->rows[i]) > 0) {
            qsort(p->rows, p->n_rows, sizeof *p->rows, cmp_row);
            return;
        }
}

static int cmp_id_account(const void *key, const void *elem)
{
    return strcmp(key, ((const up_account_t *)elem)->account_id);
}

int up_engine_portfolio(const up_rollup_t *r, const up_model_t *m, const up_entities_t *e,
                        int64_t T, up_portfolio_t *out)
{
    return up_engine_portfolio_of(r, m, e, T, NULL, out);
}

/* The accounts seen in events by T but not in the accounts table (of them
 * only `only` when it is not NULL: the entity tables may hold its rows
 * alone) into out->event_only, sorted by id; out->rows allocated for every
 * account. acc_first: each account's first event (up_engine_group_pairs). */
static int portfolio_start(const up_rollup_t *r, const up_model_t *m, const up_entities_t *e, int64_t T,
                           const char *only, const int64_t *acc_first, up_portfolio_t *out)
{
    memset(out, 0, sizeof *out);
    out->T = T;
    out->d0 = up_day_of(T);
    out->model = m;
    uint32_t n_acc = r->dict[UP_KIND_ACCOUNT].n;
    uint8_t *seen = calloc(n_acc + 1, 1);
    if (!seen)
        return -UP_ENOMEM;
    int64_t only_id = only ? up_dict_find(&r->dict[UP_KIND_ACCOUNT], only, strlen(only)) : -1;
    for (uint32_t a = 0; a < n_acc; a++)
        seen[a] = acc_first[a] <= T && (!only || a == only_id);
    for (uint32_t i = 0; i < e->n_accounts; i++) {
        int64_t a = up_dict_find(&r->dict[UP_KIND_ACCOUNT], e->accounts[i].account_id,
                                 strlen(e->accounts[i].account_id));
        if (a >= 0)
            seen[a] = 0;
    }
    uint32_t n_extra = 0;
    for (uint32_t a = 0; a < n_acc; a++)
        n_extra += seen[a];
    int rc = -UP_ENOMEM;
    out->event_only = calloc(n_extra + 1, sizeof *out->event_only);
    if (!out->event_only)
        goto done;
    for (uint32_t a = 0; a < n_acc; a++) {
        if (!seen[a])
            continue;
        up_account_t *x = &out->event_only[out->n_event_only++];
        x->account_id = up_strdup(up_dict_str(&r->dict[UP_KIND_ACCOUNT], a));
        if (!x->account_id)
            goto done;
        x->contract_start = x->renewal_date = x->churned_at = UP_NO_DAY;
        x->arr = NAN;
    }
    qsort(out->event_only, out->n_event_only, sizeof *out->event_only, cmp_account);
    out->rows = up_calloc_big(e->n_accounts + n_extra + 1, sizeof *out->rows);
    rc = out->rows ? 0 : -UP_ENOMEM;
done:
    free(seen);
    return rc;
}

/* Every account's row as of T into out, and with out2 as of T2 <= T too
 * (each account's pairs read once for both), on two threads. */
static int portfolios(ctx_t *c, const ctx_t *c2, up_portfolio_t *out, up_portfolio_t *out2)
{
    const up_entities_t *e = c->e;
    int32_t *second = NULL;
    if (out2) {
        /* out2's accounts known from events only are some of out's (an
         * event by T2 is one by T), both lists sorted by id */
        second = malloc(((size_t)out->n_event_only + 1) * sizeof *second);
        if (!second)
            return -UP_ENOMEM;
        uint32_t j = 0;
        for (uint32_t i = 0; i < out->n_event_only; i++) {
            int hit = j < out2->n_event_only &&
                      strcmp(out->event_only[i].account_id, out2->event_only[j].account_id) == 0;
            second[i] = hit ? (int32_t)j++ : -1;
        }
        if (j != out2->n_event_only) {   /* cannot be: T2 > T */
            free(second);
            return -UP_EINVAL;
        }
    }
    /* accounts are independent: two workers, each over every other one */
    uint32_t n = e->n_accounts + out->n_event_only;
    worker_t w[2] = {{{c, c2}, {out, out2}, second, e, 0, 2, 0}, {{c, c2}, {out, out2}, second, e, 1, 2, 0}};
    pthread_t tid;
    int threaded = n >= 256 && pthread_create(&tid, NULL, worker_run, &w[1]) == 0;
    if (!threaded)
        w[0].step = 1;
    worker_run(&w[0]);
    if (threaded)
        pthread_join(tid, NULL);
    free(second);
    out->n_rows = n;   /* (set before a failure too, for up_portfolio_free) */
    if (out2)
        out2->n_rows = e->n_accounts + out2->n_event_only;
    int rc = w[0].rc < 0 ? w[0].rc : w[1].rc;
    if (rc < 0)
        return rc;
    sort_rows(out);
    if (out2)
        sort_rows(out2);
    return 0;
}

int up_engine_portfolio_of(const up_rollup_t *r, const up_model_t *m, const up_entities_t *e,
                           int64_t T, const char *only, up_portfolio_t *out)
{
    return up_engine_portfolio_grouped(r, NULL, m, e, T, only, out);
}

int up_engine_portfolio_grouped(const up_rollup_t *r, const up_pair_groups_t *g, const up_model_t *m,
                                const up_entities_t *e, int64_t T, const char *only, up_portfolio_t *out)
{
    ctx_t c = {r, m, e, T, up_day_of(T), NULL, 0};
    memset(out, 0, sizeof *out);
    up_pair_groups_t own;
    int rc = use_groups(&c, g, &own);
    if (rc == 0)
        rc = portfolio_start(r, m, e, T, only, c.g->acc_first, out);
    if (rc == 0 && only) {
        /* (bsearch may not take the NULL of an empty table) */
        const up_account_t *acc = e->n_accounts ? bsearch(only, e->accounts, e->n_accounts, sizeof *e->accounts,
                                                          cmp_id_account) : NULL;
        if (!acc && out->n_event_only)
            acc = bsearch(only, out->event_only, out->n_event_only, sizeof *out->event_only, cmp_id_account);
        if (acc)
            rc = account_metrics(&c, acc, &out->rows[0]);
        out->n_rows = rc == 0 && acc != NULL;
    } else if (rc == 0)
        rc = portfolios(&c, NULL, out, NULL);
    up_engine_pair_groups_free(&own);
    if (rc < 0)
        up_portfolio_free(out);
    return rc;
}

int up_engine_portfolio_two(const up_rollup_t *r, const up_model_t *m, const up_entities_t *e, int64_t T,
                            int64_t T2, up_portfolio_t *out, up_portfolio_t *out2)
{
    return up_engine_portfolio_two_grouped(r, NULL, m, e, T, T2, 0, out, out2);
}

int up_engine_portfolio_two_grouped(const up_rollup_t *r, const up_pair_groups_t *g, const up_model_t *m,
                                    const up_entities_t *e, int64_t T, int64_t T2, unsigned flags,
                                    up_portfolio_t *out, up_portfolio_t *out2)
{
    ctx_t c = {r, m, e, T, up_day_of(T), NULL, 0};
    memset(out, 0, sizeof *out);
    memset(out2, 0, sizeof *out2);
    if (T2 > T)
        return -UP_EINVAL;
    up_pair_groups_t own;
    int rc = use_groups(&c, g, &own);
    if (rc == 0)
        rc = portfolio_start(r, m, e, T, NULL, c.g->acc_first, out);
    if (rc == 0)
        rc = portfolio_start(r, m, e, T2, NULL, c.g->acc_first, out2);
    ctx_t c2 = c;
    c2.T = T2;
    c2.d0 = up_day_of(T2);
    c2.health_only = (flags & UP_PORTFOLIO_SECOND_HEALTH) != 0;
    if (rc == 0)
        rc = portfolios(&c, &c2, out, out2);
    up_engine_pair_groups_free(&own);
    if (rc < 0) {
        up_portfolio_free(out);
        up_portfolio_free(out2);
    }
    return rc;
}

void up_portfolio_free(up_portfolio_t *p)
{
    for (uint32_t i = 0; i < p->n_rows; i++) {
        free(p->rows[i].feature_users);
        free(p->rows[i].feature_adoption);
    }
    free(p->rows);
    for (uint32_t i = 0; i < p->n_event_only; i++)
        account_free(&p->event_only[i]);
    free(p->event_only);
    memset(p, 0, sizeof *p);
}

int64_t up_engine_seats_at(const up_entities_t *e, const up_account_t *acc, int64_t T)
{
    /* with subscriptions loaded, seats are those active at T */
    uint32_t b_lo, b_hi;
    ROWS_OF(e, acc, e->subscriptions, e->n_subscriptions, UP_ROWS_SUBSCRIPTIONS, b_lo, b_hi);
    if (b_hi == b_lo)
        return acc->seats;
    int64_t seats = 0;
    for (uint32_t i = b_lo; i < b_hi; i++) {
        const up_subscription_t *b = &e->subscriptions[i];
        if (up_subscription_active(b, T))
            seats += b->seats;
    }
    return seats;
}

/* ---- lifecycle --------------------------------------------------------- */

static int64_t day_start(int32_t day)
{
    return (int64_t)day * UP_MS_PER_DAY;
}

up_status_t up_engine_status_at(const up_entities_t *e, const up_account_t *acc, int64_t T)
{
    int64_t last_start = INT64_MIN, last_churn = INT64_MIN;
    int later_start = 0;
    if (acc->contract_start != UP_NO_DAY) {
        int64_t t = day_start(acc->contract_start);
        if (t <= T)
            last_start = t;
        else
            later_start = 1;
    }
    uint32_t lo, hi;
    ROWS_OF(e, acc, e->subscriptions, e->n_subscriptions, UP_ROWS_SUBSCRIPTIONS, lo, hi);
    for (uint32_t i = lo; i < hi; i++) {
        int64_t t = e->subscriptions[i].start;
        if (t <= T) {
            if (t > last_start)
                last_start = t;
        } else
            later_start = 1;
    }
    if (acc->churned_at != UP_NO_DAY && day_start(acc->churned_at) <= T)
        last_churn = day_start(acc->churned_at);
    ROWS_OF(e, acc, e->churns, e->n_churns, UP_ROWS_CHURNS, lo, hi);
    for (uint32_t i = lo; i < hi; i++)
        if (e->churns[i].ts <= T && e->churns[i].ts > last_churn)
            last_churn = e->churns[i].ts;
    /* a churn with no start before it is later than "no start" */
    if (last_churn != INT64_MIN && last_churn > last_start)
        return UP_STATUS_CHURNED;
    if (last_start == INT64_MIN && later_start)
        return UP_STATUS_PROSPECT;
    return UP_STATUS_CUSTOMER;
}

double up_engine_contract_arr_at(const up_entities_t *e, const up_account_t *acc, int64_t T)
{
    uint32_t lo, hi;
    ROWS_OF(e, acc, e->subscriptions, e->n_subscriptions, UP_ROWS_SUBSCRIPTIONS, lo, hi);
    if (hi == lo)
        return acc->arr;
    /* subscriptions exist: those active with an ARR are what is paid (0 when none) */
    double sum = 0;
    for (uint32_t i = lo; i < hi; i++) {
        const up_subscription_t *b = &e->subscriptions[i];
        if (up_subscription_active(b, T) && !isnan(b->arr))
            sum += b->arr;
    }
    return sum;
}

int32_t up_engine_renewal_day(const up_entities_t *e, const up_account_t *acc)
{
    if (acc->renewal_date != UP_NO_DAY)
        return acc->renewal_date;
    uint32_t lo, hi;
    ROWS_OF(e, acc, e->subscriptions, e->n_subscriptions, UP_ROWS_SUBSCRIPTIONS, lo, hi);
    int64_t last_start = INT64_MIN, end = UP_TS_NONE;
    for (uint32_t i = lo; i < hi; i++) {
        const up_subscription_t *b = &e->subscriptions[i];
        if (b->start > last_start || (b->start == last_start && end != UP_TS_NONE &&
                                      (b->end == UP_TS_NONE || b->end > end))) {
            last_start = b->start;
            end = b->end;
        }
    }
    return end == UP_TS_NONE ? UP_NO_DAY : up_day_of(end);
}

double up_engine_arr_at(const up_entities_t *e, const up_account_t *acc, int64_t T)
{
    return up_engine_status_at(e, acc, T) == UP_STATUS_CUSTOMER ? up_engine_contract_arr_at(e, acc, T) : 0;
}

int up_engine_churned_between(const up_entities_t *e, const up_account_t *acc, int64_t from, int64_t to)
{
    if (acc->churned_at != UP_NO_DAY && day_start(acc->churned_at) > from && day_start(acc->churned_at) <= to)
        return 1;
    uint32_t lo, hi;
    ROWS_OF(e, acc, e->churns, e->n_churns, UP_ROWS_CHURNS, lo, hi);
    for (uint32_t i = lo; i < hi; i++)
        if (e->churns[i].ts > from && e->churns[i].ts <= to)
            return 1;
    return 0;
}

static int cmp_lifecycle(const void *pa, const void *pb)
{
    const up_lifecycle_event_t *a = pa, *b = pb;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return b->churn - a->churn;
}

int up_engine_lifecycle(const up_entities_t *e, const up_account_t *acc, up_lifecycle_event_t **out, uint32_t *n)
{
    uint32_t lo, hi, klo, khi;
    ROWS_OF(e, acc, e->subscriptions, e->n_subscriptions, UP_ROWS_SUBSCRIPTIONS, lo, hi);
    ROWS_OF(e, acc, e->churns, e->n_churns, UP_ROWS_CHURNS, klo, khi);
    up_lifecycle_event_t *ev = malloc(((size_t)(hi - lo) + (khi - klo) + 3) * sizeof *ev);
    if (!ev)
        return -UP_ENOMEM;
    uint32_t k = 0;
    if (acc->contract_start != UP_NO_DAY)
        ev[k++] = (up_lifecycle_event_t){day_start(acc->contract_start), 0, "contract_start", NULL};
    for (uint32_t i = lo; i < hi; i++)
        ev[k++] = (up_lifecycle_event_t){e->subscriptions[i].start, 0, "subscription", NULL};
    if (acc->churned_at != UP_NO_DAY)
        ev[k++] = (up_lifecycle_event_t){day_start(acc->churned_at), 1, "churned_at", NULL};
    for (uint32_t i = klo; i < khi; i++)
        ev[k++] = (up_lifecycle_event_t){e->churns[i].ts, 1, "churn", NULL};
    qsort(ev, k, sizeof *ev, cmp_lifecycle);
    int state = 0;   /* 0 no start yet, 1 customer, 2 churned */
    for (uint32_t i = 0; i < k; i++) {
        if (ev[i].churn) {
            ev[i].event = state != 2 ? "churned" : NULL;
            state = 2;
        } else {
            ev[i].event = state == 0 ? "started" : state == 2 ? "came back" : NULL;
            state = 1;
        }
    }
    *out = ev;
    *n = k;
    return 0;
}
