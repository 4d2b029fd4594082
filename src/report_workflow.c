/* report_workflow: `uptake report workflows` in table, JSON and CSV from
 * engine_workflow's counts: per account and workflow, completions and the
 * users completing it in each of the last 12 weeks, the share of licensed
 * seats completing a core workflow each week, and the step funnel. */
#include "report_workflow.h"

#include "fmt.h"
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

int up_report_workflows(FILE *out, const up_rollup_t *r, const up_model_t *m, const up_entities_t *e,
                        up_workflows_t *w, int64_t T, up_format_t format)
{
    qsort_r(w->rows, w->n_rows, sizeof *w->rows, cmp_rows, (void *)r);
    int32_t d0 = w->d0;
    up_buf_t b = {0};
    if (format == UP_FMT_CSV)
        fputs("account_id,workflow,core,week_start,week_end,completions,users_completing,seats,core_seat_share\n", out);
    else if (format == UP_FMT_JSON) {
        char when[40];
        up_fmt_time(when, T);
        up_buf_printf(&b, "{\"as_of\":\"%s\",\"accounts\":[", when);
    } else if (!m->n_workflows)
        fputs("The model has no workflows (model key `workflows`, docs/model.md).\n", out);
    else if (!w->n_rows)
        fputs("No workflow step events yet.\n", out);
    for (uint32_t i = 0; i < w->n_rows; i++) {
        const up_wf_row_t *row = &w->rows[i];
        const char *id = r->dict[UP_KIND_ACCOUNT].strs[row->account];
        up_account_t tmp;
        const up_account_t *acc = account_of(e, id, &tmp);
        int64_t seats[UP_WF_WEEKS];
        double share[UP_WF_WEEKS];
        char lo[UP_WF_WEEKS][16], hi[UP_WF_WEEKS][16];
        for (int k = 0; k < UP_WF_WEEKS; k++) {
            int32_t end = d0 - 7 * (UP_WF_WEEKS - 1 - k);
            up_fmt_date(lo[k], end - 6);
            up_fmt_date(hi[k], end);
            seats[k] = up_engine_seats_at(e, acc, k == UP_WF_WEEKS - 1 ? T : up_engine_end_of_day(end));
            share[k] = seats[k] > 0 ? (double)row->core_users[k] / (double)seats[k] : NAN;
        }
        if (format == UP_FMT_JSON) {
            up_buf_puts(&b, i ? ",\n{\"account_id\":" : "\n{\"account_id\":");
            up_fmt_json_str(&b, id);
            up_buf_puts(&b, ",\"weeks\":[");
            for (int k = 0; k < UP_WF_WEEKS; k++) {
                up_buf_printf(&b, "%s{\"week_start\":\"%s\",\"week_end\":\"%s\",\"seats\":%lld,\"core_users\":%lld,"
                                  "\"core_seat_share\":", k ? "," : "", lo[k], hi[k], (long long)seats[k],
                              (long long)row->core_users[k]);
                up_fmt_json_num(&b, share[k]);
                up_buf_puts(&b, "}");
            }
            up_buf_puts(&b, "],\"workflows\":[");
        } else if (format == UP_FMT_TABLE) {
            fprintf(out, "%s %s\n  share of %lld seats completing a core workflow, weekly:", id,
                    acc->name ? acc->name : "", (long long)seats[UP_WF_WEEKS - 1]);
            for (int k = 0; k < UP_WF_WEEKS; k++)
                isnan(share[k]) ? fprintf(out, " –") : fprintf(out, " %.0f%%", 100 * share[k]);
            fputc('\n', out);
        }
        for (size_t f = 0; f < m->n_workflows; f++) {
            const up_workflow_t *wf = &m->workflows[f];
            const up_wf_account_t *a = &row->wf[f];
            if (format == UP_FMT_CSV) {
                for (int k = 0; k < UP_WF_WEEKS; k++) {
                    char sh[40] = "";
                    if (!isnan(share[k]))
                        up_fmt_double(sh, sizeof sh, share[k]);
                    up_fmt_csv_field(out, id);
                    fputc(',', out);
                    up_fmt_csv_field(out, wf->name);
                    fprintf(out, ",%s,%s,%s,%lld,%lld,%lld,%s\n", wf->core ? "true" : "false", lo[k], hi[k],
                            (long long)a->completions[k], (long long)a->users[k], (long long)seats[k], sh);
                }
            } else if (format == UP_FMT_JSON) {
                up_buf_puts(&b, f ? ",{\"workflow\":" : "{\"workflow\":");
                up_fmt_json_str(&b, wf->name);
                up_buf_printf(&b, ",\"core\":%s,\"completions\":[", wf->core ? "true" : "false");
                for (int k = 0; k < UP_WF_WEEKS; k++)
                    up_buf_printf(&b, "%s%lld", k ? "," : "", (long long)a->completions[k]);
                up_buf_puts(&b, "],\"users_completing\":[");
                for (int k = 0; k < UP_WF_WEEKS; k++)
                    up_buf_printf(&b, "%s%lld", k ? "," : "", (long long)a->users[k]);
                up_buf_puts(&b, "],\"funnel\":[");
                for (size_t q = 0; q < wf->n_steps; q++) {
                    up_buf_puts(&b, q ? ",{\"step\":" : "{\"step\":");
                    up_fmt_json_str(&b, wf->steps[q]);
                    up_buf_printf(&b, ",\"users\":%lld,\"drop_off\":", (long long)a->funnel[q]);
                    up_fmt_json_num(&b, q && a->funnel[q - 1] ? 1.0 - (double)a->funnel[q] / (double)a->funnel[q - 1] : NAN);
                    up_buf_puts(&b, "}");
                }
                up_buf_puts(&b, "]}");
            } else {
                int64_t last4 = 0;
                for (int k = UP_WF_WEEKS - 4; k < UP_WF_WEEKS; k++)
                    last4 += a->completions[k];
                char label[64];
                snprintf(label, sizeof label, "%s%s", wf->name, wf->core ? " (core)" : "");
                fprintf(out, "  %-28.28s %lld completion%s in 4 weeks; funnel (28 days):", label, (long long)last4,
                        last4 == 1 ? "" : "s");
                for (size_t q = 0; q < wf->n_steps; q++)
                    fprintf(out, "%s %s %lld", q ? " ->" : "", wf->steps[q], (long long)a->funnel[q]);
                fputc('\n', out);
            }
        }
        if (format == UP_FMT_JSON)
            up_buf_puts(&b, "]}");
    }
    if (format == UP_FMT_JSON) {
        up_buf_puts(&b, w->n_rows ? "\n]}\n" : "]}\n");
        fwrite(b.data, 1, b.len, out);
        up_buf_free(&b);
    }
    return 0;
}
