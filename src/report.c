/* report: rendering of the portfolio. One column table drives CSV, JSON and
 * --sort, so a column has one name and one value everywhere. */
#include "report.h"
#include "fmt.h"
#include "table.h"
#include "timeparse.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>


/* ---- column table ------------------------------------------------------ */

typedef enum { T_STR, T_INT, T_NUM, T_BOOL, T_LEVEL, T_STATUS } ctype_t;

typedef struct {
    const char *name;
    ctype_t type;
    int metric;   /* UP_M_*, or -1 for account_id */
    int shown;    /* a column of the report (UP_MU_COL); the others are skipped */
} col_t;

#define T_OF_COUNT T_INT
#define T_OF_DAYS T_INT
#define T_OF_RATIO T_NUM
#define T_OF_SCORE T_NUM
#define T_OF_AMOUNT T_NUM
#define T_OF_BOOL T_BOOL
#define T_OF_LEVEL T_LEVEL
#define T_OF_STATUS T_STATUS
/* account_id, then every catalog metric; those used as columns are shown */
static const col_t COLS[] = {
    {"account_id", T_STR, -1, 1},
#define COL_(ID, name, kind, uses, meaning) {#name, T_OF_##kind, UP_M_##ID, ((uses) & UP_MU_COL) != 0},
    UP_METRICS(COL_)
#undef COL_
};
#define NCOLS (sizeof COLS / sizeof *COLS)

/* Extra sortable columns (not in the CSV). */
static const char *const EXTRA_SORT[] = {"name", "segment", "owner", "arr"};

typedef struct {
    int null;
    const char *s;
    int64_t i;
    double d;
} cell_t;

static cell_t cell(const up_account_metrics_t *r, size_t c)
{
    cell_t v = {0, NULL, 0, 0};
    if (COLS[c].metric < 0) {
        v.s = r->account->account_id;
        return v;
    }
    double d = up_engine_metric(r, COLS[c].metric);
    v.null = isnan(d);
    v.d = d;
    v.i = v.null ? 0 : (int64_t)d;
    if (COLS[c].type == T_LEVEL)
        v.s = up_level_names[r->level];
    if (COLS[c].type == T_STATUS)
        v.s = up_status_names[r->status];
    return v;
}

static void cell_text(char *out, size_t n, const cell_t *v, ctype_t t)
{
    if (v->null) {
        out[0] = '\0';
        return;
    }
    switch (t) {
    case T_STR: snprintf(out, n, "%s", v->s); break;
    case T_INT: snprintf(out, n, "%lld", (long long)v->i); break;
    case T_NUM: up_fmt_double(out, n, v->d); break;
    case T_BOOL: snprintf(out, n, "%s", v->i ? "true" : "false"); break;
    case T_LEVEL:
    case T_STATUS: snprintf(out, n, "%s", v->s); break;
    }
}

int up_report_sort_valid(const char *sort)
{
    if (!sort)
        return 0;
    if (*sort == '-')
        sort++;
    for (size_t c = 0; c < NCOLS; c++)
        if (COLS[c].shown && strcmp(COLS[c].name, sort) == 0)
            return 0;
    for (size_t i = 0; i < sizeof EXTRA_SORT / sizeof *EXTRA_SORT; i++)
        if (strcmp(EXTRA_SORT[i], sort) == 0)
            return 0;
    return -UP_EUSAGE;
}

/* Sorting: nulls last in either direction, ties by account_id. */
static const char *sort_col;
static int sort_desc;

static int sort_key(const up_account_metrics_t *r, cell_t *v, ctype_t *t)
{
    for (size_t c = 0; c < NCOLS; c++)
        if (COLS[c].shown && strcmp(COLS[c].name, sort_col) == 0) {
            *v = cell(r, c);
            *t = COLS[c].type;
            return 0;
        }
    memset(v, 0, sizeof *v);
    *t = T_STR;
    if (strcmp(sort_col, "name") == 0)
        v->s = r->account->name;
    else if (strcmp(sort_col, "segment") == 0)
        v->s = r->account->segment;
    else if (strcmp(sort_col, "owner") == 0)
        v->s = r->account->owner;
    else {
        *t = T_NUM;
        v->d = r->account->arr;
        v->null = isnan(v->d);
    }
    if (*t == T_STR && !v->s)
        v->null = 1;
    return 0;
}

static int cmp_rows(const void *pa, const void *pb)
{
    const up_account_metrics_t *a = *(const up_account_metrics_t *const *)pa;
    const up_account_metrics_t *b = *(const up_account_metrics_t *const *)pb;
    cell_t x, y;
    ctype_t t;
    sort_key(a, &x, &t);
    sort_key(b, &y, &t);
    int r = 0;
    if (x.null || y.null)
        r = x.null && y.null ? 0 : x.null ? 1 : -1;
    else {
        if (t == T_STR)
            r = strcmp(x.s, y.s);
        else if (t == T_NUM)
            r = x.d < y.d ? -1 : x.d > y.d ? 1 : 0;
        else
            r = x.i < y.i ? -1 : x.i > y.i ? 1 : 0;
        if (sort_desc)
            r = -r;
    }
    if (r == 0)
        r = strcmp(a->account->account_id, b->account->account_id);
    return r;
}

/* The selected rows in output order (caller frees the array). */
static const up_account_metrics_t **select_rows(const up_portfolio_t *p, const up_report_opts_t *o, uint32_t *n)
{
    const up_account_metrics_t **rows = malloc((p->n_rows + 1) * sizeof *rows);
    if (!rows)
        return NULL;
    *n = 0;
    for (uint32_t i = 0; i < p->n_rows; i++) {
        const up_account_metrics_t *r = &p->rows[i];
        if (o->account && strcmp(r->account->account_id, o->account) != 0)
            continue;
        if (o->segment && (!r->account->segment || strcmp(r->account->segment, o->segment) != 0))
            continue;
        rows[(*n)++] = r;
    }
    if (o->sort) {
        sort_desc = o->sort[0] == '-';
        sort_col = o->sort + sort_desc;
        qsort(rows, *n, sizeof *rows, cmp_rows);
    }
    return rows;
}

/* ---- table helpers ----------------------------------------------------- */

/* Display width of UTF-8 text (code points; good enough for the dash). */
static void pad(FILE *out, const char *s, int width, int right)
{
    int w = up_table_utf8_width(s);
    if (right)
        for (int i = w; i < width; i++)
            fputc(' ', out);
    fputs(s, out);
    if (!right)
        for (int i = w; i < width; i++)
            fputc(' ', out);
}

#define DASH "\xe2\x80\x93"

static void pct(char *t, size_t n, double v, int decimals)
{
    if (isnan(v))
        snprintf(t, n, DASH);
    else
        snprintf(t, n, "%.*f%%", decimals, 100 * v);
}

static void table_accounts(FILE *out, const up_portfolio_t *p, const up_account_metrics_t **rows,
                           uint32_t n, const up_report_opts_t *o)
{
    static const char *const hdr[] = {"ACCOUNT", "SEATS", "ACTIVE", "BREADTH", "DEPTH", "STICKY",
                                      "WAU Δ", "TTFV", "ACTIV", "CHAMP", "NPS", "HEALTH", "LEVEL"};
    static const int width[] = {18, 6, 6, 7, 5, 6, 6, 5, 5, 5, 4, 6, 9};
    /* "end of day" only when T is the last ms of its day (--as-of DATE);
     * any other T (a timestamp, or now) is shown as itself */
    char as_of[48];
    if (p->T == up_engine_end_of_day(up_day_of(p->T))) {
        up_date_fmt(as_of, up_day_of(p->T));
        strcat(as_of, " (end of day UTC)");
    } else
        up_time_fmt(as_of, p->T);
    fprintf(out, "Portfolio as of %s: %u account%s\n\n", as_of, n, n == 1 ? "" : "s");
    for (size_t c = 0; c < 13; c++) {
        if (c == 12)
            fprintf(out, "%s\n", hdr[c]);
        else {
            pad(out, hdr[c], width[c], c > 0);
            fputc(' ', out);
        }
    }
    int nulls = 0;
    for (uint32_t i = 0; i < n; i++) {
        const up_account_metrics_t *r = rows[i];
        char t[13][64], label[128];
        /* an account that is not a customer (listed with --status) says so first */
        snprintf(label, sizeof label, "%s%s%s%s%s", r->account->account_id,
                 r->status != UP_STATUS_CUSTOMER ? " [" : "", r->status != UP_STATUS_CUSTOMER ? up_status_names[r->status] : "",
                 r->status != UP_STATUS_CUSTOMER ? "]" : "", r->account->name ? " " : "");
        snprintf(label + strlen(label), sizeof label - strlen(label), "%s", r->account->name ? r->account->name : "");
        up_table_clip(t[0], sizeof t[0], label, width[0]);
        snprintf(t[1], 64, "%lld", (long long)r->seats);
        snprintf(t[2], 64, "%lld", (long long)r->active_users);
        pct(t[3], 64, r->breadth, 0);
        pct(t[4], 64, r->depth, 0);
        pct(t[5], 64, r->stickiness, 0);
        if (isnan(r->wau_trend))
            snprintf(t[6], 64, DASH);
        else
            snprintf(t[6], 64, "%+.0f%%", 100 * r->wau_trend);
        if (r->ttfv_days == INT64_MIN)
            snprintf(t[7], 64, DASH);
        else
            snprintf(t[7], 64, "%lldd", (long long)r->ttfv_days);
        pct(t[8], 64, r->activation_rate, 0);
        snprintf(t[9], 64, "%s", r->champion_active < 0 ? DASH : r->champion_active ? "yes" : "no");
        if (isnan(r->nps))
            snprintf(t[10], 64, DASH);
        else
            snprintf(t[10], 64, "%.0f", r->nps);
        if (isnan(r->health))
            snprintf(t[11], 64, DASH);
        else
            snprintf(t[11], 64, "%.1f", r->health);
        snprintf(t[12], 64, "%s", up_level_names[r->level]);
        for (size_t c = 0; c < 13; c++) {
            if (c == 12)
                fprintf(out, "%s\n", t[c]);
            else {
                pad(out, t[c], width[c], c > 0);
                fputc(' ', out);
            }
        }
        for (int m = 0; m < UP_M_N; m++)
            nulls += r->why_null[m] != NULL;
    }
    fprintf(out, "\nACTIVE: users active in the last 28 days. BREADTH: active / seats. DEPTH: core features\n"
                 "used. STICKY: average DAU / MAU. WAU Δ: this week vs last. TTFV: days from contract to\n"
                 "first key action. ACTIV: new users with a key action in 14 days. CHAMP: every champion\n"
                 "active in 14 days. HEALTH: 0-100 (--format json has its parts). LEVEL: low / high /\n"
                 "effective (breadth and depth at their thresholds, and outcomes on track).\n");
    if (nulls && !o->explain)
        fprintf(out, "%s = no value; add --explain to see why.\n", DASH);
    if (o->explain && nulls) {
        fprintf(out, "\nWhy some values are %s:\n", DASH);
        for (uint32_t i = 0; i < n; i++)
            for (int m = 0; m < UP_M_N; m++)
                if (rows[i]->why_null[m])
                    fprintf(out, "  %s %s: %s\n", rows[i]->account->account_id, up_metric_info[m].name,
                            rows[i]->why_null[m]);
    }
}

/* The health components of a row as a JSON array, and why its nulls are
 * null as a JSON object, into b (reset first). */
static void json_components(up_buf_t *b, const up_account_metrics_t *r)
{
    up_buf_reset(b);
    up_buf_puts(b, "[");
    for (int h = 0; h < UP_H_N; h++) {
        const up_health_part_t *hp = &r->parts[h];
        up_buf_printf(b, "%s{\"name\":\"%s\",\"score\":", h ? "," : "", up_health_names[h]);
        up_fmt_json_num(b, hp->score);
        up_buf_puts(b, ",\"weight\":");
        up_fmt_json_num(b, hp->weight);
        up_buf_puts(b, ",\"rescaled_weight\":");
        up_fmt_json_num(b, isnan(hp->score) ? NAN : hp->rescaled);
        up_buf_puts(b, ",\"contribution\":");
        up_fmt_json_num(b, isnan(hp->score) ? NAN : hp->contribution);
        up_buf_puts(b, "}");
    }
    up_buf_puts(b, "]");
}

static void json_null_reasons(up_buf_t *b, const up_account_metrics_t *r)
{
    up_buf_reset(b);
    up_buf_puts(b, "{");
    for (int m = 0, first = 1; m < UP_M_N; m++) {
        if (!r->why_null[m])
            continue;
        up_buf_printf(b, "%s\"%s\":", first ? "" : ",", up_metric_info[m].name);
        up_fmt_json_str(b, r->why_null[m]);
        first = 0;
    }
    up_buf_puts(b, "}");
}

/* The account fields after the metrics (CSV: name, segment, owner, arr,
 * renewal_date; JSON: all), then the explanations (JSON only). */
enum { X_NAME, X_SEGMENT, X_OWNER, X_ARR, X_START, X_RENEWAL, X_CHURNED, X_COMPONENTS, X_NULLS, X_N };
static const up_col_t EXTRA_COLS[X_N] = {
    [X_NAME] = {"name", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, UP_COL_NOCSV, NULL, NULL},
    [X_SEGMENT] = {"segment", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, UP_COL_NOCSV, NULL, NULL},
    [X_OWNER] = {"owner", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, UP_COL_NOCSV, NULL, NULL},
    [X_ARR] = {"arr", UP_COL_NUM, NULL, 0, UP_SHOW_PLAIN, UP_COL_NOCSV, NULL, NULL},
    [X_START] = {"contract_start", UP_COL_DATE, NULL, 0, UP_SHOW_PLAIN, UP_COL_NOCSV, NULL, NULL},
    [X_RENEWAL] = {"renewal_date", UP_COL_DATE, NULL, 0, UP_SHOW_PLAIN, UP_COL_NOCSV, NULL, NULL},
    [X_CHURNED] = {"churned_at", UP_COL_DATE, NULL, 0, UP_SHOW_PLAIN, UP_COL_NOCSV, NULL, NULL},
    [X_COMPONENTS] = {"health_components", UP_COL_JSON, NULL, 0, UP_SHOW_PLAIN, UP_COL_NOCSV, NULL, NULL},
    [X_NULLS] = {"null_reasons", UP_COL_JSON, NULL, 0, UP_SHOW_PLAIN, UP_COL_NOCSV, NULL, NULL},
};

/* The number cells of rows [first, end), formatted into text (CELL bytes a
 * cell, NCOLS a row): the shortest round-trip digits cost most of writing a
 * portfolio, so two threads format them before the rows are written. */
#define CELL 32
typedef struct {
    const up_account_metrics_t **rows;
    uint32_t first, end;
    char *text;
} cells_t;

static void *format_cells(void *arg)
{
    cells_t *w = arg;
    for (uint32_t i = w->first; i < w->end; i++)
        for (size_t c = 0; c < NCOLS; c++) {
            if (!COLS[c].shown || COLS[c].type == T_STR || COLS[c].type == T_LEVEL || COLS[c].type == T_STATUS)
                continue;
            cell_t v = cell(w->rows[i], c);
            cell_text(w->text + ((size_t)i * NCOLS + c) * CELL, CELL, &v, COLS[c].type);
        }
    return NULL;
}

/* Every number cell of the n rows as text, on two threads when there are
 * enough rows; NULL when out of memory (the caller formats as it writes). */
static char *format_all_cells(const up_account_metrics_t **rows, uint32_t n)
{
    char *text = n >= 1024 ? malloc((size_t)n * NCOLS * CELL) : NULL;
    if (!text)
        return NULL;
    up_prefault(text, (size_t)n * NCOLS * CELL);
    cells_t w[2] = {{rows, 0, n / 2, text}, {rows, n / 2, n, text}};
    pthread_t tid;
    int threaded = pthread_create(&tid, NULL, format_cells, &w[1]) == 0;
    format_cells(&w[0]);
    if (threaded)
        pthread_join(tid, NULL);
    else
        format_cells(&w[1]);
    return text;
}

/* CSV and JSON of `report accounts`: one table, its columns the catalog's
 * (COLS), then the account's fields (CSV: five of them) and, in JSON unless
 * compact, the health components and the null reasons. */
static int write_accounts(FILE *out, const up_portfolio_t *p, const up_account_metrics_t **rows, uint32_t n,
                          const up_report_opts_t *o)
{
    static const up_col_kind_t KIND[T_STATUS + 1] = {[T_STR] = UP_COL_TEXT, [T_INT] = UP_COL_INT, [T_NUM] = UP_COL_NUM,
                                         [T_BOOL] = UP_COL_BOOL, [T_LEVEL] = UP_COL_TEXT, [T_STATUS] = UP_COL_TEXT};
    up_col_t cols[NCOLS + X_N];
    size_t col_of[NCOLS], nc = 0;
    for (size_t c = 0; c < NCOLS; c++)
        if (COLS[c].shown) {
            col_of[c] = nc;
            cols[nc++] = (up_col_t){COLS[c].name, KIND[COLS[c].type], NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL};
        }
    int json = o->format == UP_FMT_JSON;   /* the explanations are JSON's only */
    size_t xcol[X_N];                      /* each account field's column, or SIZE_MAX: not written */
    for (int x = 0; x < X_N; x++)
        xcol[x] = SIZE_MAX;
    for (int x = 0; x < (o->compact ? X_COMPONENTS : X_N); x++)   /* compact: the dashboard's portfolio */
        if (json || x == X_NAME || x == X_SEGMENT || x == X_OWNER || x == X_ARR || x == X_RENEWAL) {
            /* CSV carries name, segment, owner, arr and renewal_date, for a spreadsheet */
            xcol[x] = nc;
            cols[nc] = EXTRA_COLS[x];
            cols[nc++].flags &= ~(unsigned)UP_COL_NOCSV;
        }
    up_table_t t;
    up_table_init(&t, cols, nc);
    t.json_key = "accounts";
    up_time_fmt(t.json_as_of, p->T);
    up_table_stream(&t, out, o->format);
    up_buf_t b = {0};
    char s[64];
    char *text = format_all_cells(rows, n);
    for (uint32_t i = 0; i < n && up_table_row(&t) == 0; i++) {
        const up_account_metrics_t *r = rows[i];
        for (size_t c = 0; c < NCOLS; c++) {
            if (!COLS[c].shown)
                continue;
            cell_t v = cell(r, c);
            if (v.null)
                continue;
            if (COLS[c].type == T_STR || COLS[c].type == T_LEVEL || COLS[c].type == T_STATUS)
                up_table_text(&t, col_of[c], v.s);
            else if (text)
                up_table_text(&t, col_of[c], text + ((size_t)i * NCOLS + c) * CELL);
            else {
                cell_text(s, sizeof s, &v, COLS[c].type);
                up_table_text(&t, col_of[c], s);
            }
        }
        const up_account_t *a = r->account;
        if (xcol[X_NAME] != SIZE_MAX) {
            up_table_text(&t, xcol[X_NAME], a->name);
            up_table_text(&t, xcol[X_SEGMENT], a->segment);
            up_table_text(&t, xcol[X_OWNER], a->owner);
            up_table_num(&t, xcol[X_ARR], a->arr);
            up_table_date(&t, xcol[X_RENEWAL], a->renewal_date);
        }
        if (!json)
            continue;
        up_table_date(&t, xcol[X_START], a->contract_start);
        up_table_date(&t, xcol[X_CHURNED], a->churned_at);
        if (o->compact)
            continue;
        json_components(&b, r);
        up_table_text(&t, xcol[X_COMPONENTS], b.data);
        json_null_reasons(&b, r);
        up_table_text(&t, xcol[X_NULLS], b.data);
    }
    up_buf_free(&b);
    free(text);
    int rc = up_table_end(&t, out, o->format);
    up_table_free(&t);
    return rc;
}

int up_report_accounts(FILE *out, const up_portfolio_t *p, const up_report_opts_t *o)
{
    uint32_t n;
    const up_account_metrics_t **rows = select_rows(p, o, &n);
    if (!rows)
        return -UP_ENOMEM;
    if (o->account && n == 0) {
        free(rows);
        return -UP_ENOTFOUND;
    }
    int rc = 0;
    if (o->format == UP_FMT_CSV || o->format == UP_FMT_JSON)
        rc = write_accounts(out, p, rows, n, o);
    else
        table_accounts(out, p, rows, n, o);
    free(rows);
    return rc;
}

/* ---- report features ---------------------------------------------------- */

enum { F_ACCOUNT, F_FEATURE, F_CORE, F_USERS, F_ACTIVE, F_ADOPTION, F_N };
static const up_col_t FEATURE_COLS[F_N] = {
    [F_ACCOUNT] = {"account_id", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [F_FEATURE] = {"feature", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [F_CORE] = {"core", UP_COL_BOOL, NULL, 0, UP_SHOW_PLAIN, UP_COL_NOCSV, NULL, NULL},
    [F_USERS] = {"users", UP_COL_INT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [F_ACTIVE] = {"active_users", UP_COL_INT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [F_ADOPTION] = {"feature_adoption", UP_COL_NUM, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
};

/* The summary: one row per feature across the selected accounts. */
enum { S_FEATURE, S_CORE, S_ACCOUNTS, S_USERS, S_ACTIVE, S_ADOPTION, S_N };
static const up_col_t SUMMARY_COLS[S_N] = {
    [S_FEATURE] = {"feature", UP_COL_TEXT, "FEATURE", 24, UP_SHOW_PLAIN, UP_COL_CLIP, NULL, NULL},
    [S_CORE] = {"core", UP_COL_BOOL, "CORE", 4, UP_SHOW_YESNO, UP_COL_LEFT, NULL, NULL},
    [S_ACCOUNTS] = {"accounts", UP_COL_INT, "ACCOUNTS", 9, UP_SHOW_PLAIN, 0, NULL, NULL},
    [S_USERS] = {"users", UP_COL_INT, "USERS", 9, UP_SHOW_PLAIN, 0, NULL, NULL},
    [S_ACTIVE] = {"active_users", UP_COL_INT, "ACTIVE", 9, UP_SHOW_PLAIN, 0, NULL, NULL},
    [S_ADOPTION] = {"adoption", UP_COL_NUM, "ADOPTION", 9, UP_SHOW_PCT1, 0, NULL, NULL},
};

/* One row per selected account × feature. */
static void feature_rows(up_table_t *t, const up_model_t *m, const up_account_metrics_t **rows, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        for (size_t f = 0; f < m->n_features; f++) {
            if (up_table_row(t) < 0)
                return;
            up_table_text(t, F_ACCOUNT, rows[i]->account->account_id);
            up_table_text(t, F_FEATURE, m->features[f].name);
            up_table_bool(t, F_CORE, m->features[f].core);
            up_table_int(t, F_USERS, rows[i]->feature_users[f]);
            up_table_int(t, F_ACTIVE, rows[i]->active_users);
            up_table_num(t, F_ADOPTION, rows[i]->feature_adoption[f]);
        }
}

static void summary_rows(up_table_t *t, const up_model_t *m, const up_account_metrics_t **rows, uint32_t n)
{
    int64_t active = 0;
    for (uint32_t i = 0; i < n; i++)
        active += rows[i]->active_users;
    for (size_t f = 0; f < m->n_features; f++) {
        int64_t users = 0, accounts = 0;
        for (uint32_t i = 0; i < n; i++) {
            users += rows[i]->feature_users[f];
            accounts += rows[i]->feature_users[f] > 0;
        }
        if (up_table_row(t) < 0)
            return;
        up_table_text(t, S_FEATURE, m->features[f].name);
        up_table_bool(t, S_CORE, m->features[f].core);
        up_table_int(t, S_ACCOUNTS, accounts);
        up_table_int(t, S_USERS, users);
        up_table_int(t, S_ACTIVE, active);
        up_table_num(t, S_ADOPTION, active ? (double)users / (double)active : NAN);
    }
}

int up_report_features(FILE *out, const up_portfolio_t *p, const up_report_opts_t *o)
{
    uint32_t n;
    const up_account_metrics_t **rows = select_rows(p, o, &n);
    if (!rows)
        return -UP_ENOMEM;
    if (o->account && n == 0) {
        free(rows);
        return -UP_ENOTFOUND;
    }
    /* the text table summarises each feature; CSV and JSON have every account */
    int summary = o->format == UP_FMT_TABLE;
    up_table_t t;
    up_table_init(&t, summary ? SUMMARY_COLS : FEATURE_COLS, summary ? S_N : F_N);
    t.json_key = "features";
    up_time_fmt(t.json_as_of, p->T);
    t.header = t.utf8 = 1;
    char day[16], title[160], footer[200];
    up_date_fmt(day, p->d0);
    snprintf(title, sizeof title, "Feature adoption as of %s over %u account%s (users in the last 28 days)\n\n", day,
             n, n == 1 ? "" : "s");
    snprintf(footer, sizeof footer, "\nACCOUNTS = accounts where someone used it; ADOPTION = USERS / ACTIVE users of"
             " those %u accounts.\nPer account: --format csv or json.\n", n);
    t.title = title;
    t.footer = footer;
    if (summary)
        summary_rows(&t, p->model, rows, n);
    else {
        up_table_stream(&t, out, o->format);   /* accounts × features rows */
        feature_rows(&t, p->model, rows, n);
    }
    int rc = up_table_end(&t, out, o->format);
    up_table_free(&t);
    free(rows);
    return rc;
}
