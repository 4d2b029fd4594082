/* alerts: evaluation of the rules into alert states, and the alert, task and
 * delivery tables (see the header). A rule's condition is the condition
 * language of src/rules.h over the variables below; the built-in rules are
 * conditions too, written from the model's alert_settings, so every alert
 * explains itself with the same text and the values it read. */
#include "alerts.h"
#include "entcache.h"
#include "stmtcache.h"
#include "backtest.h"

#include "fmt.h"
#include "metric.h"
#include "model_builtin.h"
#include "rules.h"
#include "store.h"
#include "table.h"
#include "timeparse.h"
#include "util.h"
#include "view.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS alerts(id INTEGER PRIMARY KEY, account_id TEXT NOT NULL, rule TEXT NOT NULL,"
    " severity TEXT NOT NULL, state TEXT NOT NULL, owner TEXT, condition TEXT NOT NULL, vals TEXT,"
    " window TEXT, opened_at TEXT NOT NULL, updated_at TEXT NOT NULL, resolved_at TEXT, snoozed_until TEXT);"
    "CREATE INDEX IF NOT EXISTS alerts_rule ON alerts(account_id, rule, state);"
    "CREATE TABLE IF NOT EXISTS alert_history(id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL, at TEXT NOT NULL,"
    " state TEXT NOT NULL, note TEXT);"
    "CREATE TABLE IF NOT EXISTS tasks(id INTEGER PRIMARY KEY, alert_id INTEGER, account_id TEXT NOT NULL,"
    " owner TEXT, title TEXT NOT NULL, due TEXT, created_at TEXT NOT NULL, done_at TEXT);"
    "CREATE TABLE IF NOT EXISTS deliveries(id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL, playbook TEXT NOT NULL,"
    " event TEXT NOT NULL, url TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',"
    " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER NOT NULL DEFAULT 0, last_code INTEGER,"
    " last_error TEXT, delivered_at TEXT);";

int up_alerts_init(sqlite3 *db)
{
    return sqlite3_exec(db, SCHEMA, NULL, NULL, NULL) == SQLITE_OK ? 0 : -UP_EDB;
}

/* ---- variables ---------------------------------------------------------- */

/* The variables of rule conditions: the catalog's metrics used as UP_MU_VAR
 * (metric.h), indexed by metric id. */
typedef struct {
    up_val_t v[UP_M_N];
} vars_t;

static up_val_t num(double d)
{
    up_val_t v = {UP_VAL_NULL, 0, 0};
    if (isfinite(d)) {
        v.kind = UP_VAL_NUM;
        v.num = d;
    }
    return v;
}

static up_val_t boolean(int b)
{
    up_val_t v = {b < 0 ? UP_VAL_NULL : UP_VAL_BOOL, 0, b > 0};
    return v;
}

static up_val_t lookup(void *ctx, const char *name)
{
    vars_t *vs = ctx;
    int i = up_metric_find(name, UP_MU_VAR);
    return i >= 0 ? vs->v[i] : num(NAN);
}

/* ---- rules -------------------------------------------------------------- */

typedef struct {
    const char *name, *owner;
    char when[256];
    int severity, cooldown_days;
    up_cond_t *cond;
} rule_t;

static void rules_free(rule_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        up_cond_free(r[i].cond);
    free(r);
}

/* The enabled rules: the built-ins, each replaced or disabled by a model
 * rule of the same name, then the model's own. */
static int rules_of(const up_model_t *m, rule_t **out, size_t *n, char *err, size_t errlen)
{
    rule_t *r = calloc(UP_BUILTIN_N + m->n_rules + 1, sizeof *r);
    if (!r)
        return -UP_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < UP_BUILTIN_N; i++) {
        const up_rule_t *o = NULL;
        for (size_t j = 0; j < m->n_rules; j++)
            if (!strcmp(m->rules[j].name, up_model_builtins[i].name))
                o = &m->rules[j];
        if (o && !o->enabled)
            continue;
        r[k].name = up_model_builtins[i].name;
        r[k].severity = o && o->severity >= 0 ? o->severity : up_model_builtins[i].severity;
        r[k].cooldown_days = o ? o->cooldown_days : 7;
        r[k].owner = o ? o->owner : NULL;
        if (o && o->when)
            snprintf(r[k].when, sizeof r[k].when, "%s", o->when);
        else
            up_model_builtin_when(i, &m->alert_settings, r[k].when, sizeof r[k].when);
        k++;
    }
    for (size_t j = 0; j < m->n_rules; j++) {
        const up_rule_t *o = &m->rules[j];
        if (up_model_builtin(o->name) >= 0 || !o->enabled)
            continue;
        r[k].name = o->name;
        r[k].severity = o->severity >= 0 ? o->severity : UP_SEV_MEDIUM;
        r[k].cooldown_days = o->cooldown_days;
        r[k].owner = o->owner;
        snprintf(r[k].when, sizeof r[k].when, "%s", o->when);
        k++;
    }
    for (size_t i = 0; i < k; i++)
        if (up_cond_compile(r[i].when, up_metric_var_known, &r[i].cond, err, errlen) < 0) {
            rules_free(r, k);
            return -UP_EMODEL;
        }
    *out = r;
    *n = k;
    return 0;
}

/* ---- variables ---------------------------------------------------------- */

static void account_vars(const up_account_metrics_t *row, vars_t *vs)
{
    for (int i = 0; i < UP_M_N; i++) {
        double d = up_engine_metric(row, i);
        vs->v[i] = up_metric_info[i].kind == UP_MK_BOOL ? boolean(isnan(d) ? -1 : (int)d) : num(d);
    }
}

/* ---- state -------------------------------------------------------------- */

/* The statements an evaluation runs for every account and rule, prepared
 * once per evaluation (stmtcache.h): evaluate sets it for its thread. */
static _Thread_local up_stmt_cache_t *eval_stmts;

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
    return up_stmt_prepare(eval_stmts, db, sql, out);
}

static void unprep(sqlite3_stmt *st)
{
    up_stmt_done(eval_stmts, st);
}

static int exec1(sqlite3 *db, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st;
    if (prep(db, sql, &st) != SQLITE_OK)
        return -UP_EDB;
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; fmt[i]; i++) {
        if (fmt[i] == 's') {
            const char *s = va_arg(ap, const char *);
            if (s)
                sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(st, i + 1);
        } else
            sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
    }
    va_end(ap);
    int rc = sqlite3_step(st);
    unprep(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -UP_EDB;
}

static void vals_json(const up_cond_t *cond, vars_t *vs, up_buf_t *b);

typedef struct {
    up_buf_t *b;
    vars_t *vs;
    int n;
} names_ctx_t;

static void add_name(void *ctx, const char *name)
{
    names_ctx_t *c = ctx;
    up_val_t v = lookup(c->vs, name);
    up_buf_printf(c->b, "%s", c->n++ ? "," : "");
    up_fmt_json_str(c->b, name);
    up_buf_puts(c->b, ":");
    if (v.kind == UP_VAL_NUM)
        up_fmt_json_num(c->b, v.num);
    else if (v.kind == UP_VAL_BOOL)
        up_buf_puts(c->b, v.b ? "true" : "false");
    else
        up_buf_puts(c->b, "null");
}

static void vals_json(const up_cond_t *cond, vars_t *vs, up_buf_t *b)
{
    names_ctx_t c = {b, vs, 0};
    up_buf_puts(b, "{");
    up_cond_names(cond, add_name, &c);
    up_buf_puts(b, "}");
}

/* Queues what the playbooks do when an alert opens or resolves. */
static int run_playbooks(sqlite3 *db, const up_model_t *m, int64_t alert_id, const rule_t *rule,
                         const up_account_t *acc, const char *event, const char *today, int32_t d0,
                         const char *vals, const char *owner, up_alerts_stats_t *st)
{
    for (size_t i = 0; i < m->n_playbooks; i++) {
        const up_playbook_t *p = &m->playbooks[i];
        if (!strcmp(event, "open") ? !p->on_open : !p->on_resolve)
            continue;
        int match = p->n_rules == 0;
        for (size_t k = 0; k < p->n_rules && !match; k++)
            match = !strcmp(p->rules[k], rule->name);
        if (!match)
            continue;
        if (p->task_title && !strcmp(event, "open")) {
            char due[16];
            up_date_fmt(due, d0 + p->task_due_days);
            char title[512];
            snprintf(title, sizeof title, "%s: %s (%s)", p->task_title, acc->name ? acc->name : acc->account_id,
                     rule->name);
            if (exec1(db, "INSERT INTO tasks(alert_id, account_id, owner, title, due, created_at) VALUES (?,?,?,?,?,?)",
                      "isssss", alert_id, acc->account_id, owner, title, due, today) < 0)
                return -UP_EDB;
            st->tasks++;
        }
        if (p->webhook_url) {
            up_buf_t b = {0};
            char text[1024];
            snprintf(text, sizeof text, "%s %s alert for %s: %s (%s)", !strcmp(event, "open") ? "Opened" : "Resolved",
                     up_severity_names[rule->severity], acc->name ? acc->name : acc->account_id, rule->name, rule->when);
            if (p->slack) {
                up_buf_puts(&b, "{\"text\":");
                up_fmt_slack_str(&b, text);
                up_buf_puts(&b, "}");
            } else {
                up_buf_printf(&b, "{\"event\":\"alert.%s\",\"alert\":{\"id\":%lld,\"account_id\":",
                              !strcmp(event, "open") ? "opened" : "resolved", (long long)alert_id);
                up_fmt_json_str(&b, acc->account_id);
                up_buf_puts(&b, ",\"account_name\":");
                up_fmt_json_opt_str(&b, acc->name);
                up_buf_puts(&b, ",\"rule\":");
                up_fmt_json_str(&b, rule->name);
                up_buf_printf(&b, ",\"severity\":\"%s\",\"condition\":", up_severity_names[rule->severity]);
                up_fmt_json_str(&b, rule->when);
                up_buf_printf(&b, ",\"values\":%s,\"as_of\":\"%s\",\"owner\":", vals, today);
                up_fmt_json_opt_str(&b, owner);
                up_buf_puts(&b, "},\"text\":");
                up_fmt_json_str(&b, text);
                up_buf_puts(&b, "}");
            }
            int rc = b.data ? exec1(db, "INSERT INTO deliveries(alert_id, playbook, event, url, payload) VALUES (?,?,?,?,?)",
                                    "issss", alert_id, p->name, event, p->webhook_url, b.data)
                            : -UP_ENOMEM;
            up_buf_free(&b);
            if (rc < 0)
                return rc;
            st->deliveries_queued++;
        }
    }
    return 0;
}

static int history(sqlite3 *db, int64_t id, const char *at, const char *state, const char *note)
{
    return exec1(db, "INSERT INTO alert_history(alert_id, at, state, note) VALUES (?,?,?,?)", "isss", id, at, state,
                 note);
}

/* The alerts open, acknowledged or snoozed when an evaluation starts, read
 * at once (a query per account and rule cost more than the rules), sorted
 * by (account, rule, state, id): the first of an (account, rule) is the
 * row its index gives first. An evaluation applies each (account, rule)
 * once, so what it changes is never looked up again. */
typedef struct {
    char *account, *rule, *state, *until, *vals, *window, *updated;
    int64_t id;
} live_t;

typedef struct {
    live_t *a;
    size_t n;
    up_arena_t strings;   /* the rows' texts */
} lives_t;

static int cmp_live(const void *pa, const void *pb)
{
    const live_t *a = pa, *b = pb;
    int c = strcmp(a->account, b->account);
    if (!c)
        c = strcmp(a->rule, b->rule);
    if (!c)
        c = strcmp(a->state, b->state);
    return c ? c : a->id < b->id ? -1 : a->id > b->id;
}

static void lives_free(lives_t *l)
{
    up_arena_free(&l->strings);
    free(l->a);
    memset(l, 0, sizeof *l);
}

/* Column i's text in the arena; NULL for SQL NULL, or out of memory
 * (then *nomem is set). */
static char *col_dup(lives_t *l, sqlite3_stmt *q, int i, int *nomem)
{
    const char *t = (const char *)sqlite3_column_text(q, i);
    if (!t)
        return NULL;
    char *c = up_arena_strndup(&l->strings, t, (size_t)sqlite3_column_bytes(q, i));
    if (!c)
        *nomem = 1;
    return c;
}

static int lives_load(sqlite3 *db, lives_t *l)
{
    memset(l, 0, sizeof *l);
    sqlite3_stmt *q;
    /* in the table's order (an ORDER BY through the index reads the rows
     * at random: ten times slower), sorted below unless already sorted */
    if (sqlite3_prepare_v2(db, "SELECT id, account_id, rule, state, snoozed_until, vals, window, updated_at FROM alerts"
                               " WHERE state IN ('open','acknowledged','snoozed')", -1, &q, NULL) != SQLITE_OK)
        return -UP_EDB;
    size_t cap = 0;
    int rc = 0, step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if (l->n == cap) {
            cap = cap ? cap * 2 : 256;
            live_t *a = realloc(l->a, cap * sizeof *a);
            if (!a) {
                rc = -UP_ENOMEM;
                break;
            }
            l->a = a;
        }
        live_t *x = &l->a[l->n++];
        int nomem = 0;
        x->id = sqlite3_column_int64(q, 0);
        x->account = col_dup(l, q, 1, &nomem), x->rule = col_dup(l, q, 2, &nomem), x->state = col_dup(l, q, 3, &nomem);
        x->until = col_dup(l, q, 4, &nomem), x->vals = col_dup(l, q, 5, &nomem), x->window = col_dup(l, q, 6, &nomem);
        x->updated = col_dup(l, q, 7, &nomem);
        if (nomem || !x->account || !x->rule || !x->state) {
            rc = -UP_ENOMEM;   /* or a NULL in a NOT NULL column: nothing to match it with */
            break;
        }
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = -UP_EDB;
    sqlite3_finalize(q);
    if (rc < 0) {
        lives_free(l);
        return rc;
    }
    for (size_t i = 1; i < l->n; i++)
        if (cmp_live(&l->a[i - 1], &l->a[i]) > 0) {
            qsort(l->a, l->n, sizeof *l->a, cmp_live);
            break;
        }
    return 0;
}

/* The live alerts of one account, a run of lives (sorted by account and
 * rule): borrowed, never freed. */
typedef struct {
    const live_t *a;
    size_t n;
} mine_t;

static mine_t lives_of(const lives_t *l, const char *account)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(l->a[mid].account, account) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < l->n && !strcmp(l->a[end].account, account))
        end++;
    return (mine_t){l->a + lo, end - lo};
}

/* The live alert of rule among one account's (lives_of). */
static const live_t *live_of(const mine_t *mine, const char *rule)
{
    for (size_t i = 0; i < mine->n; i++)
        if (!strcmp(mine->a[i].rule, rule))
            return &mine->a[i];
    return NULL;
}

static int same_text(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* Applies one rule's verdict for one account. */
static int apply(sqlite3 *db, const up_model_t *m, const mine_t *mine, const rule_t *rule, const up_account_t *acc,
                 int fires, const char *vals, const char *today, int32_t d0, const char *resolve_note,
                 up_alerts_stats_t *st)
{
    sqlite3_stmt *q;
    const live_t *live = live_of(mine, rule->name);
    int64_t id = live ? live->id : -1;
    char state[16] = "", until[16] = "";
    if (live) {
        snprintf(state, sizeof state, "%s", live->state);
        if (live->until)
            snprintf(until, sizeof until, "%s", live->until);
    }
    const char *owner = rule->owner ? rule->owner : acc->owner;
    char window[160];
    snprintf(window, sizeof window, "{\"as_of\":\"%s\",\"windows\":\"metrics.md: window(7), window(14), window(28)\"}",
             today);
    int rc = 0;
    if (fires) {
        if (id >= 0) {
            /* the same day again with the same values: the row already says so */
            if (!same_text(live->vals, vals) || !same_text(live->window, window) || !same_text(live->updated, today))
                rc = exec1(db, "UPDATE alerts SET vals = ?, window = ?, updated_at = ? WHERE id = ?", "sssi", vals,
                           window, today, id);
            if (rc == 0 && !strcmp(state, "snoozed") && until[0] && strcmp(until, today) < 0) {
                rc = exec1(db, "UPDATE alerts SET state = 'open', snoozed_until = NULL WHERE id = ?", "i", id);
                if (rc == 0)
                    rc = history(db, id, today, "open", "the snooze ended and the condition still holds");
                st->reopened++;
            } else
                st->still_open++;
            return rc;
        }
        /* cooldown: quiet for cooldown_days after the last resolve of this rule here */
        if (rule->cooldown_days > 0) {
            char from[16];
            up_date_fmt(from, d0 - rule->cooldown_days);
            if (prep(db, "SELECT 1 FROM alerts WHERE account_id = ? AND rule = ? AND state = 'resolved'"
                         " AND resolved_at > ? AND resolved_at <= ?", &q) != SQLITE_OK)
                return -UP_EDB;
            sqlite3_bind_text(q, 1, acc->account_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, rule->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 3, from, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(q, 4, today, -1, SQLITE_STATIC);
            int cooling = sqlite3_step(q) == SQLITE_ROW;
            unprep(q);
            if (cooling) {
                st->cooled_down++;
                return 0;
            }
        }
        rc = exec1(db, "INSERT INTO alerts(account_id, rule, severity, state, owner, condition, vals, window,"
                       " opened_at, updated_at) VALUES (?,?,?,'open',?,?,?,?,?,?)", "sssssssss", acc->account_id,
                   rule->name, up_severity_names[rule->severity], owner, rule->when, vals, window, today, today);
        if (rc < 0)
            return rc;
        id = sqlite3_last_insert_rowid(db);
        st->opened++;
        if ((rc = history(db, id, today, "open", "the condition holds")) < 0)
            return rc;
        return run_playbooks(db, m, id, rule, acc, "open", today, d0, vals, owner, st);
    }
    if (id < 0)
        return 0;
    rc = exec1(db, "UPDATE alerts SET state = 'resolved', resolved_at = ?, updated_at = ?, vals = ? WHERE id = ?",
               "sssi", today, today, vals, id);
    if (rc == 0)
        rc = history(db, id, today, "resolved", resolve_note);
    st->resolved++;
    if (rc == 0)
        rc = run_playbooks(db, m, id, rule, acc, "resolve", today, d0, vals, owner, st);
    return rc;
}

int up_alerts_data_stale(const up_model_t *m, int64_t last_ms, int64_t T)
{
    int hours = m->alert_settings.data_stale_hours;
    return hours > 0 && last_ms > 0 && T - last_ms > (int64_t)hours * 3600000;
}

/* The store-wide data_stopped alert (alerts.h): opens when the last event is
 * more than data_stale_hours before T, resolves when data arrives again.
 * Sets st->data_stale. */
static int freshness(sqlite3 *db, const up_model_t *m, const lives_t *lives, int64_t T, const char *today,
                     int32_t d0, up_alerts_stats_t *st)
{
    int hours = m->alert_settings.data_stale_hours;
    rule_t r = {UP_ALERT_DATA_STOPPED, NULL, "", UP_SEV_CRITICAL, 0, NULL};
    snprintf(r.when, sizeof r.when, "hours_since_last_event > %d", hours);
    up_account_t all = {.account_id = "", .name = "All accounts"};
    double since = st->last_event_ms > 0 ? floor((double)(T - st->last_event_ms) / 3600000.0) : NAN;
    st->data_stale = up_alerts_data_stale(m, st->last_event_ms, T);
    char last[40] = "", vals[160];
    if (st->last_event_ms > 0)
        up_time_fmt(last, st->last_event_ms);
    if (isnan(since))
        snprintf(vals, sizeof vals, "{\"last_event\":null,\"hours_since_last_event\":null}");
    else
        snprintf(vals, sizeof vals, "{\"last_event\":\"%s\",\"hours_since_last_event\":%.0f}", last, since);
    mine_t mine = lives_of(lives, all.account_id);
    return apply(db, m, &mine, &r, &all, st->data_stale, vals, today, d0, "data arrives again", st);
}

/* Which rules fire on which accounts, and the values each fired one names:
 * pure, so worked out on a thread of its own while the live alerts load. An
 * account that is not a customer at T fires nothing. */
typedef struct {
    const up_portfolio_t *p;
    const rule_t *rules;
    size_t n_rules;
    uint8_t *fires;         /* [account][rule] */
    char **vals;            /* [account][rule]: the JSON of a fired rule's variables, else NULL */
    int rc;
} verdicts_t;

static void *verdicts(void *arg)
{
    verdicts_t *d = arg;
    for (uint32_t i = 0; i < d->p->n_rows && d->rc == 0; i++) {
        const up_account_metrics_t *row = &d->p->rows[i];
        if (row->status != UP_STATUS_CUSTOMER)
            continue;
        vars_t vs;
        account_vars(row, &vs);
        for (size_t k = 0; k < d->n_rules; k++) {
            size_t at = (size_t)i * d->n_rules + k;
            if (!(d->fires[at] = (uint8_t)up_val_true(up_cond_eval(d->rules[k].cond, lookup, &vs))))
                continue;
            up_buf_t b = {0};
            vals_json(d->rules[k].cond, &vs, &b);
            if (!b.data)
                d->rc = -UP_ENOMEM;
            d->vals[at] = b.data;
        }
    }
    return NULL;
}

/* Every rule on every account of p, in one transaction; none while the data
 * has stopped arriving (freshness). */
static int evaluate(sqlite3 *db, const up_model_t *m, const up_portfolio_t *p, const rule_t *rules, size_t n_rules,
                    int64_t T, up_alerts_stats_t *st)
{
    char today[16];
    up_date_fmt(today, p->d0);
    size_t cells = (size_t)p->n_rows * n_rules + 1;
    verdicts_t d = {p, rules, n_rules, calloc(cells, 1), calloc(cells, sizeof(char *)), 0};
    if (!d.fires || !d.vals) {
        free(d.fires);
        free(d.vals);
        return -UP_ENOMEM;
    }
    pthread_t tid;
    int threaded = pthread_create(&tid, NULL, verdicts, &d) == 0;
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -UP_EDB;
    up_stmt_cache_t stmts = {0};
    eval_stmts = &stmts;
    lives_t lives = {0};
    if (rc == 0)
        rc = lives_load(db, &lives);
    if (threaded)
        pthread_join(tid, NULL);
    else
        verdicts(&d);
    if (rc == 0)
        rc = d.rc;
    if (rc == 0)
        rc = freshness(db, m, &lives, T, today, p->d0, st);
    for (uint32_t i = 0; i < p->n_rows && rc == 0 && !st->data_stale; i++) {
        const up_account_metrics_t *row = &p->rows[i];
        /* an account that is not a customer at T opens nothing, and what it
         * had open resolves with the reason */
        int customer = row->status == UP_STATUS_CUSTOMER;
        const char *note = customer ? "the condition cleared"
                         : row->status == UP_STATUS_CHURNED ? "the account churned" : "the account is a prospect";
        st->accounts += customer;
        mine_t mine = lives_of(&lives, row->account->account_id);
        vars_t vs;
        int have_vs = 0;
        for (size_t k = 0; k < n_rules && rc == 0; k++) {
            size_t at = (size_t)i * n_rules + k;
            int fires = d.fires[at];
            if (!fires && !live_of(&mine, rules[k].name))
                continue;   /* nothing to open, nothing to resolve: apply would write nothing */
            up_buf_t b = {0};
            if (!fires) {   /* a live alert that resolves: the values it had cleared with */
                if (!have_vs)
                    account_vars(row, &vs), have_vs = 1;
                vals_json(rules[k].cond, &vs, &b);
            }
            const char *vals = fires ? d.vals[at] : b.data;
            rc = apply(db, m, &mine, &rules[k], row->account, fires, vals ? vals : "{}", today, p->d0, note, st);
            up_buf_free(&b);
        }
    }
    for (size_t c = 0; c + 1 < cells; c++)
        free(d.vals[c]);
    free(d.vals);
    free(d.fires);
    eval_stmts = NULL;
    lives_free(&lives);
    up_stmt_cache_free(&stmts);   /* before COMMIT: a statement still stepping would hold it */
    if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = -UP_EDB;
    if (rc < 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int up_alerts_evaluate(up_store_t *s, sqlite3 *db, int64_t T, up_alerts_stats_t *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    const up_model_t *m = up_store_model(s);
    rule_t *rules;
    size_t n_rules;
    int rc = rules_of(m, &rules, &n_rules, err, errlen);
    if (rc < 0)
        return rc;
    st->rules = (int)n_rules;
    up_view_t v;
    if ((rc = up_alerts_init(db)) < 0)
        snprintf(err, errlen, "cannot create the alert tables: %s", sqlite3_errmsg(db));
    else if ((rc = up_view_open(s, T, UP_VIEW_SIGNALS | UP_VIEW_ALL, &v, err, errlen)) == 0) {
        uint64_t events;
        int64_t max_ts;
        up_store_events_span(s, &events, &max_ts);
        st->last_event_ms = events ? max_ts : 0;
        double t0 = up_now_s(), t1 = t0;
        if ((rc = up_backtest_churn_probability(&v, err, errlen)) == 0 && ((t1 = up_now_s()),
            (rc = evaluate(db, m, &v.portfolio, rules, n_rules, T, st)) < 0))
            snprintf(err, errlen, "cannot write the alert tables: %s", sqlite3_errmsg(db));
        int timing = getenv("UPTAKE_TIMING") != NULL, cached = v.entities_cached;
        if (timing)
            fprintf(stderr, "timing: rollup+entities %.3f s (rollup %.3f s; entities %.3f s on a second thread,"
                    " %s), metrics %.3f s (of which signals %.3f s), churn probability %.3f s, rules %.3f s\n",
                    v.secs_load, v.secs_rollup, v.secs_entities,
                    cached == 1 ? "from their cache" : "from the tables", v.secs_metrics, v.secs_signals, t1 - t0,
                    up_now_s() - t1);
        up_view_close(&v);
        /* the entity tables' cache was missing, old or damaged: written anew
         * for the next view (a cache: an error costs nothing but time) */
        if (rc == 0 && cached == 0) {
            double t2 = up_now_s();
            char cerr[256] = "";
            int w = up_entcache_write(db, cerr, sizeof cerr);
            if (timing)
                fprintf(stderr, "timing: entity cache %s in %.3f s%s%s\n", w > 0 ? "written" : "not written",
                        up_now_s() - t2, cerr[0] ? ": " : "", cerr);
        }
    }
    rules_free(rules, n_rules);
    return rc;
}

/* ---- listing and manual transitions ------------------------------------- */

#define COL_(name, kind) {name, kind, name, 0, UP_SHOW_PLAIN, 0, "  ", NULL}
#define TXT(name) COL_(name, UP_COL_TEXT)
#define INT(name) COL_(name, UP_COL_INT)
#define RAW(name) COL_(name, UP_COL_JSON)

/* The rows of a query (bind: ?1, or NULL) into t, as the store has them. */
static int query_rows(sqlite3 *db, const char *sql, const char *bind, up_table_t *t)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -UP_EDB;
    if (bind)
        sqlite3_bind_text(st, 1, bind, -1, SQLITE_STATIC);
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
        if ((rc = up_table_row(t)) == 0)
            for (size_t i = 0; i < t->ncols; i++)
                up_table_text(t, i, (const char *)sqlite3_column_text(st, (int)i));
    sqlite3_finalize(st);
    return rc;
}

/* Rows of a query as a table, CSV or JSON {"<json_key>":[…]}; a text table
 * without rows says empty. */
static int write_rows(sqlite3 *db, FILE *out, const char *sql, const char *bind, const up_col_t *cols, size_t ncols,
                      int format, const char *json_key, const char *empty)
{
    up_table_t t;
    up_table_init(&t, cols, ncols);
    t.json_key = json_key;
    t.json_tight = 1;
    t.empty = empty;
    t.header = 1;
    t.utf8 = 1;
    int rc = query_rows(db, sql, bind, &t);
    if (rc == 0)
        rc = up_table_write(out, &t, (up_format_t)format);
    up_table_free(&t);
    return rc;
}

/* The values an alert read, for people: "breadth 0.114, days_into_contract
 * 180" (three significant digits), or the text as it is when it is not a
 * JSON object. */
static void values_text(const char *json, char *out, size_t n)
{
    out[0] = '\0';
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    if (!json_is_object(o)) {
        snprintf(out, n, "%s", json ? json : "");
        json_decref(o);
        return;
    }
    size_t len = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        char val[40];
        if (json_is_number(v))
            snprintf(val, sizeof val, "%.3g", json_number_value(v));
        else if (json_is_boolean(v))
            snprintf(val, sizeof val, "%s", json_is_true(v) ? "yes" : "no");
        else if (json_is_string(v))
            snprintf(val, sizeof val, "%s", json_string_value(v));
        else
            snprintf(val, sizeof val, "–");
        int w = snprintf(out + len, n - len, "%s%s %s", len ? ", " : "", k, val);
        if (w < 0 || (size_t)w >= n - len)
            break;
        len += (size_t)w;
    }
    json_decref(o);
}

static const up_col_t LIST_TEXT_COLS[] = {
    {"id", UP_COL_TEXT, "ID", 4, UP_SHOW_PLAIN, 0, NULL, NULL},
    {"severity", UP_COL_TEXT, "SEVERITY", 8, UP_SHOW_PLAIN, UP_COL_LEFT, "  ", NULL},
    {"state", UP_COL_TEXT, "STATE", 12, UP_SHOW_PLAIN, UP_COL_LEFT, "  ", NULL},
    {"opened_at", UP_COL_TEXT, "OPENED", 10, UP_SHOW_PLAIN, UP_COL_LEFT, "  ", NULL},
    {"account", UP_COL_TEXT, "ACCOUNT", 24, UP_SHOW_PLAIN, UP_COL_LEFT | UP_COL_CLIP, "  ", NULL},
    {"rule", UP_COL_TEXT, "RULE", 20, UP_SHOW_PLAIN, UP_COL_LEFT, "  ", NULL},
    {"owner", UP_COL_TEXT, "OWNER", 14, UP_SHOW_PLAIN, UP_COL_LEFT | UP_COL_CLIP, "  ", NULL},
    {"values", UP_COL_TEXT, "WHY", 0, UP_SHOW_PLAIN, UP_COL_LEFT, "  ", NULL},
};

/* `alerts list` for people: a header, the account's name beside its id,
 * and the values the condition read, rounded. */
static int list_text(sqlite3 *db, FILE *out, const char *where, const char *bind)
{
    char sql[720];
    snprintf(sql, sizeof sql,
             "SELECT '#' || a.id, a.severity, a.state, a.opened_at,"
             " CASE WHEN a.account_id = '' THEN '(all accounts)' WHEN c.name IS NULL OR c.name = '' THEN a.account_id"
             " ELSE a.account_id || ' ' || c.name END,"
             " a.rule, a.owner, a.vals FROM alerts a LEFT JOIN accounts c ON c.account_id = a.account_id WHERE %s"
             " ORDER BY CASE a.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,"
             " a.opened_at, a.account_id, a.rule", where);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -UP_EDB;
    if (bind)
        sqlite3_bind_text(st, 1, bind, -1, SQLITE_STATIC);
    up_table_t t;
    up_table_init(&t, LIST_TEXT_COLS, 8);
    t.header = 1;
    t.utf8 = 1;
    t.empty = "No alerts (run `uptake alerts evaluate`).";
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW && (rc = up_table_row(&t)) == 0) {
        for (int i = 0; i < 7; i++)
            up_table_text(&t, (size_t)i, (const char *)sqlite3_column_text(st, i));
        char why[256];
        values_text((const char *)sqlite3_column_text(st, 7), why, sizeof why);
        up_table_text(&t, 7, why);
    }
    sqlite3_finalize(st);
    if (rc == 0)
        rc = up_table_write(out, &t, UP_FMT_TABLE);
    up_table_free(&t);
    return rc;
}

int up_alerts_list(sqlite3 *db, FILE *out, const char *state, int format)
{
    if (up_alerts_init(db) < 0)
        return -UP_EDB;
    static const up_col_t cols[] = {TXT("account_id"), TXT("rule"), TXT("severity"), TXT("state"), TXT("opened_at"),
                                    INT("id"), TXT("owner"), TXT("updated_at"), TXT("resolved_at"),
                                    TXT("snoozed_until"), TXT("condition"), RAW("values")};
    const char *where = !state || !strcmp(state, "active") ? "state IN ('open','acknowledged','snoozed')"
                      : !strcmp(state, "all") ? "1" : "state = ?1";
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT account_id, rule, severity, state, opened_at, id, owner, updated_at, resolved_at, snoozed_until,"
             " condition, vals FROM alerts WHERE %s ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1"
             " WHEN 'medium' THEN 2 ELSE 3 END, opened_at, account_id, rule", where);
    int bind = state && strcmp(state, "active") && strcmp(state, "all");
    if (format == UP_FMT_TABLE)
        return list_text(db, out, where, bind ? state : NULL);
    return write_rows(db, out, sql, bind ? state : NULL, cols, 12, format, "alerts", NULL);
}

/* `alerts show` for people: the alert's fields, one labelled line each. */
static int show_text_head(sqlite3 *db, FILE *out, int64_t id)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT a.rule, a.severity, a.state, a.account_id, c.name, a.owner, a.condition,"
                               " a.vals, a.opened_at, a.updated_at, a.resolved_at, a.snoozed_until"
                               " FROM alerts a LEFT JOIN accounts c ON c.account_id = a.account_id WHERE a.id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return -UP_EDB;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return -UP_ENOTFOUND;
    }
    const char *f[12];
    for (int i = 0; i < 12; i++) {
        f[i] = (const char *)sqlite3_column_text(st, i);
        if (!f[i] || !*f[i])
            f[i] = "–";
    }
    char why[512];
    values_text(strcmp(f[7], "–") ? f[7] : NULL, why, sizeof why);
    fprintf(out, "Alert #%lld  %s  (%s, %s)\n", (long long)id, f[0], f[1], f[2]);
    if (!strcmp(f[3], "–"))   /* the store-wide alert (data_stopped) */
        f[3] = "(all accounts)";
    fprintf(out, "  account    %s%s%s\n", f[3], strcmp(f[4], "–") ? "  " : "", strcmp(f[4], "–") ? f[4] : "");
    fprintf(out, "  owner      %s\n  condition  %s\n  values     %s\n", f[5], f[6], why[0] ? why : "–");
    fprintf(out, "  opened     %s\n  updated    %s\n  resolved   %s\n  snoozed    %s\n", f[8], f[9], f[10], f[11]);
    sqlite3_finalize(st);
    return 0;
}

int up_alerts_show(sqlite3 *db, FILE *out, int64_t id, int format)
{
    if (up_alerts_init(db) < 0)
        return -UP_EDB;
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%lld", (long long)id);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM alerts WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return -UP_EDB;
    sqlite3_bind_int64(st, 1, id);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (!found)
        return -UP_ENOTFOUND;
    static const up_col_t acols[] = {INT("id"), TXT("account_id"), TXT("rule"), TXT("severity"), TXT("state"),
                                     TXT("owner"), TXT("condition"), RAW("values"), RAW("window"), TXT("opened_at"),
                                     TXT("updated_at"), TXT("resolved_at"), TXT("snoozed_until")};
    static const up_col_t hcols[] = {TXT("at"), TXT("state"), TXT("note")};
    static const up_col_t dcols[] = {TXT("playbook"), TXT("event"), TXT("url"), TXT("status"), INT("attempts"),
                                     INT("last_code"), TXT("last_error"), TXT("delivered_at")};
    static const up_col_t tcols[] = {INT("id"), TXT("title"), TXT("owner"), TXT("due"), TXT("done_at")};
    if (format == UP_FMT_JSON)
        fputs("{\"alert\":", out);
    int rc = format == UP_FMT_TABLE ? show_text_head(db, out, id)
           : write_rows(db, out, "SELECT id, account_id, rule, severity, state, owner, condition, vals, window,"
                                 " opened_at, updated_at, resolved_at, snoozed_until FROM alerts WHERE id = ?1",
                        idtxt, acols, 13, format, "rows", NULL);
    if (format == UP_FMT_CSV)
        return rc;   /* CSV: the alert row only */
    fputs(format == UP_FMT_JSON ? ",\"history\":" : "\nHistory\n", out);
    if (rc == 0)
        rc = write_rows(db, out, "SELECT at, state, note FROM alert_history WHERE alert_id = ?1 ORDER BY id", idtxt,
                        hcols, 3, format, "rows", "(none)");
    fputs(format == UP_FMT_JSON ? ",\"deliveries\":" : "\nDeliveries\n", out);
    if (rc == 0)
        rc = write_rows(db, out, "SELECT playbook, event, url, status, attempts, last_code, last_error, delivered_at"
                                 " FROM deliveries WHERE alert_id = ?1 ORDER BY id", idtxt, dcols, 8, format,
                        "rows", "(none)");
    fputs(format == UP_FMT_JSON ? ",\"tasks\":" : "\nTasks\n", out);
    if (rc == 0)
        rc = write_rows(db, out, "SELECT id, title, owner, due, done_at FROM tasks WHERE alert_id = ?1 ORDER BY id",
                        idtxt, tcols, 5, format, "rows", "(none)");
    if (format == UP_FMT_JSON)
        fputs("}\n", out);
    return rc;
}

int up_alerts_set_state(sqlite3 *db, int64_t id, const char *action, const char *until, const char *today)
{
    if (up_alerts_init(db) < 0)
        return -UP_EDB;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT state FROM alerts WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return -UP_EDB;
    sqlite3_bind_int64(st, 1, id);
    char state[16] = "";
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(state, sizeof state, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (!state[0])
        return -UP_ENOTFOUND;
    if (!strcmp(state, "resolved"))
        return -UP_EINVAL;
    int rc;
    if (!strcmp(action, "ack"))
        rc = exec1(db, "UPDATE alerts SET state = 'acknowledged', snoozed_until = NULL, updated_at = ? WHERE id = ?",
                   "si", today, id);
    else if (!strcmp(action, "snooze"))
        rc = exec1(db, "UPDATE alerts SET state = 'snoozed', snoozed_until = ?, updated_at = ? WHERE id = ?", "ssi",
                   until, today, id);
    else if (!strcmp(action, "resolve"))
        rc = exec1(db, "UPDATE alerts SET state = 'resolved', resolved_at = ?, updated_at = ? WHERE id = ?", "ssi",
                   today, today, id);
    else
        return -UP_EINVAL;
    char note[64];
    snprintf(note, sizeof note, "%s by hand%s%s", action, until ? " until " : "", until ? until : "");
    if (rc == 0)
        rc = history(db, id, today,
                     !strcmp(action, "ack") ? "acknowledged" : !strcmp(action, "snooze") ? "snoozed" : "resolved", note);
    return rc;
}

int up_alerts_tasks_list(sqlite3 *db, FILE *out, int all, int format)
{
    if (up_alerts_init(db) < 0)
        return -UP_EDB;
    static const up_col_t cols[] = {INT("id"), TXT("account_id"), TXT("owner"), TXT("title"), TXT("due"),
                                    TXT("done_at"), INT("alert_id"), TXT("created_at")};
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT id, account_id, owner, title, due, done_at, alert_id, created_at FROM tasks%s"
             " ORDER BY due, id", all ? "" : " WHERE done_at IS NULL");
    return write_rows(db, out, sql, NULL, cols, 8, format, "tasks", "No open tasks.");
}

int up_alerts_task_done(sqlite3 *db, int64_t id, const char *today)
{
    if (up_alerts_init(db) < 0)
        return -UP_EDB;
    int rc = exec1(db, "UPDATE tasks SET done_at = ? WHERE id = ? AND done_at IS NULL", "si", today, id);
    if (rc == 0 && sqlite3_changes(db) == 0)
        return -UP_ENOTFOUND;
    return rc;
}

int up_alerts_open_count(sqlite3 *db, const char *account_id, int64_t *n)
{
    sqlite3_stmt *st;
    *n = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM alerts WHERE account_id = ? AND state <> 'resolved'", -1, &st,
                           NULL) != SQLITE_OK)
        return strstr(sqlite3_errmsg(db), "no such table") ? 0 : -UP_EDB;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -UP_EDB;
}
