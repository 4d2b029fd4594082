/* backtest: does a score predict churn (see the header). */
#include "backtest.h"

#include "engine.h"
#include "store.h"
#include "timeparse.h"
#include "view.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const up_bt_band_names[UP_BT_BANDS] = {"0-20", "20-40", "40-60", "60-80", "80-100", "(none)"};

int up_backtest_band(double h)
{
    if (isnan(h))
        return 5;
    int b = (int)floor(h / 20);
    return b < 0 ? 0 : b > 4 ? 4 : b;
}

/* ---- AUC ----------------------------------------------------------------- */

typedef struct {
    double v;
    uint8_t churned;
} vc_t;

static int cmp_vc(const void *pa, const void *pb)
{
    const vc_t *a = pa, *b = pb;
    return (a->v > b->v) - (a->v < b->v);
}

/* The rows with a value, sorted; *n_out receives their number. */
static vc_t *sorted_rows(const double *value, const uint8_t *churned, size_t n, size_t *n_out)
{
    vc_t *r = malloc((n + 1) * sizeof *r);
    if (!r)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(value[i]))
            r[k++] = (vc_t){value[i], churned[i]};
    qsort(r, k, sizeof *r, cmp_vc);
    *n_out = k;
    return r;
}

int up_backtest_auc(const double *value, const uint8_t *churned, size_t n, int ci, up_auc_t *out)
{
    size_t k;
    vc_t *r = sorted_rows(value, churned, n, &k);
    if (!r)
        return -UP_ENOMEM;
    int64_t nc = 0, nr = 0;
    for (size_t i = 0; i < k; i++)
        r[i].churned ? nc++ : nr++;
    out->churned = nc;
    out->retained = nr;
    out->left_out = (int64_t)(n - k);
    out->auc = out->lo = out->hi = NAN;
    if (nc == 0 || nr == 0) {
        free(r);
        return 0;
    }
    /* twice the number of (churned below retained) pairs plus the ties,
     * summed exactly in integers: groups of equal values in ascending
     * order; a churned row in a group is below every retained row above it */
    uint64_t twice = 0;
    int64_t retained_below = 0;
    for (size_t i = 0; i < k;) {
        size_t j = i;
        int64_t c = 0, t = 0;
        for (; j < k && r[j].v == r[i].v; j++)
            r[j].churned ? c++ : t++;
        int64_t retained_above = nr - retained_below - t;
        twice += (uint64_t)c * (uint64_t)(2 * retained_above + t);
        retained_below += t;
        i = j;
    }
    out->auc = (double)twice / (2.0 * (double)nc * (double)nr);
    if (ci && nc >= 2 && nr >= 2) {
        /* DeLong: V(c) = P(retained above c) + ties / 2, W(r) = P(churned
         * below r) + ties / 2; var = var(V) / nc + var(W) / nr */
        double sv = 0, sv2 = 0, sw = 0, sw2 = 0;
        int64_t rb = 0, cb = 0;
        for (size_t i = 0; i < k;) {
            size_t j = i;
            int64_t c = 0, t = 0;
            for (; j < k && r[j].v == r[i].v; j++)
                r[j].churned ? c++ : t++;
            double v = ((double)(nr - rb - t) + 0.5 * (double)t) / (double)nr;
            double w = ((double)cb + 0.5 * (double)c) / (double)nc;
            sv += (double)c * v, sv2 += (double)c * v * v;
            sw += (double)t * w, sw2 += (double)t * w * w;
            rb += t, cb += c;
            i = j;
        }
        double var_v = (sv2 - sv * sv / (double)nc) / (double)(nc - 1);
        double var_w = (sw2 - sw * sw / (double)nr) / (double)(nr - 1);
        double var = var_v / (double)nc + var_w / (double)nr;
        double se = sqrt(var > 0 ? var : 0);
        out->lo = out->auc - 1.959963984540054 * se;
        out->hi = out->auc + 1.959963984540054 * se;
        if (out->lo < 0)
            out->lo = 0;
        if (out->hi > 1)
            out->hi = 1;
    }
    free(r);
    return 0;
}

double up_backtest_lift(const double *value, const uint8_t *churned, size_t n)
{
    size_t k;
    vc_t *r = sorted_rows(value, churned, n, &k);
    if (!r || k == 0) {
        free(r);
        return NAN;
    }
    int64_t all_churned = 0, low = 0, low_churned = 0;
    for (size_t i = 0; i < k; i++)
        all_churned += r[i].churned;
    /* the lowest decile: rows of which fewer than 10% score strictly lower;
     * in sorted order, row i has at least i rows below only when its value
     * differs from the one before, so the decile is whole groups */
    for (size_t i = 0; i < k;) {
        if (10 * i >= k)   /* i rows score lower than this group */
            break;
        size_t j = i;
        for (; j < k && r[j].v == r[i].v; j++) {
            low++;
            low_churned += r[j].churned;
        }
        i = j;
    }
    free(r);
    if (all_churned == 0)
        return NAN;
    return ((double)low_churned / (double)low) / ((double)all_churned / (double)k);
}

/* ---- the snapshots and their rows ------------------------------------------ */

/* The score columns: health, its components, the numeric catalog columns
 * of `report accounts` (not health, level or status, which have their own
 * rows or none), the level, each feature's adoption. */
static int is_metric_score(int m)
{
    const up_metric_info_t *mi = &up_metric_info[m];
    return (mi->uses & UP_MU_COL) && m != UP_M_HEALTH && mi->kind != UP_MK_LEVEL && mi->kind != UP_MK_STATUS;
}

static size_t count_scores(const up_model_t *model)
{
    size_t n = 1 + UP_H_N + 1 + model->n_features;
    for (int m = 0; m < UP_M_N; m++)
        n += is_metric_score(m);
    return n;
}

static int name_scores(up_backtest_t *bt, const up_model_t *model)
{
    size_t k = 0, len = 0;
    for (size_t f = 0; f < model->n_features; f++)
        len += strlen(model->features[f].name) + 9;
    for (int h = 0; h < UP_H_N; h++)
        len += strlen(up_health_names[h]) + 8;
    char *p = bt->strings_ = malloc(len + 1);
    if (!p)
        return -UP_ENOMEM;
    bt->scores[k++].name = "health";
    for (int h = 0; h < UP_H_N; h++) {
        bt->scores[k++].name = p;
        p += sprintf(p, "health:%s", up_health_names[h]) + 1;
    }
    for (int m = 0; m < UP_M_N; m++)
        if (is_metric_score(m))
            bt->scores[k++].name = up_metric_info[m].name;
    bt->scores[k++].name = "level";
    for (size_t f = 0; f < model->n_features; f++) {
        bt->scores[k++].name = p;
        p += sprintf(p, "feature:%s", model->features[f].name) + 1;
    }
    return 0;
}

/* Row i's scores from its metrics. */
static void row_values(up_backtest_t *bt, size_t i, const up_account_metrics_t *row, size_t n_features)
{
    size_t k = 0, n = bt->n_rows;
    double *v = bt->values;
    v[k++ * n + i] = row->health;
    for (int h = 0; h < UP_H_N; h++)
        v[k++ * n + i] = row->parts[h].score;
    for (int m = 0; m < UP_M_N; m++)
        if (is_metric_score(m))
            v[k++ * n + i] = up_engine_metric(row, m);
    v[k++ * n + i] = (double)row->level;
    for (size_t f = 0; f < n_features; f++)
        v[k++ * n + i] = row->feature_adoption[f];
}

/* The snapshot days: the last day of each month t with d1 <= t, t + N <= d2. */
static uint32_t month_ends(int32_t d1, int32_t d2, int horizon, int32_t *out, uint32_t cap)
{
    int y;
    unsigned mo, d;
    up_civil_from_days(d1, &y, &mo, &d);
    uint32_t n = 0;
    for (;;) {
        int ny = mo == 12 ? y + 1 : y;
        unsigned nm = mo == 12 ? 1 : mo + 1;
        int32_t t = up_days_from_civil(ny, nm, 1) - 1;   /* the last day of y-mo */
        if ((int64_t)t + horizon > d2)
            break;
        if (t >= d1) {
            if (out && n < cap)
                out[n] = t;
            n++;
        }
        y = ny, mo = nm;
    }
    return n;
}

typedef struct {
    int null;        /* the AUC is null: last */
    double dist;     /* |auc - 0.5| */
    uint32_t k;
} rank_t;

static int cmp_rank(const void *pa, const void *pb)
{
    const rank_t *a = pa, *b = pb;
    if (a->null != b->null)
        return a->null - b->null;
    if (a->dist != b->dist)
        return a->dist > b->dist ? -1 : 1;
    return (a->k > b->k) - (a->k < b->k);
}

/* Adds the customers of one snapshot's portfolio to bt (rows already sized). */
static void add_snapshot(up_backtest_t *bt, uint32_t si, const up_portfolio_t *p, const up_entities_t *e,
                         int64_t T0, int64_t T1)
{
    up_bt_snapshot_t *sn = &bt->snaps[si];
    for (uint32_t a = 0; a < p->n_rows; a++) {
        const up_account_metrics_t *row = &p->rows[a];
        if (row->status != UP_STATUS_CUSTOMER)
            continue;
        size_t i = bt->n_rows++;
        int churned = up_engine_churned_between(e, row->account, T0, T1) != 0;
        bt->row_snap[i] = si;
        bt->churned[i] = (uint8_t)churned;
        sn->customers++;
        sn->churned += churned;
    }
}

static int run(up_store_t *s, int32_t d1, int32_t d2, int horizon, int scores, up_backtest_t *bt, char *err,
               size_t errlen)
{
    memset(bt, 0, sizeof *bt);
    bt->d1 = d1, bt->d2 = d2, bt->horizon = horizon;
    char a[16], b[16];
    up_date_fmt(a, d1);
    up_date_fmt(b, d2);
    if (horizon < 1)
        return up_errf(err, errlen, -UP_EINVAL, "--horizon must be at least 1 day, got %d", horizon);
    if (d1 > d2)
        return up_errf(err, errlen, -UP_EINVAL, "--from %s is after --to %s", a, b);
    uint32_t n = month_ends(d1, d2, horizon, NULL, 0);
    if (n == 0)
        return up_errf(err, errlen, -UP_EINVAL,
                    "no month end t with %s <= t and t + %d days <= %s: the horizon reaches past --to "
                    "(move --from earlier, --to later, or shorten --horizon)", a, horizon, b);
    const up_model_t *model = up_store_model(s);
    bt->n_snaps = n;
    bt->snaps = calloc(n, sizeof *bt->snaps);
    int32_t *days = calloc(n, sizeof *days);
    bt->n_scores = count_scores(model);
    bt->scores = calloc(bt->n_scores, sizeof *bt->scores);
    if (!bt->snaps || !days || !bt->scores || name_scores(bt, model) < 0) {
        free(days);
        up_backtest_free(bt);
        return up_errf(err, errlen, -UP_ENOMEM, "out of memory");
    }
    month_ends(d1, d2, horizon, days, n);
    for (int h = 0; h < UP_H_N; h++)
        bt->weights[h] = 0;
#define W_(ID, name, metric, weight) bt->weights[UP_H_##ID] = model->settings.weights.name;
    UP_HEALTH(W_)
#undef W_
    up_view_t v;
    int rc = up_view_open_span(s, up_engine_end_of_day(days[0]), up_engine_end_of_day(d2), &v, err, errlen);
    if (rc < 0) {
        free(days);
        up_backtest_free(bt);
        return rc;
    }
    /* one portfolio per snapshot; the rows of all, pooled */
    up_portfolio_t *ps = calloc(n, sizeof *ps);
    size_t cap = 0;
    for (uint32_t i = 0; ps && i < n && rc == 0; i++) {
        bt->snaps[i].day = days[i];
        rc = up_view_portfolio_at(&v, up_engine_end_of_day(days[i]), &ps[i], err, errlen);
        if (rc == 0)
            cap += ps[i].n_rows;
    }
    if (!ps)
        rc = up_errf(err, errlen, -UP_ENOMEM, "out of memory");
    if (rc == 0) {
        bt->row_snap = malloc((cap + 1) * sizeof *bt->row_snap);
        bt->churned = malloc(cap + 1);
        if (!bt->row_snap || !bt->churned)
            rc = up_errf(err, errlen, -UP_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        add_snapshot(bt, i, &ps[i], &v.entities, up_engine_end_of_day(days[i]),
                     up_engine_end_of_day(days[i] + horizon));
    if (rc == 0 && !(bt->values = malloc((bt->n_scores * bt->n_rows + 1) * sizeof *bt->values)))
        rc = up_errf(err, errlen, -UP_ENOMEM, "out of memory");
    size_t i = 0;
    for (uint32_t si = 0; rc == 0 && si < n; si++)
        for (uint32_t r = 0; r < ps[si].n_rows; r++) {
            const up_account_metrics_t *row = &ps[si].rows[r];
            if (row->status != UP_STATUS_CUSTOMER)
                continue;
            row_values(bt, i, row, model->n_features);
            bt->by_level[row->level].rows++;
            bt->by_level[row->level].churned += bt->churned[i];
            up_bt_cell_t *band = &bt->by_band[up_backtest_band(row->health)];
            band->rows++;
            band->churned += bt->churned[i];
            bt->all.rows++;
            bt->all.churned += bt->churned[i];
            i++;
        }
    for (uint32_t si = 0; ps && si < n; si++)
        up_portfolio_free(&ps[si]);
    free(ps);
    free(days);
    up_view_close(&v);
    if (!scores || rc < 0) {
        if (rc < 0)
            up_backtest_free(bt);
        return rc;
    }
    for (size_t k = 0; rc == 0 && k < bt->n_scores; k++) {
        const double *col = bt->values + k * bt->n_rows;
        if (up_backtest_auc(col, bt->churned, bt->n_rows, 1, &bt->scores[k].auc) < 0)
            rc = up_errf(err, errlen, -UP_ENOMEM, "out of memory");
        bt->scores[k].lift = up_backtest_lift(col, bt->churned, bt->n_rows);
    }
    if (rc == 0 && !(bt->ranked = malloc(bt->n_scores * sizeof *bt->ranked)))
        rc = up_errf(err, errlen, -UP_ENOMEM, "out of memory");
    if (rc < 0) {
        up_backtest_free(bt);
        return rc;
    }
    rank_t *rk = malloc(bt->n_scores * sizeof *rk);
    if (!rk) {
        up_backtest_free(bt);
        return up_errf(err, errlen, -UP_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < bt->n_scores; k++) {
        double auc = bt->scores[k].auc.auc;
        rk[k] = (rank_t){isnan(auc), isnan(auc) ? 0 : fabs(auc - 0.5), (uint32_t)k};
    }
    qsort(rk, bt->n_scores, sizeof *rk, cmp_rank);
    for (size_t k = 0; k < bt->n_scores; k++)
        bt->ranked[k] = rk[k].k;
    free(rk);
    return 0;
}

int up_backtest_run(up_store_t *s, int32_t d1, int32_t d2, int horizon, up_backtest_t *bt, char *err,
                    size_t errlen)
{
    return run(s, d1, d2, horizon, 1, bt, err, errlen);
}

/* ---- the calibration kept across runs ----------------------------------
 * Twelve month-end portfolios cost most of `alerts evaluate` on a large
 * store, and they change only when the model, the CRM tables, or the
 * events at or before the last month end change. uptake.db's
 * calibration_cache keeps each result under a key of its day, horizon,
 * model hash and the users and CRM generations (store.c's triggers), with
 * the log point it was computed at; it is used again only while
 * up_store_unchanged_to says no event at or before the last month end came
 * after that point, so a kept result is always the one a new run gives. */

typedef struct {
    char key[128];
    int64_t after;               /* the end of the last month end's day */
} cal_key_t;

static int cal_key(up_store_t *s, const up_bt_calibration_t *c, cal_key_t *k)
{
    sqlite3_stmt *st;
    int64_t users_gen = -1, crm_gen = -1;
    if (sqlite3_prepare_v2(up_store_db(s), "SELECT key, value FROM meta WHERE key IN ('users_gen', 'crm_gen')", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name && !strcmp(name, "users_gen"))
            users_gen = sqlite3_column_int64(st, 1);
        else if (name)
            crm_gen = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (users_gen < 0 || crm_gen < 0)
        return -1;   /* a store from before crm_gen: nothing is kept */
    int32_t days[16];
    uint32_t n = month_ends(c->from, c->to, c->horizon, days, 16);
    if (n == 0 || n > 16)
        return -1;
    k->after = up_engine_end_of_day(days[n - 1]);
    snprintf(k->key, sizeof k->key, "%d|%d|%016llx|%lld|%lld", (int)c->to, c->horizon,
             (unsigned long long)up_store_model_hash(s), (long long)users_gen, (long long)crm_gen);
    return 0;
}

/* 1 with c's snapshots and bands filled from the cache, 0 when it has none
 * that still holds. */
static int cal_lookup(up_store_t *s, const cal_key_t *k, up_bt_calibration_t *c)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(up_store_db(s), "SELECT log_end, last_off, last_crc, value FROM calibration_cache"
                           " WHERE key = ? AND after = ?", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, k->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, k->after);
    int found = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        up_store_point_t p = {(uint64_t)sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
                              (uint32_t)sqlite3_column_int64(st, 2)};
        const char *v = (const char *)sqlite3_column_text(st, 3);
        up_bt_calibration_t got = *c;
        int used = 0, n = 0;
        unsigned snaps;
        if (v && sscanf(v, "%u%n", &snaps, &used) == 1) {
            got.n_snaps = snaps;
            for (n = 0; n < UP_BT_BANDS; n++) {
                long long rows, churned;
                int more;
                if (sscanf(v + used, " %lld %lld%n", &rows, &churned, &more) != 2)
                    break;
                got.band[n].rows = rows;
                got.band[n].churned = churned;
                used += more;
            }
        }
        if (n == UP_BT_BANDS && up_store_unchanged_to(s, &p, k->after)) {
            *c = got;
            found = 1;
        }
    }
    sqlite3_finalize(st);
    return found;
}

/* Keeps c under k, on a connection of its own (the store's may be read-only);
 * failing to keep it costs only the next run's time. */
static void cal_keep(up_store_t *s, const cal_key_t *k, const up_bt_calibration_t *c)
{
    up_store_point_t p;
    const char *path = sqlite3_db_filename(up_store_db(s), "main");
    sqlite3 *db = NULL;
    if (up_store_point(s, &p) < 0 || !path || !path[0] ||
        sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return;
    }
    sqlite3_busy_timeout(db, 200);
    char v[64 + UP_BT_BANDS * 48];
    int len = snprintf(v, sizeof v, "%u", c->n_snaps);
    for (int i = 0; i < UP_BT_BANDS && len > 0 && (size_t)len < sizeof v; i++)
        len += snprintf(v + len, sizeof v - (size_t)len, " %lld %lld", (long long)c->band[i].rows,
                        (long long)c->band[i].churned);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO calibration_cache(key, log_end, last_off, last_crc, after, value)"
                           " VALUES (?, ?, ?, ?, ?, ?)", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, k->key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)p.end);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)p.last_off);
        sqlite3_bind_int64(st, 4, p.last_crc);
        sqlite3_bind_int64(st, 5, k->after);
        sqlite3_bind_text(st, 6, v, -1, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    /* the rows of days, models and generations gone by: the newest 64 stay */
    sqlite3_exec(db, "DELETE FROM calibration_cache WHERE rowid NOT IN"
                     " (SELECT rowid FROM calibration_cache ORDER BY rowid DESC LIMIT 64)", NULL, NULL, NULL);
    sqlite3_close(db);
}

int up_backtest_calibration(up_store_t *s, int64_t T, int horizon, up_bt_calibration_t *out, char *err,
                            size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->to = up_day_of(T);
    out->from = out->to - 365;
    out->horizon = horizon < 1 ? 1 : horizon;
    if (month_ends(out->from, out->to, out->horizon, NULL, 0) == 0)
        return 0;
    cal_key_t k;
    int keyed = cal_key(s, out, &k) == 0;
    if (keyed && cal_lookup(s, &k, out))
        return 0;
    up_backtest_t bt;
    int rc = run(s, out->from, out->to, out->horizon, 0, &bt, err, errlen);
    if (rc < 0)
        return rc;
    out->n_snaps = bt.n_snaps;
    memcpy(out->band, bt.by_band, sizeof out->band);
    up_backtest_free(&bt);
    if (keyed)
        cal_keep(s, &k, out);
    return 0;
}

double up_backtest_probability(const up_bt_calibration_t *c, double h, int64_t *rows)
{
    const up_bt_cell_t *b = &c->band[up_backtest_band(h)];
    *rows = b->rows;
    return b->rows ? (double)b->churned / (double)b->rows : NAN;
}

int up_backtest_churn_probability(up_view_t *v, char *err, size_t errlen)
{
    up_bt_calibration_t cal;
    int rc = up_backtest_calibration(v->store, up_engine_end_of_day(v->d0), v->model->alert_settings.renewal_days, &cal,
                                     err, errlen);
    if (rc < 0)
        return rc;
    uint32_t n = up_view_rows_all(v);
    for (uint32_t i = 0; i < n; i++) {
        int64_t rows;
        v->portfolio.rows[i].churn_probability = up_backtest_probability(&cal, v->portfolio.rows[i].health, &rows);
    }
    return 0;
}

void up_backtest_free(up_backtest_t *bt)
{
    free(bt->snaps);
    free(bt->row_snap);
    free(bt->churned);
    free(bt->scores);
    free(bt->values);
    free(bt->ranked);
    free(bt->strings_);
    memset(bt, 0, sizeof *bt);
}

const up_bt_cell_t *up_backtest_band_cell(const up_backtest_t *bt, double h)
{
    return &bt->by_band[up_backtest_band(h)];
}

/* ---- suggested weights ------------------------------------------------------ */

double up_backtest_health(const up_backtest_t *bt, size_t i, const double *w)
{
    const double *v = bt->values;
    size_t n = bt->n_rows;
    double wsum = 0;
    for (int h = 0; h < UP_H_N; h++)
        if (!isnan(v[(UP_BT_COMPONENT0 + (size_t)h) * n + i]))
            wsum += w[h];
    if (wsum <= 0)
        return NAN;
    double s = 0;
    for (int h = 0; h < UP_H_N; h++) {
        double x = v[(UP_BT_COMPONENT0 + (size_t)h) * n + i];
        if (!isnan(x))
            s += (w[h] / wsum) * x;
    }
    return s;
}

/* The AUC of health under w over the rows of snapshots [s_lo, s_hi). */
static int auc_of(const up_backtest_t *bt, const double *w, uint32_t s_lo, uint32_t s_hi, double *hv,
                  uint8_t *ch, int ci, up_auc_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < bt->n_rows; i++)
        if (bt->row_snap[i] >= s_lo && bt->row_snap[i] < s_hi) {
            hv[k] = up_backtest_health(bt, i, w);
            ch[k++] = bt->churned[i];
        }
    return up_backtest_auc(hv, ch, k, ci, out);
}

/* Weights to multiples of 0.01 summing to 1 (largest remainders). */
static void round_weights(double *w)
{
    double sum = 0;
    for (int h = 0; h < UP_H_N; h++)
        sum += w[h];
    int cents[UP_H_N], total = 0;
    double rem[UP_H_N];
    for (int h = 0; h < UP_H_N; h++) {
        double c = sum > 0 ? 100 * w[h] / sum : 0;
        cents[h] = (int)floor(c);
        rem[h] = c - cents[h];
        total += cents[h];
    }
    while (total < 100) {
        int best = 0;
        for (int h = 1; h < UP_H_N; h++)
            if (rem[h] > rem[best])
                best = h;
        cents[best]++;
        rem[best] = -1;
        total++;
    }
    for (int h = 0; h < UP_H_N; h++)
        w[h] = cents[h] / 100.0;
}

int up_backtest_suggest(const up_backtest_t *bt, up_bt_suggestion_t *out)
{
    memset(out, 0, sizeof *out);
    if (bt->n_snaps < 2)
        return -UP_EINVAL;
    uint32_t half = bt->n_snaps / 2;
    out->train_snaps = half;
    out->test_snaps = bt->n_snaps - half;
    double *hv = malloc((bt->n_rows + 1) * sizeof *hv);
    uint8_t *ch = malloc(bt->n_rows + 1);
    if (!hv || !ch) {
        free(hv);
        free(ch);
        return -UP_ENOMEM;
    }
    int rc = 0;
    /* the AUC to raise; a null AUC (no churn in the half) counts as 0.5 */
#define SCORE_(a) (isnan((a).auc) ? 0.5 : (a).auc)
    double best[UP_H_N], best_auc;
    up_auc_t a;
    memcpy(best, bt->weights, sizeof best);
    rc |= auc_of(bt, best, 0, half, hv, ch, 0, &a);
    best_auc = SCORE_(a);
    for (int h = 0; h < UP_H_N; h++) {
        double w[UP_H_N] = {0};
        w[h] = 1;
        rc |= auc_of(bt, w, 0, half, hv, ch, 0, &a);
        if (SCORE_(a) > best_auc + 1e-12) {
            memcpy(best, w, sizeof best);
            best_auc = SCORE_(a);
        }
    }
    static const double steps[] = {0.5, 0.3, 0.2, 0.1, 0.05};
    for (int round = 0; round < 40 && rc == 0; round++) {
        double cand_best[UP_H_N], cand_auc = best_auc;
        int found = 0;
        for (int h = 0; h < UP_H_N; h++)
            for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
                double w[UP_H_N];
                for (int j = 0; j < UP_H_N; j++)
                    w[j] = (1 - steps[k]) * best[j] + (j == h ? steps[k] : 0);
                rc |= auc_of(bt, w, 0, half, hv, ch, 0, &a);
                if (SCORE_(a) > cand_auc + 1e-9) {
                    memcpy(cand_best, w, sizeof w);
                    cand_auc = SCORE_(a);
                    found = 1;
                }
            }
        if (!found)
            break;
        memcpy(best, cand_best, sizeof best);
        best_auc = cand_auc;
    }
#undef SCORE_
    round_weights(best);
    memcpy(out->weights, best, sizeof best);
    rc |= auc_of(bt, bt->weights, 0, half, hv, ch, 1, &out->train_current);
    rc |= auc_of(bt, out->weights, 0, half, hv, ch, 1, &out->train_suggested);
    rc |= auc_of(bt, bt->weights, half, bt->n_snaps, hv, ch, 1, &out->test_current);
    rc |= auc_of(bt, out->weights, half, bt->n_snaps, hv, ch, 1, &out->test_suggested);
    free(hv);
    free(ch);
    return rc ? -UP_ENOMEM : 0;
}
