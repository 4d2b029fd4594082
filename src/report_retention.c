/* report_retention: retention by cohort (see the header). Each customer at
 * D yields (group, churned, ARR at D, ARR at D + N); the groups are summed
 * in one pass over the accounts sorted by group. */
#include "report_retention.h"

#include "backtest.h"
#include "engine.h"
#include "table.h"
#include "timeparse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BY_LEVEL = -1, BY_SEGMENT = -2, BY_HEALTH_BAND = -3, BY_OWNER = -4, BY_START_MONTH = -5, BY_NONE = -100 };

static int by_code(const char *by)
{
    if (!by)
        return BY_NONE;
    if (!strcmp(by, "level"))
        return BY_LEVEL;
    if (!strcmp(by, "segment"))
        return BY_SEGMENT;
    if (!strcmp(by, "health_band"))
        return BY_HEALTH_BAND;
    if (!strcmp(by, "owner"))
        return BY_OWNER;
    if (!strcmp(by, "start_month"))
        return BY_START_MONTH;
    int m = up_metric_find(by, 0);
    return m >= 0 ? m : BY_NONE;
}

int up_report_retention_by_valid(const char *by)
{
    return by_code(by) != BY_NONE;
}

int up_report_retention_is_grid(const char *by)
{
    return by_code(by) == BY_START_MONTH;
}

int up_report_retention_needs_signals(const char *by)
{
    int m = by_code(by);
    return m >= 0 && (up_metric_info[m].uses & UP_MU_SIGNAL) != 0;
}

typedef struct {
    int rank;             /* groups sort by rank, then by label; null groups last */
    const char *label;    /* NULL: the null group */
    int churned;
    double arr_start, arr_end, kept;
} item_t;

static int cmp_item(const void *pa, const void *pb)
{
    const item_t *a = pa, *b = pb;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    if (!a->label || !b->label)
        return !a->label - !b->label;
    return strcmp(a->label, b->label);
}

static int cmp_double(const void *pa, const void *pb)
{
    double x = *(const double *)pa, y = *(const double *)pb;
    return (x > y) - (x < y);
}

static const char *const Q_LABELS[4] = {"Q1", "Q2", "Q3", "Q4"};
#define NULL_RANK 1000000

/* The quartile (1..4) of value among the n sorted non-null values: the
 * quartile of the first rank the value holds (ties share a quartile). */
static int quartile(const double *sorted, size_t n, double value)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sorted[mid] < value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (int)(4 * lo / n) + 1;
}

enum { C_GROUP, C_ACCOUNTS, C_CHURNED, C_LOGO, C_ARR_START, C_ARR_END, C_NRR, C_GRR, C_N };
static const up_col_t COLS[C_N] = {
    [C_GROUP] = {"group", UP_COL_TEXT, "GROUP", 14, UP_SHOW_PLAIN, UP_COL_CLIP, NULL, NULL},
    [C_ACCOUNTS] = {"accounts", UP_COL_INT, "ACCOUNTS", 8, UP_SHOW_PLAIN, 0, NULL, NULL},
    [C_CHURNED] = {"churned", UP_COL_INT, "CHURNED", 7, UP_SHOW_PLAIN, 0, NULL, NULL},
    [C_LOGO] = {"logo_retention", UP_COL_NUM, "LOGO RET", 8, UP_SHOW_PCT1, 0, NULL, NULL},
    [C_ARR_START] = {"arr_start", UP_COL_NUM, "ARR START", 12, UP_SHOW_FIX0, 0, NULL, NULL},
    [C_ARR_END] = {"arr_end", UP_COL_NUM, "ARR END", 12, UP_SHOW_FIX0, 0, NULL, NULL},
    [C_NRR] = {"nrr", UP_COL_NUM, "NRR", 7, UP_SHOW_PCT1, 0, NULL, NULL},
    [C_GRR] = {"grr", UP_COL_NUM, "GRR", 7, UP_SHOW_PCT1, 0, NULL, NULL},
};

static double zero_if_null(double v)
{
    return isnan(v) ? 0 : v;
}

int up_report_retention(FILE *out, const up_view_t *v, int horizon, const char *by, up_format_t format)
{
    const up_portfolio_t *p = &v->portfolio;
    const up_entities_t *e = &v->entities;
    int code = by_code(by);
    int64_t T0 = v->T, T1 = up_engine_end_of_day(v->d0 + horizon);
    item_t *items = calloc((size_t)p->n_rows + 1, sizeof *items);
    double *vals = malloc(((size_t)p->n_rows + 1) * sizeof *vals);
    if (!items || !vals) {
        free(items);
        free(vals);
        return -UP_ENOMEM;
    }
    size_t nv = 0;
    if (code >= 0) {
        for (uint32_t i = 0; i < p->n_rows; i++) {
            double x = up_engine_metric(&p->rows[i], code);
            if (!isnan(x))
                vals[nv++] = x;
        }
        qsort(vals, nv, sizeof *vals, cmp_double);
    }
    for (uint32_t i = 0; i < p->n_rows; i++) {
        const up_account_metrics_t *r = &p->rows[i];
        const up_account_t *acc = r->account;
        item_t *it = &items[i];
        switch (code) {
        case BY_LEVEL:
            it->rank = (int)r->level;
            it->label = up_level_names[r->level];
            break;
        case BY_SEGMENT:
        case BY_OWNER:
            it->label = code == BY_SEGMENT ? acc->segment : acc->owner;
            it->rank = it->label ? 0 : NULL_RANK;
            break;
        case BY_HEALTH_BAND:
            if (isnan(r->health)) {
                it->rank = NULL_RANK;
            } else {
                it->rank = up_backtest_band(r->health);
                it->label = up_bt_band_names[it->rank];
            }
            break;
        default: {
            double x = up_engine_metric(r, code);
            if (isnan(x))
                it->rank = NULL_RANK;
            else {
                it->rank = quartile(vals, nv, x);
                it->label = Q_LABELS[it->rank - 1];
            }
        }
        }
        it->churned = up_engine_churned_between(e, acc, T0, T1);
        it->arr_start = zero_if_null(up_engine_arr_at(e, acc, T0));
        it->arr_end = zero_if_null(up_engine_arr_at(e, acc, T1));
        it->kept = it->arr_end < it->arr_start ? it->arr_end : it->arr_start;
    }
    free(vals);
    qsort(items, p->n_rows, sizeof *items, cmp_item);
    up_table_t t;
    up_table_init(&t, COLS, C_N);
    t.json_key = "retention";
    t.header = 1;
    t.utf8 = 1;
    up_time_fmt(t.json_as_of, T0);
    char d1[16];
    up_date_fmt(d1, v->d0 + horizon);
    snprintf(t.json_tail, sizeof t.json_tail, ",\"horizon\":%d,\"until\":\"%s\"", horizon, d1);
    t.empty = "No customers at that date.";
    char title[160], d0[16];
    up_date_fmt(d0, v->d0);
    snprintf(title, sizeof title, "Retention of the customers at %s (end of day UTC) over %d days, to %s, by %s\n\n",
             d0, horizon, d1, by);
    t.title = title;
    t.footer = "\nchurned: a churn in (D, D + N days]. NRR: ARR at D + N / ARR at D. GRR: the same with each\n"
               "account's ARR capped at its ARR at D. ARR at a date is 0 for an account that is not a customer.\n";
    for (uint32_t i = 0; i < p->n_rows;) {
        uint32_t j = i;
        int64_t n = 0, churned = 0;
        double a0 = 0, a1 = 0, kept = 0;
        for (; j < p->n_rows && cmp_item(&items[i], &items[j]) == 0; j++) {
            n++;
            churned += items[j].churned;
            a0 += items[j].arr_start;
            a1 += items[j].arr_end;
            kept += items[j].kept;
        }
        if (up_table_row(&t) < 0)
            break;
        up_table_text(&t, C_GROUP, items[i].label ? items[i].label : "(none)");
        up_table_int(&t, C_ACCOUNTS, n);
        up_table_int(&t, C_CHURNED, churned);
        up_table_num(&t, C_LOGO, 1.0 - (double)churned / (double)n);
        up_table_num(&t, C_ARR_START, a0);
        up_table_num(&t, C_ARR_END, a1);
        up_table_num(&t, C_NRR, a0 != 0 ? a1 / a0 : NAN);
        up_table_num(&t, C_GRR, a0 != 0 ? kept / a0 : NAN);
        i = j;
    }
    int rc = up_table_write(out, &t, format);
    up_table_free(&t);
    free(items);
    return rc;
}

/* ---- the classic grid: cohorts by start month ------------------------------ */

/* The months after the cohort's month a column measures at, while the data
 * allows (the measuring month ends by D). */
static const int GRID_MONTHS[] = {3, 6, 12, 18, 24, 36, 48, 60, 84, 120};
enum { GRID_MAX = (int)(sizeof GRID_MONTHS / sizeof *GRID_MONTHS) };

/* months since year 0 of day */
static int month_index(int32_t day)
{
    int y;
    unsigned m, d;
    up_civil_from_days(day, &y, &m, &d);
    return y * 12 + (int)m - 1;
}

/* The last day of month index mi. */
static int32_t month_end(int mi)
{
    int y = (mi + 1) / 12;
    unsigned m = (unsigned)((mi + 1) % 12) + 1;
    return up_days_from_civil(y, m, 1) - 1;
}

typedef struct {
    int month;            /* month index of the account's first start */
    const up_account_t *acc;
} cohort_item_t;

static int cmp_cohort(const void *pa, const void *pb)
{
    const cohort_item_t *a = pa, *b = pb;
    return (a->month > b->month) - (a->month < b->month);
}

int up_report_retention_grid(FILE *out, const up_view_t *v, up_format_t format)
{
    const up_entities_t *e = &v->entities;
    int d_month = month_index(v->d0);
    /* a month counts when its last day is on or before D */
    int last_full = month_end(d_month) == v->d0 ? d_month : d_month - 1;
    cohort_item_t *items = calloc((size_t)e->n_accounts + 1, sizeof *items);
    if (!items)
        return -UP_ENOMEM;
    uint32_t n = 0;
    for (uint32_t i = 0; i < e->n_accounts; i++) {
        up_lifecycle_event_t *lc;
        uint32_t nlc;
        if (up_engine_lifecycle(e, &e->accounts[i], &lc, &nlc) < 0) {
            free(items);
            return -UP_ENOMEM;
        }
        for (uint32_t k = 0; k < nlc; k++)
            if (!lc[k].churn) {   /* the first start */
                if (lc[k].ts <= v->T)
                    items[n++] = (cohort_item_t){month_index(up_day_of(lc[k].ts)), &e->accounts[i]};
                break;
            }
        free(lc);
    }
    qsort(items, n, sizeof *items, cmp_cohort);
    int ncols = 0;   /* the columns some cohort can fill */
    while (ncols < GRID_MAX && n && items[0].month + GRID_MONTHS[ncols] <= last_full)
        ncols++;
    if (ncols == 0)
        ncols = 1;   /* month 3, even when no cohort has reached it yet */
    up_col_t cols[3 + 2 * GRID_MAX];
    char names[2 * GRID_MAX][24], heads[2 * GRID_MAX][24];
    cols[0] = (up_col_t){"group", UP_COL_TEXT, "START", 8, UP_SHOW_PLAIN, 0, NULL, NULL};
    cols[1] = (up_col_t){"accounts", UP_COL_INT, "ACCOUNTS", 8, UP_SHOW_PLAIN, 0, NULL, NULL};
    cols[2] = (up_col_t){"arr_start", UP_COL_NUM, "ARR START", 12, UP_SHOW_FIX0, 0, NULL, NULL};
    for (int c = 0; c < ncols; c++) {
        snprintf(names[2 * c], sizeof names[0], "logo_m%d", GRID_MONTHS[c]);
        snprintf(names[2 * c + 1], sizeof names[0], "nrr_m%d", GRID_MONTHS[c]);
        snprintf(heads[2 * c], sizeof heads[0], "LOGO M%d", GRID_MONTHS[c]);
        snprintf(heads[2 * c + 1], sizeof heads[0], "NRR M%d", GRID_MONTHS[c]);
        cols[3 + 2 * c] = (up_col_t){names[2 * c], UP_COL_NUM, heads[2 * c], 8, UP_SHOW_PCT1, 0, NULL, NULL};
        cols[4 + 2 * c] = (up_col_t){names[2 * c + 1], UP_COL_NUM, heads[2 * c + 1], 8, UP_SHOW_PCT1, 0, NULL, NULL};
    }
    up_table_t t;
    up_table_init(&t, cols, (size_t)(3 + 2 * ncols));
    t.json_key = "retention";
    t.header = 1;
    t.utf8 = 1;
    up_time_fmt(t.json_as_of, v->T);
    t.empty = "No account has started by that date.";
    char title[160], d0[16];
    up_date_fmt(d0, v->d0);
    snprintf(title, sizeof title, "Retention by start month, as of %s: accounts by the month of their first start\n\n",
             d0);
    t.title = title;
    t.footer = "\nLOGO Mm: the cohort's accounts that are customers at the end of its month + m / its accounts.\n"
               "NRR Mm: their ARR then / their ARR at the end of the start month. Empty: not reached by that date.\n";
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i;
        while (j < n && items[j].month == items[i].month)
            j++;
        int32_t start_end = month_end(items[i].month);
        double a0 = 0;
        for (uint32_t k = i; k < j; k++)
            a0 += zero_if_null(up_engine_arr_at(e, items[k].acc, up_engine_end_of_day(start_end)));
        if (up_table_row(&t) < 0)
            break;
        up_table_textf(&t, 0, "%04d-%02d", items[i].month / 12, items[i].month % 12 + 1);
        up_table_int(&t, 1, j - i);
        up_table_num(&t, 2, a0);
        for (int c = 0; c < ncols; c++) {
            int mi = items[i].month + GRID_MONTHS[c];
            if (mi > last_full)
                continue;   /* not reached: null */
            int64_t T1 = up_engine_end_of_day(month_end(mi));
            int64_t kept = 0;
            double a1 = 0;
            for (uint32_t k = i; k < j; k++) {
                kept += up_engine_status_at(e, items[k].acc, T1) == UP_STATUS_CUSTOMER;
                a1 += zero_if_null(up_engine_arr_at(e, items[k].acc, T1));
            }
            up_table_num(&t, (size_t)(3 + 2 * c), (double)kept / (double)(j - i));
            up_table_num(&t, (size_t)(4 + 2 * c), a0 != 0 ? a1 / a0 : NAN);
        }
        i = j;
    }
    int rc = up_table_write(out, &t, format);
    up_table_free(&t);
    free(items);
    return rc;
}
