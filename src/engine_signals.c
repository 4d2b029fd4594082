/* engine_signals: the signal metrics (see the header). Definitions where
 * metrics.md is silent are in docs/alerts.md: a milestone is overdue at T
 * when due < T and not done by T; idle counts from the last milestone done,
 * else from the contract start. */
#include "engine_signals.h"

#include "engine_account.h"
#include "timeparse.h"

#include <math.h>
#include <string.h>

/* Milestones, tickets and friction from the account's CRM facts. */
static void crm_signals(const up_account_extras_t *x, int32_t d0, int64_t T, up_account_metrics_t *row)
{
    int max_over = 0, open = 0;
    int64_t last_done = UP_TS_NONE;
    for (uint32_t i = 0; i < x->n_milestones; i++) {
        const up_milestone_t *ms = &x->milestones[i];
        int done = ms->done_at != UP_TS_NONE && ms->done_at <= T;
        if (!done)
            open++;
        if (ms->overdue_days > max_over)
            max_over = ms->overdue_days;
        if (done && (last_done == UP_TS_NONE || ms->done_at > last_done))
            last_done = ms->done_at;
    }
    if (x->n_milestones) {
        row->milestone_overdue_days = max_over;
        row->open_milestones = open;
        int32_t since = last_done != UP_TS_NONE ? up_day_of(last_done) : row->account->contract_start;
        row->days_since_milestone_done = since == UP_NO_DAY ? INT64_MIN : (int64_t)(d0 - since);
    }
    row->friction = x->friction;
    row->friction_flag = x->friction_flag;
    row->tickets_28d = x->tickets_28d;
}

int up_engine_signals(const up_signals_src_t *src, up_portfolio_t *p)
{
    int32_t d0 = up_day_of(src->T);
    uint32_t k = 0;
    /* the tickets and milestones of every account from two queries, in
     * one read transaction (each query on its own takes and drops SQLite's
     * file locks) */
    int own_txn = sqlite3_get_autocommit(src->db) && sqlite3_exec(src->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    up_signal_facts_t facts;
    int rc = up_engine_signal_facts_open(src->db, src->T, &facts);
    for (uint32_t i = 0; i < p->n_rows && rc == 0; i++) {
        up_account_metrics_t *row = &p->rows[i];
        const char *id = row->account->account_id;
        /* both portfolios are sorted by account_id: walk them together */
        while (k < src->before->n_rows && strcmp(src->before->rows[k].account->account_id, id) < 0)
            k++;
        if (k < src->before->n_rows && !strcmp(src->before->rows[k].account->account_id, id))
            row->health_change = row->health - src->before->rows[k].health;
        int64_t aid = up_dict_find(&src->r->dict[UP_KIND_ACCOUNT], id, strlen(id));
        row->champion_quiet = aid >= 0 ? src->quiet[aid] : -1;
        int64_t errors = src->errors ? (aid >= 0 ? src->errors[aid] : 0) : -1;
        up_account_extras_t x;
        rc = up_engine_signal_facts_next(&facts, src->m, row, errors, &x);
        if (rc == 0) {
            crm_signals(&x, d0, src->T, row);
            up_account_extras_free(&x);
        }
    }
    up_engine_signal_facts_close(&facts);   /* before the end of the transaction: none may still be stepping */
    if (own_txn)
        sqlite3_exec(src->db, "COMMIT", NULL, NULL, NULL);
    return rc == -UP_ENOMEM ? rc : 0;
}

void up_engine_signals_workflow_share(const up_model_t *m, const up_wf_row_t *w, int64_t seats, double *out)
{
    for (size_t k = 0; k < m->n_workflows; k++)
        out[k] = seats > 0 ? (w ? (double)w->wf[k].users[UP_WF_WEEKS - 1] : 0.0) / (double)seats : NAN;
}
