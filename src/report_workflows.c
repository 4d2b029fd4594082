/* report_workflows: `uptake report workflows` in table, JSON and CSV from
 * engine_workflow's counts: per account and workflow, completions and the
 * users completing it in each of the last 12 weeks, the share of licensed
 * seats completing a core workflow each week, and the step funnel. */
#include "report_workflows.h"

#include "fmt.h"
#include "table.h"
#include "timeparse.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The account row of entities for a rollup account id (or an event-only one). */
static const up_account_t *account_of(const up_entities_t *e, const char *id, up_account_t *only_events)
{
    for (uint32_t i = 0; i < e->n_accounts; i++)
        if (!strcmp(e->accounts[i].account_id, id))
            return &e->accounts[i];
    memset(only_events, 0, sizeof *only_events);
    only_events->account_id = (char *)id;
    only_events->contract_start = only_events->renewal_date = only_events->churned_at = UP_NO_DAY;
    only_events->arr = NAN;
    return only_events;
}

static int cmp_rows(const void *a, const void *b, void *ctx)
{
    const up_rollup_t *r = ctx;
    const up_wf_row_t *x = a, *y = b;
    return strcmp(r->dict[UP_KIND_ACCOUNT].strs[x->account], r->dict[UP_KIND_ACCOUNT].strs[y->account]);
}

/* One account's weeks: the seats and the core seat share of each. */
typedef struct {
    const char *id;
    const up_account_t *acc;
    up_account_t only_events;
    const up_wf_row_t *row;
    int64_t seats[UP_WF_WEEKS];
    double share[UP_WF_WEEKS];
    char lo[UP_WF_WEEKS][16], hi[UP_WF_WEEKS][16];
} wf_account_t;

static void weeks_of(wf_account_t *a, const up_rollup_t *r, const up_entities_t *e, const up_wf_row_t *row,
                     int32_t d0, int64_t T)
{
    a->row = row;
    a->id = r->dict[UP_KIND_ACCOUNT].strs[row->account];
    a->acc = account_of(e, a->id, &a->only_events);
    for (int k = 0; k < UP_WF_WEEKS; k++) {
        int32_t end = d0 - 7 * (UP_WF_WEEKS - 1 - k);
        up_date_fmt(a->lo[k], end - 6);
        up_date_fmt(a->hi[k], end);
        a->seats[k] = up_engine_seats_at(e, a->acc, k == UP_WF_WEEKS - 1 ? T : up_engine_end_of_day(end));
        a->share[k] = a->seats[k] > 0 ? (double)row->core_users[k] / (double)a->seats[k] : NAN;
    }
}

enum { W_ACCOUNT, W_WORKFLOW, W_CORE, W_START, W_END, W_COMPLETIONS, W_USERS, W_SEATS, W_SHARE, W_N };
static const up_col_t WF_COLS[W_N] = {
    [W_ACCOUNT] = {"account_id", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [W_WORKFLOW] = {"workflow", UP_COL_TEXT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [W_CORE] = {"core", UP_COL_BOOL, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [W_START] = {"week_start", UP_COL_DATE, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [W_END] = {"week_end", UP_COL_DATE, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [W_COMPLETIONS] = {"completions", UP_COL_INT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [W_USERS] = {"users_completing", UP_COL_INT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [W_SEATS] = {"seats", UP_COL_INT, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
    [W_SHARE] = {"core_seat_share", UP_COL_NUM, NULL, 0, UP_SHOW_PLAIN, 0, NULL, NULL},
};

/* The flat rows: account × workflow × week. */
static void flat_rows(up_table_t *t, const up_model_t *m, const wf_account_t *a)
{
    for (size_t f = 0; f < m->n_workflows; f++)
        for (int k = 0; k < UP_WF_WEEKS && up_table_row(t) == 0; k++) {
            up_table_text(t, W_ACCOUNT, a->id);
            up_table_text(t, W_WORKFLOW, m->workflows[f].name);
            up_table_bool(t, W_CORE, m->workflows[f].core);
            up_table_text(t, W_START, a->lo[k]);
            up_table_text(t, W_END, a->hi[k]);
            up_table_int(t, W_COMPLETIONS, a->row->wf[f].completions[k]);
            up_table_int(t, W_USERS, a->row->wf[f].users[k]);
            up_table_int(t, W_SEATS, a->seats[k]);
            up_table_num(t, W_SHARE, a->share[k]);
        }
}

/* JSON: an account with its weeks and each workflow's counts and funnel. */
static void json_account(up_buf_t *b, const up_model_t *m, const wf_account_t *a, int first)
{
    up_buf_puts(b, first ? "\n{\"account_id\":" : ",\n{\"account_id\":");
    up_fmt_json_str(b, a->id);
    up_buf_puts(b, ",\"weeks\":[");
    for (int k = 0; k < UP_WF_WEEKS; k++) {
        up_buf_printf(b, "%s{\"week_start\":\"%s\",\"week_end\":\"%s\",\"seats\":%lld,\"core_users\":%lld,"
                         "\"core_seat_share\":", k ? "," : "", a->lo[k], a->hi[k], (long long)a->seats[k],
                      (long long)a->row->core_users[k]);
        up_fmt_json_num(b, a->share[k]);
        up_buf_puts(b, "}");
    }
    up_buf_puts(b, "],\"workflows\":[");
    for (size_t f = 0; f < m->n_workflows; f++) {
        const up_workflow_t *wf = &m->workflows[f];
        const up_wf_account_t *w = &a->row->wf[f];
        up_buf_puts(b, f ? ",{\"workflow\":" : "{\"workflow\":");
        up_fmt_json_str(b, wf->name);
        up_buf_printf(b, ",\"core\":%s,\"completions\":[", wf->core ? "true" : "false");
        for (int k = 0; k < UP_WF_WEEKS; k++)
            up_buf_printf(b, "%s%lld", k ? "," : "", (long long)w->completions[k]);
        up_buf_puts(b, "],\"users_completing\":[");
        for (int k = 0; k < UP_WF_WEEKS; k++)
            up_buf_printf(b, "%s%lld", k ? "," : "", (long long)w->users[k]);
        up_buf_puts(b, "],\"funnel\":[");
        for (size_t q = 0; q < wf->n_steps; q++) {
            up_buf_puts(b, q ? ",{\"step\":" : "{\"step\":");
            up_fmt_json_str(b, wf->steps[q]);
            up_buf_printf(b, ",\"users\":%lld,\"drop_off\":", (long long)w->funnel[q]);
            up_fmt_json_num(b, q && w->funnel[q - 1] ? 1.0 - (double)w->funnel[q] / (double)w->funnel[q - 1] : NAN);
            up_buf_puts(b, "}");
        }
        up_buf_puts(b, "]}");
    }
    up_buf_puts(b, "]}");
}

/* Text: an account's weekly core share, then a line per workflow. */
static void text_account(FILE *out, const up_model_t *m, const wf_account_t *a)
{
    fprintf(out, "%s %s\n  share of %lld seats completing a core workflow, weekly:", a->id,
            a->acc->name ? a->acc->name : "", (long long)a->seats[UP_WF_WEEKS - 1]);
    for (int k = 0; k < UP_WF_WEEKS; k++)
        isnan(a->share[k]) ? fprintf(out, " –") : fprintf(out, " %.0f%%", 100 * a->share[k]);
    fputc('\n', out);
    for (size_t f = 0; f < m->n_workflows; f++) {
        const up_workflow_t *wf = &m->workflows[f];
        const up_wf_account_t *w = &a->row->wf[f];
        int64_t last4 = 0;
        for (int k = UP_WF_WEEKS - 4; k < UP_WF_WEEKS; k++)
            last4 += w->completions[k];
        char label[64];
        snprintf(label, sizeof label, "%s%s", wf->name, wf->core ? " (core)" : "");
        fprintf(out, "  %-28.28s %lld completion%s in 4 weeks; users reaching each step in 28 days:", label,
                (long long)last4, last4 == 1 ? "" : "s");
        for (size_t q = 0; q < wf->n_steps; q++)
            fprintf(out, "%s %s %lld user%s", q ? " →" : "", wf->steps[q], (long long)w->funnel[q],
                    w->funnel[q] == 1 ? "" : "s");
        fputc('\n', out);
    }
}

int up_report_workflows(FILE *out, const up_rollup_t *r, const up_model_t *m, const up_entities_t *e,
                        up_workflows_t *w, int64_t T, up_format_t format)
{
    if (w->n_rows)   /* rows is NULL when there are none */
        qsort_r(w->rows, w->n_rows, sizeof *w->rows, cmp_rows, (void *)r);
    up_table_t t;   /* CSV: the flat rows */
    up_table_init(&t, WF_COLS, W_N);
    up_buf_t b = {0};   /* JSON: accounts with their weeks and workflows */
    up_time_fmt(t.json_as_of, T);
    up_buf_printf(&b, "{\"as_of\":\"%s\",\"accounts\":[", t.json_as_of);
    if (format == UP_FMT_TABLE && !m->n_workflows)
        fputs("The model has no workflows (model key `workflows`, docs/model.md).\n", out);
    else if (format == UP_FMT_TABLE && !w->n_rows)
        fputs("No workflow step events yet.\n", out);
    for (uint32_t i = 0; i < w->n_rows; i++) {
        wf_account_t a;
        weeks_of(&a, r, e, &w->rows[i], w->d0, T);
        if (format == UP_FMT_CSV)
            flat_rows(&t, m, &a);
        else if (format == UP_FMT_JSON)
            json_account(&b, m, &a, i == 0);
        else
            text_account(out, m, &a);
    }
    int rc = 0;
    if (format == UP_FMT_CSV)
        rc = up_table_write(out, &t, format);
    else if (format == UP_FMT_JSON) {
        up_buf_puts(&b, w->n_rows ? "\n]}\n" : "]}\n");
        fwrite(b.data, 1, b.len, out);
    }
    up_buf_free(&b);
    up_table_free(&t);
    return rc;
}
