/* alerts: evaluation of the rules into alert states, and the alert, task and
 * delivery tables (see the header). A rule's condition is the condition
 * language of src/rules.h over the variables below; the built-in rules are
 * conditions too, written from the model's alert_settings, so every alert
 * explains itself with the same text and the values it read. */
#include "alerts.h"

#include "engine.h"
#include "engine_account.h"
#include "engine_people.h"
#include "rollup.h"
#include "engine_workflow.h"
#include "fmt.h"
#include "report.h"
#include "rules.h"
#include "store.h"
#include "timeparse.h"
#include "util.h"

#include <math.h>
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

enum {
    V_SEATS, V_KNOWN, V_DAU, V_WAU, V_WAU_PREV, V_MAU, V_ACTIVE, V_BREADTH, V_DEPTH, V_STICKINESS, V_WAU_TREND,
    V_TTFV, V_ACTIVATION, V_CONSISTENCY, V_CHAMPION_ACTIVE, V_NPS, V_HEALTH, V_ARR, V_LEVEL_LOW, V_LEVEL_HIGH,
    V_LEVEL_EFFECTIVE, V_CORE_FEATURES, V_CORE_UNUSED, V_DAYS_INTO, V_DAYS_TO_RENEWAL, V_HAS_KA,
    V_CHAMPION_QUIET, V_SEATS_REMOVED, V_HEALTH_CHANGE, V_MS_OVERDUE, V_MS_OPEN, V_MS_IDLE, V_FRICTION,
    V_FRICTION_FLAG, V_TICKETS_28D, V_N
};
static const char *const VARS[V_N] = {
    "seats", "known_users", "dau", "wau", "wau_prev", "mau", "active_users", "breadth", "depth", "stickiness",
    "wau_trend", "ttfv_days", "activation_rate", "consistency", "champion_active", "nps", "health", "arr",
    "level_low", "level_high", "level_effective", "core_features", "core_unused_28d", "days_into_contract",
    "days_to_renewal", "has_key_action", "champion_quiet", "seats_removed_1d", "health_change",
    "milestone_overdue_days", "open_milestones", "days_since_milestone_done", "friction", "friction_flag",
    "tickets_28d",
};

int up_alert_var_known(const char *name)
{
    for (int i = 0; i < V_N; i++)
        if (!strcmp(VARS[i], name))
            return 1;
    return 0;
}

typedef struct {
    up_val_t v[V_N];
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
    for (int i = 0; i < V_N; i++)
        if (!strcmp(VARS[i], name))
            return vs->v[i];
    return num(NAN);
}

/* ---- rules -------------------------------------------------------------- */

static const struct {
    const char *name;
    int severity;
    const char *what;
} BUILTINS[] = {
    {"usage_drop", UP_SEV_HIGH, "weekly active users fell"},
    {"low_platform_access", UP_SEV_MEDIUM, "few licensed seats in use, well into the contract"},
    {"feature_avoidance", UP_SEV_LOW, "broad use, but a core feature unused for 28 days"},
    {"champion_quiet", UP_SEV_HIGH, "a champion went quiet"},
    {"seats_removed", UP_SEV_HIGH, "licensed seats removed overnight"},
    {"onboarding_stalled", UP_SEV_MEDIUM, "onboarding milestones overdue or idle"},
    {"no_first_value", UP_SEV_HIGH, "no key action yet, well into the contract"},
    {"friction_loop", UP_SEV_MEDIUM, "many tickets and errors while activity is high"},
    {"health_drop", UP_SEV_HIGH, "health score dropped"},
    {"renewal_at_risk", UP_SEV_CRITICAL, "renewal soon at low adoption"},
};
#define N_BUILTINS (sizeof BUILTINS / sizeof BUILTINS[0])

int up_alert_builtin(const char *name)
{
    for (size_t i = 0; i < N_BUILTINS; i++)
        if (!strcmp(BUILTINS[i].name, name))
            return 1;
    return 0;
}

/* The condition of built-in i with the model's thresholds. */
static void builtin_when(size_t i, const up_alert_settings_t *a, char *out, size_t len)
{
    char x[32], y[32];
    switch (i) {
    case 0: up_fmt_double(x, sizeof x, a->usage_drop_wau_trend); snprintf(out, len, "wau_trend < %s", x); break;
    case 1:
        up_fmt_double(x, sizeof x, a->low_access_breadth);
        snprintf(out, len, "breadth < %s and days_into_contract > %d", x, a->low_access_days);
        break;
    case 2:
        up_fmt_double(x, sizeof x, a->avoidance_breadth);
        snprintf(out, len, "breadth >= %s and core_unused_28d > 0", x);
        break;
    case 3: snprintf(out, len, "champion_quiet"); break;
    case 4: up_fmt_double(x, sizeof x, a->seats_removed_share); snprintf(out, len, "seats_removed_1d >= %s", x); break;
    case 5:
        snprintf(out, len, "milestone_overdue_days >= %d or (open_milestones > 0 and days_since_milestone_done >= %d)",
                 a->milestone_overdue_days, a->milestone_idle_days);
        break;
    case 6: snprintf(out, len, "not has_key_action and days_into_contract > %d", a->no_first_value_days); break;
    case 7: snprintf(out, len, "friction_flag"); break;
    case 8: up_fmt_double(x, sizeof x, -a->health_drop_points); snprintf(out, len, "health_change <= %s", x); break;
    case 9:
        snprintf(out, len, "days_to_renewal >= 0 and days_to_renewal <= %d and level_low", a->renewal_days);
        break;
    default: out[0] = '\0';
    }
    (void)y;
}

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
    rule_t *r = calloc(N_BUILTINS + m->n_rules + 1, sizeof *r);
    if (!r)
        return -UP_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < N_BUILTINS; i++) {
        const up_rule_t *o = NULL;
        for (size_t j = 0; j < m->n_rules; j++)
            if (!strcmp(m->rules[j].name, BUILTINS[i].name))
                o = &m->rules[j];
        if (o && !o->enabled)
            continue;
        r[k].name = BUILTINS[i].name;
        r[k].severity = o && o->severity >= 0 ? o->severity : BUILTINS[i].severity;
        r[k].cooldown_days = o ? o->cooldown_days : 7;
        r[k].owner = o ? o->owner : NULL;
        if (o && o->when)
            snprintf(r[k].when, sizeof r[k].when, "%s", o->when);
        else
            builtin_when(i, &m->alert_settings, r[k].when, sizeof r[k].when);
        k++;
    }
    for (size_t j = 0; j < m->n_rules; j++) {
        const up_rule_t *o = &m->rules[j];
        if (up_alert_builtin(o->name) || !o->enabled)
            continue;
        r[k].name = o->name;
        r[k].severity = o->severity >= 0 ? o->severity : UP_SEV_MEDIUM;
        r[k].cooldown_days = o->cooldown_days;
        r[k].owner = o->owner;
        snprintf(r[k].when, sizeof r[k].when, "%s", o->when);
        k++;
    }
    for (size_t i = 0; i < k; i++)
        if (up_cond_compile(r[i].when, up_alert_var_known, &r[i].cond, err, errlen) < 0) {
            rules_free(r, k);
            return -UP_EMODEL;
        }
    *out = r;
    *n = k;
    return 0;
}

/* ---- signals ------------------------------------------------------------ */

typedef struct {
    sqlite3 *db;
    const up_model_t *m;
    const up_rollup_t *r;
    const up_entities_t *e;
    int64_t T;
    int32_t d0;
    const int8_t *quiet;      /* per account id: up_engine_champions_quiet */
    const int64_t *errors;    /* per account id: up_error_counts, or NULL */
} sig_ctx_t;

static void account_vars(const sig_ctx_t *c, const up_account_metrics_t *row, const up_account_metrics_t *before,
                         vars_t *vs)
{
    const up_account_t *acc = row->account;
    up_val_t *v = vs->v;
    v[V_SEATS] = num((double)row->seats);
    v[V_KNOWN] = num((double)row->known_users);
    v[V_DAU] = num((double)row->dau);
    v[V_WAU] = num((double)row->wau);
    v[V_WAU_PREV] = num((double)row->wau_prev);
    v[V_MAU] = num((double)row->mau);
    v[V_ACTIVE] = num((double)row->active_users);
    v[V_BREADTH] = num(row->breadth);
    v[V_DEPTH] = num(row->depth);
    v[V_STICKINESS] = num(row->stickiness);
    v[V_WAU_TREND] = num(row->wau_trend);
    v[V_TTFV] = num(row->ttfv_days == INT64_MIN ? NAN : (double)row->ttfv_days);
    v[V_ACTIVATION] = num(row->activation_rate);
    v[V_CONSISTENCY] = num(row->consistency);
    v[V_CHAMPION_ACTIVE] = boolean(row->champion_active);
    v[V_NPS] = num(row->nps);
    v[V_HEALTH] = num(row->health);
    v[V_ARR] = num(acc->arr);
    v[V_LEVEL_LOW] = boolean(row->level == UP_LEVEL_LOW);
    v[V_LEVEL_HIGH] = boolean(row->level == UP_LEVEL_HIGH);
    v[V_LEVEL_EFFECTIVE] = boolean(row->level == UP_LEVEL_EFFECTIVE);
    v[V_CORE_FEATURES] = num((double)row->core_total);
    v[V_CORE_UNUSED] = num(row->core_total ? (double)(row->core_total - row->core_used) : NAN);
    v[V_DAYS_INTO] = num(acc->contract_start == UP_NO_DAY ? NAN : (double)(c->d0 - acc->contract_start));
    v[V_DAYS_TO_RENEWAL] = num(acc->renewal_date == UP_NO_DAY ? NAN : (double)(acc->renewal_date - c->d0));
    v[V_HAS_KA] = boolean(row->ttfv_days != INT64_MIN || !isnan(row->activation_rate) ? 1 : 0);
    v[V_HEALTH_CHANGE] = num(before ? row->health - before->health : NAN);
    /* seats at the end of yesterday against now */
    int64_t prev = up_engine_seats_at(c->e, acc, up_engine_end_of_day(c->d0 - 1));
    v[V_SEATS_REMOVED] = num(prev > 0 ? (double)(prev - row->seats) / (double)prev : NAN);
    if (v[V_SEATS_REMOVED].kind == UP_VAL_NUM && v[V_SEATS_REMOVED].num < 0)
        v[V_SEATS_REMOVED].num = 0;
    /* champions: quiet when inactive for 14 days or under share of their earlier pace */
    int64_t aid = up_dict_find(&c->r->dict[UP_KIND_ACCOUNT], acc->account_id, strlen(acc->account_id));
    v[V_CHAMPION_QUIET] = boolean(aid >= 0 ? c->quiet[aid] : -1);
    /* milestones, tickets, friction */
    v[V_MS_OVERDUE] = v[V_MS_OPEN] = v[V_MS_IDLE] = v[V_FRICTION] = v[V_FRICTION_FLAG] = v[V_TICKETS_28D] = num(NAN);
    up_account_extras_t x;
    memset(&x, 0, sizeof x);
    int64_t errors = c->errors ? (aid >= 0 ? c->errors[aid] : 0) : -1;
    if (up_account_extras(c->db, c->m, row, c->T, errors, NULL, &x) == 0) {
        int max_over = 0, open = 0;
        int64_t last_done = UP_TS_NONE;
        for (uint32_t i = 0; i < x.n_milestones; i++) {
            const up_milestone_t *ms = &x.milestones[i];
            int done = ms->done_at != UP_TS_NONE && ms->done_at <= c->T;
            if (!done)
                open++;
            if (ms->overdue_days > max_over)
                max_over = ms->overdue_days;
            if (done && (last_done == UP_TS_NONE || ms->done_at > last_done))
                last_done = ms->done_at;
        }
        if (x.n_milestones) {
            v[V_MS_OVERDUE] = num(max_over);
            v[V_MS_OPEN] = num(open);
            /* idle since the last milestone done, else since the contract began */
            int32_t since = last_done != UP_TS_NONE ? up_day_of(last_done) : acc->contract_start;
            v[V_MS_IDLE] = num(since == UP_NO_DAY ? NAN : (double)(c->d0 - since));
        }
        v[V_FRICTION] = num(x.friction);
        v[V_FRICTION_FLAG] = boolean(x.friction_flag);
        v[V_TICKETS_28D] = num((double)x.tickets_28d);
        up_account_extras_free(&x);
    }
}

/* ---- state -------------------------------------------------------------- */

static int exec1(sqlite3 *db, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
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
    sqlite3_finalize(st);
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
            up_fmt_date(due, d0 + p->task_due_days);
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
                up_fmt_json_str(&b, text);
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

/* Applies one rule's verdict for one account. */
static int apply(sqlite3 *db, const up_model_t *m, const rule_t *rule, const up_account_t *acc, int fires,
                 const char *vals, const char *today, int32_t d0, up_alerts_stats_t *st)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT id, state, snoozed_until FROM alerts WHERE account_id = ? AND rule = ?"
                               " AND state IN ('open','acknowledged','snoozed')", -1, &q, NULL) != SQLITE_OK)
        return -UP_EDB;
    sqlite3_bind_text(q, 1, acc->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, rule->name, -1, SQLITE_STATIC);
    int64_t id = -1;
    char state[16] = "", until[16] = "";
    if (sqlite3_step(q) == SQLITE_ROW) {
        id = sqlite3_column_int64(q, 0);
        snprintf(state, sizeof state, "%s", sqlite3_column_text(q, 1));
        if (sqlite3_column_text(q, 2))
            snprintf(until, sizeof until, "%s", sqlite3_column_text(q, 2));
    }
    sqlite3_finalize(q);
    const char *owner = rule->owner ? rule->owner : acc->owner;
    char window[160];
    snprintf(window, sizeof window, "{\"as_of\":\"%s\",\"windows\":\"metrics.md: window(7), window(14), window(28)\"}",
             today);
    int rc = 0;
    if (fires) {
        if (id >= 0) {
            rc = exec1(db, "UPDATE alerts SET vals = ?, window = ?, updated_at = ? WHERE id = ?", "sssi", vals, window,
                       today, id);
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
            up_fmt_date(from, d0 - rule->cooldown_days);
            if (sqlite3_prepare_v2(db, "SELECT 1 FROM alerts WHERE account_id = ? AND rule = ? AND state = 'resolved'"
                                       " AND resolved_at > ? AND resolved_at <= ?", -1, &q, NULL) != SQLITE_OK)
                return -UP_EDB;
            sqlite3_bind_text(q, 1, acc->account_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, rule->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 3, from, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(q, 4, today, -1, SQLITE_STATIC);
            int cooling = sqlite3_step(q) == SQLITE_ROW;
            sqlite3_finalize(q);
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
        rc = history(db, id, today, "resolved", "the condition cleared");
    st->resolved++;
    if (rc == 0)
        rc = run_playbooks(db, m, id, rule, acc, "resolve", today, d0, vals, owner, st);
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
    int32_t d0 = up_day_of(T);
    int64_t T_before = up_engine_end_of_day(d0 - m->alert_settings.health_drop_days);
    up_rollup_t *r = NULL;
    int owned = 0;
    up_entities_t e;
    up_portfolio_t now, before;
    memset(&now, 0, sizeof now);
    memset(&before, 0, sizeof before);
    int have_e = 0;
    int8_t *quiet = NULL;
    int64_t *errors = NULL;
    up_workflows_t wf_ka;
    memset(&wf_ka, 0, sizeof wf_ka);
    if ((rc = up_alerts_init(db)) < 0) {
        snprintf(err, errlen, "cannot create the alert tables: %s", sqlite3_errmsg(db));
        goto out;
    }
    if ((rc = up_store_rollup(s, T, &r, &owned)) < 0) {
        snprintf(err, errlen, "%s", up_strerror(rc));
        goto out;
    }
    if ((rc = up_entities_load(up_store_db(s), up_engine_nps_from(m, T_before), T, &e, err, errlen)) < 0)
        goto out;
    have_e = 1;
    if ((rc = up_workflow_key_actions(s, r, m, T, &e, &wf_ka)) < 0) {
        snprintf(err, errlen, "%s", up_strerror(rc));
        goto out;
    }
    if ((rc = up_engine_portfolio(r, m, &e, T, &now)) < 0 || (rc = up_engine_portfolio(r, m, &e, T_before, &before)) < 0) {
        snprintf(err, errlen, "%s", up_strerror(rc));
        goto out;
    }
    char today[16];
    up_fmt_date(today, d0);
    quiet = malloc(r->dict[UP_KIND_ACCOUNT].n + 1);
    if (!quiet) {
        rc = -UP_ENOMEM;
        goto out;
    }
    up_engine_champions_quiet(r, T, m->alert_settings.champion_quiet_share, quiet);
    if ((rc = up_error_counts(s, r, m, T, &errors)) < 0) {
        snprintf(err, errlen, "cannot count error events: %s", up_strerror(rc));
        goto out;
    }
    sig_ctx_t sc = {up_store_db(s), m, r, &e, T, d0, quiet, errors};
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot write the alert tables: %s", sqlite3_errmsg(db));
        rc = -UP_EDB;
        goto out;
    }
    uint32_t k_before = 0;
    for (uint32_t i = 0; i < now.n_rows && rc == 0; i++) {
        const up_account_metrics_t *row = &now.rows[i];
        const up_account_metrics_t *prev = NULL;
        /* both portfolios are sorted by account_id: walk them together */
        while (k_before < before.n_rows &&
               strcmp(before.rows[k_before].account->account_id, row->account->account_id) < 0)
            k_before++;
        if (k_before < before.n_rows && !strcmp(before.rows[k_before].account->account_id, row->account->account_id))
            prev = &before.rows[k_before];
        vars_t vs;
        account_vars(&sc, row, prev, &vs);
        st->accounts++;
        for (size_t k = 0; k < n_rules && rc == 0; k++) {
            int fires = up_val_true(up_cond_eval(rules[k].cond, lookup, &vs));
            up_buf_t b = {0};
            vals_json(rules[k].cond, &vs, &b);
            rc = apply(db, m, &rules[k], row->account, fires, b.data ? b.data : "{}", today, d0, st);
            up_buf_free(&b);
        }
    }
    if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = -UP_EDB;
    if (rc < 0) {
        snprintf(err, errlen, "cannot write the alert tables: %s", sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
out:
    up_workflows_free(&wf_ka);
    free(quiet);
    free(errors);
    up_portfolio_free(&now);
    up_portfolio_free(&before);
    if (have_e)
        up_entities_free(&e);
    if (owned) {
        up_rollup_free(r);
        free(r);
    }
    rules_free(rules, n_rules);
    return rc;
}

/* ---- listing and manual transitions ------------------------------------- */

static void csv_row(FILE *out, const char *const *v, int n)
{
    for (int i = 0; i < n; i++) {
        if (i)
            fputc(',', out);
        up_fmt_csv_field(out, v[i] ? v[i] : "");
    }
    fputc('\n', out);
}

/* Rows of a query as a table, CSV or JSON array (cols: names). */
static int write_rows(sqlite3 *db, FILE *out, const char *sql, const char *bind, const char *const *cols, int ncols,
                      const int *numeric, int format, const char *json_key, const char *empty)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -UP_EDB;
    if (bind)
        sqlite3_bind_text(st, 1, bind, -1, SQLITE_STATIC);
    up_buf_t b = {0};
    if (format == UP_FMT_CSV)
        csv_row(out, cols, ncols);
    else if (format == UP_FMT_JSON)
        up_buf_printf(&b, "{\"%s\":[", json_key);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *v[16];
        for (int i = 0; i < ncols && i < 16; i++)
            v[i] = (const char *)sqlite3_column_text(st, i);
        if (format == UP_FMT_CSV)
            csv_row(out, v, ncols);
        else if (format == UP_FMT_JSON) {
            up_buf_puts(&b, n ? ",\n{" : "\n{");
            for (int i = 0; i < ncols; i++) {
                up_buf_printf(&b, "%s\"%s\":", i ? "," : "", cols[i]);
                if (!v[i])
                    up_buf_puts(&b, "null");
                else if (numeric[i] == 2)
                    up_buf_puts(&b, v[i]);   /* stored JSON */
                else if (numeric[i])
                    up_buf_puts(&b, v[i]);
                else
                    up_fmt_json_str(&b, v[i]);
            }
            up_buf_puts(&b, "}");
        } else {
            for (int i = 0; i < ncols; i++)
                fprintf(out, i ? "  %s" : "%s", v[i] ? v[i] : "–");
            fputc('\n', out);
        }
        n++;
    }
    sqlite3_finalize(st);
    if (format == UP_FMT_JSON) {
        up_buf_puts(&b, n ? "\n]}\n" : "]}\n");
        fwrite(b.data, 1, b.len, out);
    } else if (format == UP_FMT_TABLE && !n)
        fprintf(out, "%s\n", empty);
    up_buf_free(&b);
    return 0;
}

int up_alerts_list(sqlite3 *db, FILE *out, const char *state, int format)
{
    if (up_alerts_init(db) < 0)
        return -UP_EDB;
    static const char *const cols[] = {"account_id", "rule", "severity", "state", "opened_at", "id", "owner",
                                       "updated_at", "resolved_at", "snoozed_until", "condition", "values"};
    static const int numeric[] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2};
    const char *where = !state || !strcmp(state, "active") ? "state IN ('open','acknowledged','snoozed')"
                      : !strcmp(state, "all") ? "1" : "state = ?1";
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT account_id, rule, severity, state, opened_at, id, owner, updated_at, resolved_at, snoozed_until,"
             " condition, vals FROM alerts WHERE %s ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1"
             " WHEN 'medium' THEN 2 ELSE 3 END, opened_at, account_id, rule", where);
    int bind = state && strcmp(state, "active") && strcmp(state, "all");
    if (format == UP_FMT_TABLE) {
        static const char *const tcols[] = {"id", "severity", "state", "opened_at", "account_id", "rule", "owner"};
        static const int tnum[] = {1, 0, 0, 0, 0, 0, 0};
        snprintf(sql, sizeof sql,
                 "SELECT printf('#%%-4d', id), printf('%%-8s', severity), printf('%%-12s', state), opened_at,"
                 " printf('%%-14s', account_id), printf('%%-20s', rule), coalesce(owner, '–') FROM alerts WHERE %s"
                 " ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,"
                 " opened_at, account_id, rule", where);
        return write_rows(db, out, sql, bind ? state : NULL, tcols, 7, tnum, format, "alerts",
                          "No alerts (run `uptake alerts evaluate`).");
    }
    return write_rows(db, out, sql, bind ? state : NULL, cols, 12, numeric, format, "alerts", "");
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
    static const char *const acols[] = {"id", "account_id", "rule", "severity", "state", "owner", "condition",
                                        "values", "window", "opened_at", "updated_at", "resolved_at", "snoozed_until"};
    static const int anum[] = {1, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0};
    static const char *const hcols[] = {"at", "state", "note"};
    static const int hnum[] = {0, 0, 0};
    static const char *const dcols[] = {"playbook", "event", "url", "status", "attempts", "last_code", "last_error",
                                        "delivered_at"};
    static const int dnum[] = {0, 0, 0, 0, 1, 1, 0, 0};
    static const char *const tcols[] = {"id", "title", "owner", "due", "done_at"};
    static const int tnum[] = {1, 0, 0, 0, 0};
    if (format == UP_FMT_JSON)
        fputs("{\"alert\":", out);
    else if (format == UP_FMT_TABLE)
        fputs("Alert\n", out);
    int rc = write_rows(db, out, "SELECT id, account_id, rule, severity, state, owner, condition, vals, window,"
                                 " opened_at, updated_at, resolved_at, snoozed_until FROM alerts WHERE id = ?1",
                        idtxt, acols, 13, anum, format, "rows", "");
    if (format == UP_FMT_CSV)
        return rc;   /* CSV: the alert row only */
    fputs(format == UP_FMT_JSON ? ",\"history\":" : "\nHistory\n", out);
    if (rc == 0)
        rc = write_rows(db, out, "SELECT at, state, note FROM alert_history WHERE alert_id = ?1 ORDER BY id", idtxt,
                        hcols, 3, hnum, format, "rows", "(none)");
    fputs(format == UP_FMT_JSON ? ",\"deliveries\":" : "\nDeliveries\n", out);
    if (rc == 0)
        rc = write_rows(db, out, "SELECT playbook, event, url, status, attempts, last_code, last_error, delivered_at"
                                 " FROM deliveries WHERE alert_id = ?1 ORDER BY id", idtxt, dcols, 8, dnum, format,
                        "rows", "(none)");
    fputs(format == UP_FMT_JSON ? ",\"tasks\":" : "\nTasks\n", out);
    if (rc == 0)
        rc = write_rows(db, out, "SELECT id, title, owner, due, done_at FROM tasks WHERE alert_id = ?1 ORDER BY id",
                        idtxt, tcols, 5, tnum, format, "rows", "(none)");
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

int up_tasks_list(sqlite3 *db, FILE *out, int all, int format)
{
    if (up_alerts_init(db) < 0)
        return -UP_EDB;
    static const char *const cols[] = {"id", "account_id", "owner", "title", "due", "done_at", "alert_id",
                                       "created_at"};
    static const int numeric[] = {1, 0, 0, 0, 0, 0, 1, 0};
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT id, account_id, owner, title, due, done_at, alert_id, created_at FROM tasks%s"
             " ORDER BY due, id", all ? "" : " WHERE done_at IS NULL");
    return write_rows(db, out, sql, NULL, cols, 8, numeric, format, "tasks", "No open tasks.");
}

int up_tasks_done(sqlite3 *db, int64_t id, const char *today)
{
    if (up_alerts_init(db) < 0)
        return -UP_EDB;
    int rc = exec1(db, "UPDATE tasks SET done_at = ? WHERE id = ? AND done_at IS NULL", "si", today, id);
    if (rc == 0 && sqlite3_changes(db) == 0)
        return -UP_ENOTFOUND;
    return rc;
}
