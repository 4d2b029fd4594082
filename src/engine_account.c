/* engine_account: per-account CRM facts. Project definitions where the spec
 * is silent (docs/metrics.md): friction counts tickets opened in window(28)
 * and the model's error events in window(28) per active user (MAU) and is flagged at 0.5 or more while breadth reaches
 * the low/high threshold (users active yet stuck); a milestone is overdue at
 * T when due < T and not done by T, stalled when overdue by 7 days or more;
 * velocity compares milestones done in the last 28 days with those due in
 * them, per week. NPS per calendar month uses the model's promoter and
 * detractor settings; CSAT is the mean score. */
#include "engine_account.h"
#include "store.h"
#include "timeparse.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int64_t col_ts(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? UP_TS_NONE : sqlite3_column_int64(st, i);
}

typedef struct {
    const up_rollup_t *r;
    int64_t from, *counts;
} err_ctx_t;

static int count_error(void *ctx, const up_ev_t *ev)
{
    err_ctx_t *c = ctx;
    if (ev->ts >= c->from && ev->pair < c->r->n_pairs)
        c->counts[c->r->pairs[ev->pair].account]++;
    return 0;
}

int up_engine_account_error_counts(up_store_t *s, const up_rollup_t *r, const up_model_t *m, int64_t T, int64_t **out)
{
    *out = NULL;
    if (!m->n_error_events)
        return 0;
    const up_dict_t *ev = &r->dict[UP_KIND_EVENT];
    uint8_t *want = calloc(ev->n + 1, 1);
    int64_t *counts = calloc(r->dict[UP_KIND_ACCOUNT].n + 1, sizeof *counts);
    if (!want || !counts) {
        free(want);
        free(counts);
        return -UP_ENOMEM;
    }
    int any = 0;
    for (size_t i = 0; i < m->n_error_events; i++) {
        int64_t id = up_dict_find(ev, m->error_events[i], strlen(m->error_events[i]));
        if (id >= 0)
            want[id] = 1, any = 1;
    }
    err_ctx_t c = {r, (int64_t)(up_day_of(T) - 27) * UP_MS_PER_DAY, counts};
    int rc = any ? up_store_scan_events(s, c.from, T, want, ev->n, count_error, &c) : 0;
    free(want);
    if (rc < 0) {
        free(counts);
        return rc;
    }
    *out = counts;
    return 0;
}

typedef struct {
    const up_rollup_t *r;
    int64_t from, aid, *counts;
} use_ctx_t;

static int count_use(void *ctx, const up_ev_t *ev)
{
    use_ctx_t *c = ctx;
    if (ev->ts < c->from || ev->pair >= c->r->n_pairs || c->r->pairs[ev->pair].account != c->aid ||
        ev->event >= c->r->n_evclass)
        return 0;
    const up_evclass_t *ec = &c->r->evclass[ev->event];
    for (uint16_t i = 0; i < ec->n_roles; i++)
        if ((ec->roles[i] & 3) != 2)
            c->counts[ec->roles[i] >> 2]++;
    return 0;
}

int up_engine_account_feature_uses(up_store_t *s, const up_rollup_t *r, const up_model_t *m, int64_t T, int64_t aid,
                                   int64_t *counts)
{
    memset(counts, 0, m->n_features * sizeof *counts);
    if (aid < 0)
        return 0;
    uint32_t n = r->n_evclass;
    uint8_t *want = calloc(n + 1, 1);
    if (!want)
        return -UP_ENOMEM;
    int any = 0;
    for (uint32_t e = 0; e < n; e++) {
        const up_evclass_t *ec = &r->evclass[e];
        for (uint16_t i = 0; !ec->passive && i < ec->n_roles; i++)
            if ((ec->roles[i] & 3) != 2)
                want[e] = 1, any = 1;
    }
    use_ctx_t c = {r, (int64_t)(up_day_of(T) - 27) * UP_MS_PER_DAY, aid, counts};
    int rc = any ? up_store_scan_account_events(s, up_dict_str(&r->dict[UP_KIND_ACCOUNT], (uint32_t)aid), c.from, T,
                                                want, n, count_use, &c) : 0;
    free(want);
    return rc;
}

/* The value of a target's metric for the account (NAN when null): a model
 * workflow's weekly share, or a catalog metric. */
static double metric_value(const up_model_t *m, const up_account_metrics_t *row, const char *metric,
                           const double *workflow_share)
{
    if (!strncmp(metric, "workflow:", 9)) {
        for (size_t k = 0; workflow_share && k < m->n_workflows; k++)
            if (!strcmp(m->workflows[k].name, metric + 9))
                return workflow_share[k];
        return NAN;
    }
    int id = up_metric_find(metric, UP_MU_TGT);
    return id < 0 ? NAN : up_engine_metric(row, id);
}

static int judge_targets(const up_model_t *m, const up_account_metrics_t *row, int64_t T, const double *workflow_share,
                         up_account_extras_t *out)
{
    const up_account_t *acc = row->account;
    int32_t d0 = up_day_of(T);
    for (size_t i = 0; i < m->n_targets; i++) {
        const up_target_t *t = &m->targets[i];
        if ((t->account && strcmp(t->account, acc->account_id)) ||
            (t->segment && (!acc->segment || strcmp(t->segment, acc->segment))))
            continue;
        if (!out->targets && !(out->targets = calloc(m->n_targets, sizeof *out->targets)))
            return -UP_ENOMEM;
        up_target_eval_t *e = &out->targets[out->n_targets++];
        e->target = t;
        e->value = metric_value(m, row, t->metric, workflow_share);
        e->progress = t->min != 0 && !isnan(e->value) ? e->value / t->min : NAN;
        e->due = acc->contract_start == UP_NO_DAY ? UP_NO_DAY : acc->contract_start + t->by_day;
        if (isnan(e->value))
            e->status = "no_data";
        else if (e->value >= t->min)
            e->status = "met";
        else if (e->due == UP_NO_DAY)
            e->status = "no_contract";
        else if (d0 >= e->due)
            e->status = "missed";
        else {
            double elapsed = (double)(d0 - acc->contract_start);
            e->status = e->value >= t->min * (elapsed < 0 ? 0 : elapsed) / (double)t->by_day ? "on_track" : "behind";
        }
    }
    return 0;
}

/* ---- tickets and milestones, a row at a time --------------------------- */

/* One ticket of the account (ts <= T) into out. */
static void ticket_add(up_account_extras_t *out, int64_t T, int64_t ts, const char *prio, int has_sat, double sat,
                       double *sat_sum, int64_t *sat_n)
{
    int32_t d0 = up_day_of(T);
    int64_t from28 = (int64_t)(d0 - 27) * UP_MS_PER_DAY, from90 = (int64_t)(d0 - 89) * UP_MS_PER_DAY;
    if (ts >= from28)
        out->tickets_28d++;
    if (ts < from90)
        return;
    out->tickets_90d++;
    if (prio && (!strcmp(prio, "high") || !strcmp(prio, "urgent") || !strcmp(prio, "critical")))
        out->urgent_90d++;
    if (has_sat) {
        *sat_sum += sat;
        (*sat_n)++;
    }
}

/* Satisfaction and friction once the account's tickets are in. */
static void tickets_done(const up_model_t *m, const up_account_metrics_t *row, int64_t error_events_28d,
                         double sat_sum, int64_t sat_n, up_account_extras_t *out)
{
    out->satisfaction_90d = sat_n ? sat_sum / (double)sat_n : NAN;
    int64_t frictions = out->tickets_28d + (error_events_28d > 0 ? error_events_28d : 0);
    out->friction = row->active_users ? (double)frictions / (double)row->active_users : NAN;
    out->friction_flag = !isnan(out->friction) && out->friction >= 0.5 && !isnan(row->breadth) &&
                         row->breadth >= m->settings.level_breadth_min;
}

/* The ticket columns of st from column c on (ts, priority, satisfaction). */
static void ticket_row(sqlite3_stmt *st, int c, up_account_extras_t *out, int64_t T, double *sat_sum, int64_t *sat_n)
{
    ticket_add(out, T, sqlite3_column_int64(st, c), (const char *)sqlite3_column_text(st, c + 1),
               sqlite3_column_type(st, c + 2) != SQLITE_NULL, sqlite3_column_double(st, c + 2), sat_sum, sat_n);
}

/* One milestone (in due order) from the columns of st from column c on
 * (name, due, done_at, owner) into out. */
static int milestone_row(sqlite3_stmt *st, int c, int64_t T, up_account_extras_t *out, uint32_t *cap,
                         int64_t *done_28, int64_t *due_28)
{
    int32_t d0 = up_day_of(T);
    int64_t from28 = (int64_t)(d0 - 27) * UP_MS_PER_DAY;
    if (out->n_milestones == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 8;
        up_milestone_t *q = realloc(out->milestones, nc * sizeof *q);
        if (!q)
            return -UP_ENOMEM;
        out->milestones = q;
        *cap = nc;
    }
    up_milestone_t *ms = &out->milestones[out->n_milestones++];
    memset(ms, 0, sizeof *ms);
    const char *name = (const char *)sqlite3_column_text(st, c), *owner = (const char *)sqlite3_column_text(st, c + 3);
    snprintf(ms->name, sizeof ms->name, "%s", name ? name : "");
    snprintf(ms->owner, sizeof ms->owner, "%s", owner ? owner : "");
    ms->due = col_ts(st, c + 1);
    ms->done_at = col_ts(st, c + 2);
    int done = ms->done_at != UP_TS_NONE && ms->done_at <= T;
    out->done += done;
    if (!done && ms->due != UP_TS_NONE && ms->due < T) {
        ms->overdue_days = (int)(d0 - up_day_of(ms->due));
        out->overdue++;
        out->stalled += ms->overdue_days >= 7;
    }
    if (done && ms->done_at >= from28)
        (*done_28)++;
    if (ms->due != UP_TS_NONE && ms->due >= from28 && ms->due <= T)
        (*due_28)++;
    return 0;
}

static void milestones_done(int64_t done_28, int64_t due_28, up_account_extras_t *out)
{
    out->done_per_week = (double)done_28 / 4.0;
    out->planned_per_week = (double)due_28 / 4.0;
}

/* Tickets in window(28) and window(90), satisfaction, and friction. */
static void tickets_of(up_stmt_cache_t *sc, sqlite3 *db, const up_model_t *m, const up_account_metrics_t *row,
                       int64_t T, int64_t error_events_28d, up_account_extras_t *out)
{
    sqlite3_stmt *st;
    double sat_sum = 0;
    int64_t sat_n = 0;
    /* a store written by an older uptake may lack a table: no rows then */
    if (up_stmt_prepare(sc, db, "SELECT ts, priority, satisfaction FROM tickets WHERE account_id = ? AND ts <= ?",
                        &st) != SQLITE_OK)
        st = NULL;
    if (st) {
        sqlite3_bind_text(st, 1, row->account->account_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, T);
    }
    while (st && sqlite3_step(st) == SQLITE_ROW)
        ticket_row(st, 0, out, T, &sat_sum, &sat_n);
    if (st)
        up_stmt_done(sc, st);
    tickets_done(m, row, error_events_28d, sat_sum, sat_n, out);
}

/* The account's milestones by due date, overdue and stalled ones, and
 * velocity over the last 28 days. */
static int milestones_of(up_stmt_cache_t *sc, sqlite3 *db, const char *id, int64_t T, up_account_extras_t *out)
{
    sqlite3_stmt *st;
    if (up_stmt_prepare(sc, db, "SELECT name, due, done_at, owner FROM milestones WHERE account_id = ?"
                                " ORDER BY due IS NULL, due, name", &st) != SQLITE_OK)
        st = NULL;
    if (st)
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    uint32_t cap = 0;
    int64_t done_28 = 0, due_28 = 0;
    int rc = 0;
    while (rc == 0 && st && sqlite3_step(st) == SQLITE_ROW)
        rc = milestone_row(st, 0, T, out, &cap, &done_28, &due_28);
    if (st)
        up_stmt_done(sc, st);
    milestones_done(done_28, due_28, out);
    return rc;
}

/* ---- the same for every account of a portfolio, two queries in all ------ */

struct up_facts_cursor {
    sqlite3_stmt *st;
    int row;                /* st is on a row */
};

static void cursor_open(up_facts_cursor_t *c, sqlite3 *db, const char *sql, int64_t T)
{
    memset(c, 0, sizeof *c);
    /* a store written by an older uptake may lack a table: no rows then */
    if (sqlite3_prepare_v2(db, sql, -1, &c->st, NULL) != SQLITE_OK) {
        sqlite3_finalize(c->st);
        c->st = NULL;
        return;
    }
    if (sqlite3_bind_parameter_count(c->st) > 0)
        sqlite3_bind_int64(c->st, 1, T);
    c->row = sqlite3_step(c->st) == SQLITE_ROW;
}

/* Moves c to the first row of account id (or past it) and says whether it
 * is on one: rows come by account_id, as SQLite's BINARY collation orders
 * them, which is strcmp's order for text without NUL. */
static int cursor_at(up_facts_cursor_t *c, const char *id)
{
    while (c->row) {
        const char *a = (const char *)sqlite3_column_text(c->st, 0);
        int cmp = a ? strcmp(a, id) : -1;
        if (cmp >= 0)
            return cmp == 0;
        c->row = sqlite3_step(c->st) == SQLITE_ROW;
    }
    return 0;
}

int up_engine_signal_facts_open(sqlite3 *db, int64_t T, up_signal_facts_t *f)
{
    memset(f, 0, sizeof *f);
    f->T = T;
    f->tickets = malloc(sizeof *f->tickets);
    f->milestones = malloc(sizeof *f->milestones);
    if (!f->tickets || !f->milestones) {
        free(f->tickets);
        free(f->milestones);
        memset(f, 0, sizeof *f);
        return -UP_ENOMEM;
    }
    cursor_open(f->tickets, db, "SELECT account_id, ts, priority, satisfaction FROM tickets WHERE ts <= ?1"
                                " ORDER BY account_id", T);
    cursor_open(f->milestones, db, "SELECT account_id, name, due, done_at, owner FROM milestones"
                                   " ORDER BY account_id, due IS NULL, due, name", T);
    return 0;
}

int up_engine_signal_facts_next(up_signal_facts_t *f, const up_model_t *m, const up_account_metrics_t *row,
                                int64_t error_events_28d, up_account_extras_t *out)
{
    memset(out, 0, sizeof *out);
    out->error_events_28d = error_events_28d;
    for (int k = 0; k < UP_SURVEY_MONTHS; k++)
        out->months[k].nps = out->months[k].csat = NAN;
    const char *id = row->account->account_id;
    double sat_sum = 0;
    int64_t sat_n = 0;
    for (up_facts_cursor_t *c = f->tickets; cursor_at(c, id); c->row = sqlite3_step(c->st) == SQLITE_ROW)
        ticket_row(c->st, 1, out, f->T, &sat_sum, &sat_n);
    tickets_done(m, row, error_events_28d, sat_sum, sat_n, out);
    uint32_t cap = 0;
    int64_t done_28 = 0, due_28 = 0;
    int rc = 0;
    for (up_facts_cursor_t *c = f->milestones; rc == 0 && cursor_at(c, id); c->row = sqlite3_step(c->st) == SQLITE_ROW)
        rc = milestone_row(c->st, 1, f->T, out, &cap, &done_28, &due_28);
    milestones_done(done_28, due_28, out);
    if (rc < 0)
        up_account_extras_free(out);
    return rc;
}

void up_engine_signal_facts_close(up_signal_facts_t *f)
{
    if (f->tickets)
        sqlite3_finalize(f->tickets->st);
    if (f->milestones)
        sqlite3_finalize(f->milestones->st);
    free(f->tickets);
    free(f->milestones);
    memset(f, 0, sizeof *f);
}

/* NPS and CSAT per calendar month, the six ending with T's month. */
static int surveys_of(up_stmt_cache_t *sc, sqlite3 *db, const up_model_t *m, const char *id, int64_t T,
                      up_account_extras_t *out)
{
    sqlite3_stmt *st;
    int32_t d0 = up_day_of(T);
    int y;
    unsigned mo, dd;
    up_civil_from_days(d0, &y, &mo, &dd);
    for (int i = UP_SURVEY_MONTHS - 1; i >= 0; i--) {
        out->months[i].first_day = up_days_from_civil(y, mo, 1);
        out->months[i].nps = out->months[i].csat = NAN;
        if (--mo == 0) {
            mo = 12;
            y--;
        }
    }
    int64_t prom[UP_SURVEY_MONTHS] = {0}, detr[UP_SURVEY_MONTHS] = {0};
    double csat_sum[UP_SURVEY_MONTHS] = {0};
    if (up_stmt_prepare(sc, db, "SELECT ts, kind, score FROM surveys WHERE account_id = ? AND ts >= ? AND ts <= ?",
                        &st) != SQLITE_OK)
        return -UP_EDB;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)out->months[0].first_day * UP_MS_PER_DAY);
    sqlite3_bind_int64(st, 3, T);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int32_t day = up_day_of(sqlite3_column_int64(st, 0));
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        double score = sqlite3_column_double(st, 2);
        int k = UP_SURVEY_MONTHS - 1;
        while (k > 0 && day < out->months[k].first_day)
            k--;
        if (kind && !strcmp(kind, "nps")) {
            out->months[k].nps_answers++;
            prom[k] += score >= m->settings.nps_promoter_min;
            detr[k] += score <= m->settings.nps_detractor_max;
        } else if (kind && !strcmp(kind, "csat")) {
            out->months[k].csat_answers++;
            csat_sum[k] += score;
        }
    }
    up_stmt_done(sc, st);
    for (int k = 0; k < UP_SURVEY_MONTHS; k++) {
        if (out->months[k].nps_answers)
            out->months[k].nps = (double)(100 * (prom[k] - detr[k])) / (double)out->months[k].nps_answers;
        if (out->months[k].csat_answers)
            out->months[k].csat = csat_sum[k] / (double)out->months[k].csat_answers;
    }
    return 0;
}

int up_engine_account_extras(up_stmt_cache_t *sc, sqlite3 *db, const up_model_t *m, const up_account_metrics_t *row,
                             int64_t T, int64_t error_events_28d, const double *workflow_share,
                             up_account_extras_t *out)
{
    memset(out, 0, sizeof *out);
    out->error_events_28d = error_events_28d;
    int rc = judge_targets(m, row, T, workflow_share, out) < 0 ? -UP_ENOMEM : 0;
    if (rc == 0) {
        tickets_of(sc, db, m, row, T, error_events_28d, out);
        rc = milestones_of(sc, db, row->account->account_id, T, out);
    }
    if (rc == 0)
        rc = surveys_of(sc, db, m, row->account->account_id, T, out);
    if (rc < 0)
        up_account_extras_free(out);
    return rc;
}

void up_account_extras_free(up_account_extras_t *x)
{
    free(x->milestones);
    free(x->targets);
    memset(x, 0, sizeof *x);
}
