/* report_run: opens the as-of view a report needs and calls its writer
 * (see the header). */
#include "report_run.h"

#include "backtest.h"

#include "engine.h"
#include "engine_people.h"
#include "engine_series.h"
#include "engine_signals.h"
#include "engine_workflow.h"
#include "fmt.h"
#include "report_workflows.h"
#include "report_html.h"
#include "report_qbr.h"
#include "report_account.h"
#include "report_gaps.h"
#include "report_settings.h"
#include "report_signals.h"
#include "report_users.h"
#include "report_retention.h"
#include "report_events.h"
#include "report_renewals.h"
#include "table.h"
#include "timeparse.h"
#include "util.h"
#include "view.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const REPORTS[] = {"accounts", "features", "users",    "stages",   "gaps",
                                       "account",  "workflows", "signals", "settings", "retention",
                                       "renewals", "events"};

int up_report_run_known(const char *what)
{
    for (size_t i = 0; i < sizeof REPORTS / sizeof REPORTS[0]; i++)
        if (strcmp(what, REPORTS[i]) == 0)
            return 1;
    return 0;
}

int up_report_run_parse_as_of(const char *s, int64_t *T)
{
    int32_t day;
    if (up_date_parse(s, strlen(s), &day) == 0) {
        *T = up_engine_end_of_day(day);
        return 0;
    }
    return up_time_parse(s, strlen(s), T);
}

/* `report account ID`: the account's page, then its writer; the customer's
 * QBR with the pace of its plan (pace NULL: the internal page). */
static int report_one_account(FILE *out, const up_view_t *v, const char *id, up_format_t format,
                              const up_report_req_t *q, const up_portfolio_t *then)
{
    up_account_page_t pg;
    int rc = up_account_page_open(&pg, v, id, format == UP_FMT_HTML);
    if (rc < 0)
        return rc;
    if (format == UP_FMT_HTML && then) {
        up_qbr_pace_t pace;
        up_report_qbr_pace(&v->portfolio, then, pg.row->account, &pace);
        rc = up_report_qbr_customer(out, &pg, &pace, q->vendor, q->logo);
    } else
        rc = format == UP_FMT_HTML ? up_report_html_account(out, &pg) : up_report_account(out, &pg, format);
    up_account_page_close(&pg);
    return rc;
}

/* `report users` and `report stages`: from the rollup, the accounts whose
 * status --status lists (the customers by default; a named --account
 * whatever its status). */
static int report_stages(const up_view_t *v, const up_report_req_t *q, FILE *out, char *err, size_t errlen)
{
    const up_rollup_t *r = v->rollup;
    const char *account = q->o.account;
    up_stages_t st;
    uint8_t *listed = NULL;
    if ((q->status || !account) && !(listed = up_view_status_mask(v, q->status)))
        return up_errf(err, errlen, -UP_ENOMEM, "%s", up_strerror(-UP_ENOMEM));
    /* `report users` lists the rows; `report stages` shows the funnel alone */
    int users = strcmp(q->what, "users") == 0;
    int rc = users ? up_engine_stages(r, v->model, q->T, account, listed, &st)
                   : up_engine_stage_funnel(r, v->model, q->T, account, listed, &st);
    free(listed);
    if (rc == 0 && account && up_dict_find(&r->dict[UP_KIND_ACCOUNT], account, strlen(account)) < 0) {
        rc = up_errf(err, errlen, -UP_ENOTFOUND, "no account '%s' in the events", account);
    } else if (rc == 0) {
        rc = users ? up_report_users(out, r, v->model, q->T, &st, q->o.format)
                   : up_report_users_stages(out, v->model, q->T, &st, q->feature, q->o.format);
        if (rc == -UP_ENOTFOUND) {
            size_t len = (size_t)snprintf(err, errlen, "no feature '%s' in the model; its features are:", q->feature);
            for (size_t f = 0; f < v->model->n_features && len < errlen; f++)
                len += (size_t)snprintf(err + len, errlen - len, "%s %s", f ? "," : "", v->model->features[f].name);
        }
    } else
        up_errf(err, errlen, rc, "%s", up_strerror(rc));
    if (rc < 0 && rc != -UP_ENOTFOUND && !err[0])
        up_errf(err, errlen, rc, "%s", up_strerror(rc));
    up_stages_free(&st);
    return rc;
}

/* `report workflows`: the log's step events, the entity tables for seats. */
static int report_workflows(const up_view_t *v, const up_report_req_t *q, FILE *out, char *err, size_t errlen)
{
    const char *account = q->o.account;
    if (account && up_dict_find(&v->rollup->dict[UP_KIND_ACCOUNT], account, strlen(account)) < 0)
        return up_errf(err, errlen, -UP_ENOTFOUND, "no account '%s' in the events", account);
    up_workflows_t w;
    int rc = up_engine_workflow_run(v->store, v->rollup, v->model, q->T, account, &w);
    if (rc == 0)
        rc = up_report_workflows(out, v->rollup, v->model, &v->entities, &w, q->T, q->o.format);
    else
        up_errf(err, errlen, rc, "%s", up_strerror(rc));
    up_workflows_free(&w);
    return rc;
}

/* -UP_ENOTFOUND with the segments that exist in err when no account of the
 * accounts table has segment seg, else 0. */
static int check_segment(const up_entities_t *e, const char *seg, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < e->n_accounts; i++)
        if (e->accounts[i].segment && strcmp(e->accounts[i].segment, seg) == 0)
            return 0;
    size_t len = (size_t)snprintf(err, errlen, "no account has segment '%s'; the segments are:", seg);
    int any = 0;
    for (uint32_t i = 0; i < e->n_accounts && len < errlen; i++) {
        const char *s = e->accounts[i].segment;
        int seen = !s;
        for (uint32_t j = 0; j < i && !seen; j++)
            seen = e->accounts[j].segment && strcmp(e->accounts[j].segment, s) == 0;
        if (!seen) {
            len += (size_t)snprintf(err + len, errlen - len, "%s %s", any ? "," : "", s);
            any = 1;
        }
    }
    if (!any && len < errlen)
        snprintf(err + len, errlen - len, " none (the accounts table has no segment)");
    return -UP_ENOTFOUND;
}

/* The reports on the portfolio: accounts, features, gaps and one account. */
static int report_portfolio(const up_view_t *v, const up_report_req_t *q, FILE *out, const up_portfolio_t *then,
                            char *err, size_t errlen)
{
    const up_portfolio_t *p = &v->portfolio;
    int is_account = strcmp(q->what, "account") == 0, rc;
    if (q->o.segment && !is_account && (rc = check_segment(&v->entities, q->o.segment, err, errlen)) < 0)
        return rc;
    if (strcmp(q->what, "gaps") == 0)
        rc = up_report_gaps(out, p, &q->o, q->top);
    else if (strcmp(q->what, "signals") == 0)
        rc = up_report_signals(out, p, &q->o);
    else if (is_account)
        rc = report_one_account(out, v, q->id, q->o.format, q, then);
    else
        rc = strcmp(q->what, "accounts") != 0 ? up_report_features(out, p, &q->o)
           : q->o.format == UP_FMT_HTML ? up_report_html_accounts(out, p, &q->o) : up_report_accounts(out, p, &q->o);
    if (rc == -UP_ENOTFOUND)
        up_errf(err, errlen, rc, "no account '%s'", is_account ? q->id : q->o.account);
    else if (rc < 0)
        up_errf(err, errlen, rc, "%s%s%s", up_strerror(rc), rc == -UP_EDB ? ": " : "",
             rc == -UP_EDB ? sqlite3_errmsg(up_store_db(v->store)) : "");
    return rc;
}

static int run_report(up_store_t *s, const up_report_req_t *q, FILE *out, char *err, size_t errlen);

/* A store whose events are in ClickHouse says what failed there (the
 * shard, or what it does not serve yet) rather than a bare error code. */
int up_report_run(up_store_t *s, const up_report_req_t *q, FILE *out, char *err, size_t errlen)
{
    int rc = run_report(s, q, out, err, errlen);
    if (rc < 0 && up_store_engine_error(s)[0])
        snprintf(err, errlen, "%s", up_store_engine_error(s));
    return rc;
}

static int run_report(up_store_t *s, const up_report_req_t *q, FILE *out, char *err, size_t errlen)
{
    err[0] = '\0';
    if (strcmp(q->what, "settings") == 0)   /* the model's, not as of a time */
        return up_report_settings(out, up_store_model(s), q->o.format);
    int workflows = strcmp(q->what, "workflows") == 0;
    int stages = strcmp(q->what, "users") == 0 || strcmp(q->what, "stages") == 0;
    int retention = strcmp(q->what, "retention") == 0;
    int renewals = strcmp(q->what, "renewals") == 0;
    if (strcmp(q->what, "events") == 0) {   /* the log and the rollup's names */
        up_view_t v;
        int rc = up_view_open(s, q->T, UP_VIEW_ROLLUP, &v, err, errlen);
        if (rc == 0) {
            rc = up_report_events(out, s, v.rollup, q->T, q->o.format, err, errlen);
            up_view_close(&v);
        }
        return rc;
    }
    /* stages and users need the entity tables for the accounts' status only */
    unsigned what = stages ? UP_VIEW_ROLLUP | UP_VIEW_ENTITIES | UP_VIEW_LIFECYCLE
                  : workflows ? UP_VIEW_ROLLUP | UP_VIEW_ENTITIES
                  : strcmp(q->what, "signals") == 0 ? UP_VIEW_SIGNALS : UP_VIEW_PORTFOLIO;
    if (retention && up_report_retention_needs_signals(q->by))
        what = UP_VIEW_SIGNALS;
    if (retention && up_report_retention_is_grid(q->by))
        what = UP_VIEW_ENTITIES;   /* the lifecycle and ARR alone */
    /* the account page shows any account; retention starts from the customers */
    /* the account page, and a report of one named account (--account), show
     * it whatever its status unless --status says otherwise */
    what |= strcmp(q->what, "account") == 0 ? UP_VIEW_ALL : retention || renewals ? UP_VIEW_CUSTOMER
          : q->status ? q->status : q->o.account ? UP_VIEW_ALL : UP_VIEW_CUSTOMER;
    up_view_t v;
    /* one account's page (but its HTML, which shows the portfolio too):
     * that account's row only */
    int one = strcmp(q->what, "account") == 0 && q->o.format != UP_FMT_HTML && !(what & UP_VIEW_SIGNALS);
    int rc = one ? up_view_open_account(s, q->T, what, q->id, &v, err, errlen)
                 : up_view_open(s, q->T, what, &v, err, errlen);
    if (rc < 0)
        return rc;
    if ((what & UP_VIEW_SIGNALS) && (rc = up_backtest_churn_probability(&v, err, errlen)) < 0) {
        up_view_close(&v);
        return rc;
    }
    /* the customer's QBR: the portfolio 90 days before, for the plan's pace */
    up_portfolio_t then;
    memset(&then, 0, sizeof then);
    int qbr = strcmp(q->what, "account") == 0 && q->o.format == UP_FMT_HTML && !q->internal;
    if (qbr && (rc = up_view_portfolio_at(&v, up_engine_end_of_day(v.d0 - 90), &then, err, errlen)) < 0) {
        up_view_close(&v);
        return rc;
    }
    double t0 = up_now_s();
    rc = renewals ? up_report_renewals(out, &v, q->horizon, q->o.format, err, errlen)
       : retention && up_report_retention_is_grid(q->by) ? up_report_retention_grid(out, &v, q->o.format)
       : retention ? up_report_retention(out, &v, q->horizon, q->by, q->o.format)
       : workflows ? report_workflows(&v, q, out, err, errlen)
       : stages ? report_stages(&v, q, out, err, errlen) : report_portfolio(&v, q, out, qbr ? &then : NULL, err, errlen);
    up_portfolio_free(&then);
    if ((retention || renewals) && rc < 0 && !err[0])
        up_errf(err, errlen, rc, "%s", up_strerror(rc));
    if (getenv("UPTAKE_TIMING"))
        fprintf(stderr, "timing: rollup+entities %.3f s (rollup %.3f s; entities %.3f s on a second thread, %s),"
                " metrics %.3f s, report %.3f s\n",
                v.secs_load, v.secs_rollup, v.secs_entities,
                v.entities_cached == 1 ? "from their cache" : "from the tables", v.secs_metrics, up_now_s() - t0);
    up_view_close(&v);
    return rc;
}

enum { R_ID, R_AT, R_SOURCE, R_FILE, R_LINE, R_FIELD, R_REASON, R_RECORD, R_N };
static const up_col_t REJECT_COLS[R_N] = {
    [R_ID] = {"id", UP_COL_INT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [R_AT] = {"at", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [R_SOURCE] = {"source", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [R_FILE] = {"file", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [R_LINE] = {"line", UP_COL_INT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [R_FIELD] = {"field", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [R_REASON] = {"reason", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [R_RECORD] = {"record", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
};

/* The text of `uptake rejects`: two lines per record. */
static void table_rejects(FILE *out, const up_table_t *t, long long total, long limit)
{
    if (total == 0)
        fprintf(out, "No rejected records.\n");
    else
        fprintf(out, "%lld rejected record%s (newest first%s):\n", total, total == 1 ? "" : "s",
                limit >= 0 && total > limit ? "; --limit N shows more" : "");
    for (size_t i = 0; i < t->nrows; i++) {
        const char *v[R_N];
        for (int k = 0; k < R_N; k++)
            v[k] = up_table_get(t, i, (size_t)k);
        fprintf(out, "  %s:%s: %s%s%s\n      %s\n", v[R_FILE] ? v[R_FILE] : "?", v[R_LINE] ? v[R_LINE] : "?",
                v[R_FIELD] ? v[R_FIELD] : "", v[R_FIELD] ? ": " : "", v[R_REASON] ? v[R_REASON] : "",
                v[R_RECORD] && *v[R_RECORD] ? v[R_RECORD] : "(record not decodable)");
    }
}

int up_report_run_rejects(sqlite3 *db, FILE *out, up_format_t fmt, long limit)
{
    sqlite3_stmt *st;
    sqlite3_int64 total = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM rejects", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            total = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    if (sqlite3_prepare_v2(db, "SELECT id, at, source, file, line, field, reason, record FROM rejects"
                               " ORDER BY id DESC LIMIT ?", -1, &st, NULL) != SQLITE_OK) {
        return -UP_EDB;
    }
    sqlite3_bind_int64(st, 1, limit);
    up_table_t t;
    up_table_init(&t, REJECT_COLS, R_N);
    t.json_key = "rejects";
    snprintf(t.json_tail, sizeof t.json_tail, ",\"total\":%lld", (long long)total);
    if (fmt != UP_FMT_TABLE)
        up_table_stream(&t, out, fmt);   /* a flood of rejects is held one row at a time */
    while (sqlite3_step(st) == SQLITE_ROW && up_table_row(&t) == 0)
        for (int i = 0; i < R_N; i++)
            up_table_text(&t, (size_t)i, (const char *)sqlite3_column_text(st, i));
    sqlite3_finalize(st);
    int rc = 0;
    if (fmt == UP_FMT_TABLE)
        table_rejects(out, &t, (long long)total, limit);
    else
        rc = up_table_end(&t, out, fmt);
    up_table_free(&t);
    return rc;
}

int up_report_run_series(up_store_t *s, const char *id, int64_t T, int days, FILE *out, char *err, size_t errlen)
{
    err[0] = '\0';
    up_view_t v;
    int rc = up_view_open(s, T, UP_VIEW_ROLLUP | UP_VIEW_ENTITIES, &v, err, errlen);
    if (rc < 0)
        return rc;
    const up_rollup_t *r = v.rollup;
    const up_entities_t *e = &v.entities;
    /* the account as the table describes it, or as first seen in events */
    up_account_t only_events = {.account_id = (char *)id, .seats = 0, .contract_start = UP_NO_DAY,
                                .renewal_date = UP_NO_DAY, .churned_at = UP_NO_DAY};
    const up_account_t *acc = NULL;
    for (uint32_t i = 0; i < e->n_accounts && !acc; i++)
        if (strcmp(e->accounts[i].account_id, id) == 0)
            acc = &e->accounts[i];
    if (!acc && up_dict_find(&r->dict[UP_KIND_ACCOUNT], id, strlen(id)) >= 0)
        acc = &only_events;
    up_series_t se;
    if (!acc)
        rc = up_errf(err, errlen, -UP_ENOTFOUND, "no account '%s'", id);
    else if ((rc = up_engine_series(r, v.model, e, acc, T, days, &se)) < 0)
        up_errf(err, errlen, rc, "%s", up_strerror(rc));
    else {
        const up_model_t *m = v.model;
        up_buf_t b = {0};
        char date[16], when[40];
        up_time_fmt(when, T);
        up_buf_puts(&b, "{\"account_id\":");
        up_fmt_json_str(&b, id);
        up_buf_printf(&b, ",\"as_of\":\"%s\",\"days\":[", when);
        for (int i = 0; i < se.n_days; i++) {
            up_date_fmt(date, se.days[i].day);
            up_buf_printf(&b, "%s\n{\"date\":\"%s\",\"dau\":%lld,\"wau\":%lld,\"mau\":%lld,\"seats\":%lld}", i ? "," : "",
                          date, (long long)se.days[i].dau, (long long)se.days[i].wau, (long long)se.days[i].mau,
                          (long long)se.days[i].seats);
        }
        up_buf_puts(&b, "],\"feature_weeks\":[");
        for (uint32_t f = 0; f < se.n_features; f++) {
            up_buf_puts(&b, f ? ",\n{\"feature\":" : "\n{\"feature\":");
            up_fmt_json_str(&b, m->features[f].name);
            up_buf_printf(&b, ",\"core\":%s,\"weeks\":[", m->features[f].core ? "true" : "false");
            for (int k = 0; k < 12; k++) {
                char lo[16], hi[16];
                up_date_fmt(lo, se.d0 - 7 * (11 - k) - 6);
                up_date_fmt(hi, se.d0 - 7 * (11 - k));
                up_buf_printf(&b, "%s{\"week_start\":\"%s\",\"week_end\":\"%s\",\"users\":%lld}", k ? "," : "", lo, hi,
                              (long long)se.feature_weeks[f][k]);
            }
            up_buf_puts(&b, "]}");
        }
        up_buf_puts(&b, "]}\n");
        if (!b.data || fwrite(b.data, 1, b.len, out) != b.len)
            rc = up_errf(err, errlen, -UP_EIO, "cannot write the series");
        up_buf_free(&b);
        up_series_free(&se);
    }
    up_view_close(&v);
    return rc;
}

int up_report_run_status(up_store_t *s, FILE *out)
{
    up_store_stats_t st;
    up_store_stats(s, &st);
    char from[40], to[40];
    up_time_fmt(from, st.min_ts);
    up_time_fmt(to, st.max_ts);
    if (st.events)
        fprintf(out, "{\"events\":%llu,\"first_event\":\"%s\",\"last_event\":\"%s\",\"last_event_day\":\"%.10s\",",
                (unsigned long long)st.events, from, to, to);
    else
        fputs("{\"events\":0,\"first_event\":null,\"last_event\":null,\"last_event_day\":null,", out);
    fprintf(out, "\"users\":%u,\"pairs\":%u,\"accounts\":%u,\"event_names\":%u}\n", st.users, st.pairs, st.accounts,
            st.event_names);
    return ferror(out) ? -UP_EIO : 0;
}
