/* report_renewals: the renewal forecast (see the header). */
#include "report_renewals.h"

#include "alerts.h"
#include "backtest.h"
#include "engine.h"
#include "table.h"
#include "timeparse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { R_ID, R_NAME, R_OWNER, R_DATE, R_DAYS, R_ARR, R_HEALTH, R_LEVEL, R_TREND, R_ALERTS, R_PROB, R_ROWS, R_RISK, R_N };
static const up_col_t COLS[R_N] = {
    [R_ID] = {"account_id", UP_COL_TEXT, "ACCOUNT", 12, UP_SHOW_PLAIN, UP_COL_CLIP, NULL, NULL},
    [R_NAME] = {"name", UP_COL_TEXT, "NAME", 16, UP_SHOW_PLAIN, UP_COL_CLIP | UP_COL_LEFT, NULL, NULL},
    [R_OWNER] = {"owner", UP_COL_TEXT, "OWNER", 12, UP_SHOW_PLAIN, UP_COL_CLIP | UP_COL_LEFT, NULL, NULL},
    [R_DATE] = {"renewal_date", UP_COL_DATE, "RENEWAL", 10, UP_SHOW_PLAIN, 0, NULL, NULL},
    [R_DAYS] = {"days_to_renewal", UP_COL_INT, "DAYS", 4, UP_SHOW_PLAIN, 0, NULL, NULL},
    [R_ARR] = {"arr", UP_COL_NUM, "ARR", 10, UP_SHOW_FIX0, 0, NULL, NULL},
    [R_HEALTH] = {"health", UP_COL_NUM, "HEALTH", 6, UP_SHOW_FIX1, 0, NULL, NULL},
    [R_LEVEL] = {"level", UP_COL_TEXT, "LEVEL", 9, UP_SHOW_PLAIN, UP_COL_LEFT, NULL, NULL},
    [R_TREND] = {"wau_trend", UP_COL_NUM, "WAU Δ", 6, UP_SHOW_SPCT0, 0, NULL, NULL},
    [R_ALERTS] = {"open_alerts", UP_COL_INT, "ALERTS", 6, UP_SHOW_PLAIN, 0, NULL, NULL},
    [R_PROB] = {"churn_probability", UP_COL_NUM, "P(CHURN)", 8, UP_SHOW_PCT1, 0, NULL, NULL},
    [R_ROWS] = {"probability_rows", UP_COL_INT, "FROM", 5, UP_SHOW_PLAIN, 0, NULL, NULL},
    [R_RISK] = {"arr_at_risk", UP_COL_NUM, "ARR AT RISK", 11, UP_SHOW_FIX0, 0, NULL, NULL},
};

typedef struct {
    int32_t day;
    const up_account_metrics_t *row;
} item_t;

static int cmp_item(const void *pa, const void *pb)
{
    const item_t *a = pa, *b = pb;
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    return strcmp(a->row->account->account_id, b->row->account->account_id);
}

int up_report_renewals(FILE *out, const up_view_t *v, int days, up_format_t format, char *err, size_t errlen)
{
    const up_portfolio_t *p = &v->portfolio;
    const up_entities_t *e = &v->entities;
    up_bt_calibration_t cal;
    int rc = up_backtest_calibration(v->store, up_engine_end_of_day(v->d0), days, &cal, err, errlen);
    if (rc < 0)
        return rc;
    item_t *items = calloc((size_t)p->n_rows + 1, sizeof *items);
    if (!items)
        return -UP_ENOMEM;
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->n_rows; i++) {
        int32_t day = up_engine_renewal_day(e, p->rows[i].account);
        if (day != UP_NO_DAY && day >= v->d0 && day <= v->d0 + days)
            items[n++] = (item_t){day, &p->rows[i]};
    }
    qsort(items, n, sizeof *items, cmp_item);
    up_table_t t;
    up_table_init(&t, COLS, R_N);
    t.json_key = "renewals";
    t.header = 1;
    t.utf8 = 1;
    up_time_fmt(t.json_as_of, v->T);
    double total_arr = 0, total_risk = 0;
    int64_t unknown = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        const up_account_metrics_t *row = items[i].row;
        const up_account_t *acc = row->account;
        int64_t alerts = 0, rows = 0;
        if ((rc = up_alerts_open_count(up_store_db(v->store), acc->account_id, &alerts)) < 0) {
            snprintf(err, errlen, "cannot read the alerts table: %s", sqlite3_errmsg(up_store_db(v->store)));
            break;
        }
        double prob = up_backtest_probability(&cal, row->health, &rows);
        double arr = isnan(row->arr) ? 0 : row->arr;
        double risk = isnan(prob) ? NAN : arr * prob;
        total_arr += arr;
        if (isnan(risk))
            unknown++;
        else
            total_risk += risk;
        if ((rc = up_table_row(&t)) < 0)
            break;
        up_table_ref(&t, R_ID, acc->account_id);
        up_table_ref(&t, R_NAME, acc->name);
        up_table_ref(&t, R_OWNER, acc->owner);
        up_table_date(&t, R_DATE, items[i].day);
        up_table_int(&t, R_DAYS, items[i].day - v->d0);
        up_table_num(&t, R_ARR, arr);
        up_table_num(&t, R_HEALTH, row->health);
        up_table_ref(&t, R_LEVEL, up_level_names[row->level]);
        up_table_num(&t, R_TREND, row->wau_trend);
        up_table_int(&t, R_ALERTS, alerts);
        up_table_num(&t, R_PROB, prob);
        up_table_int(&t, R_ROWS, rows);
        up_table_num(&t, R_RISK, risk);
    }
    char from[16], to[16], d0[16], title[256], footer[512];
    up_date_fmt(from, cal.from);
    up_date_fmt(to, cal.to);
    up_date_fmt(d0, v->d0);
    snprintf(t.json_tail, sizeof t.json_tail, ",\"days\":%d,\"total_arr\":", days);
    up_buf_t tail = {0};
    up_buf_puts(&tail, t.json_tail);
    up_fmt_json_num(&tail, total_arr);
    up_buf_puts(&tail, ",\"total_arr_at_risk\":");
    up_fmt_json_num(&tail, total_risk);
    up_buf_printf(&tail, ",\"unknown_probability\":%lld,\"calibration\":{\"from\":\"%s\",\"to\":\"%s\",\"horizon\":%d,"
                         "\"snapshots\":%u}", (long long)unknown, from, to, cal.horizon, cal.n_snaps);
    t.json_tail_long = tail.data;
    snprintf(title, sizeof title, "Renewals in the %d days from %s: %u account%s\n\n", days, d0, n, n == 1 ? "" : "s");
    t.title = title;
    t.empty = "No customer renews in that window.";
    snprintf(footer, sizeof footer,
             "\nTotal ARR renewing %.0f, at risk %.0f%s.\n"
             "P(CHURN): the churn rate within %d days of the account's health band in the backtest %s .. %s\n"
             "(%u month-end snapshot%s; FROM: the band's rows). ARR AT RISK = ARR x P(CHURN).\n",
             total_arr, total_risk, unknown ? " (some renewals have no probability: their band had no rows)" : "",
             cal.horizon, from, to, cal.n_snaps, cal.n_snaps == 1 ? "" : "s");
    t.footer = footer;
    if (rc == 0)
        rc = up_table_write(out, &t, format);
    if (rc < 0 && !err[0])
        snprintf(err, errlen, "%s", up_strerror(rc));
    up_buf_free(&tail);
    up_table_free(&t);
    free(items);
    return rc;
}
