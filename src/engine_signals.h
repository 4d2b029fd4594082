/* engine_signals: the metrics of the catalog marked UP_MU_SIGNAL (metric.h),
 * which a portfolio report does not need and which cost more than the
 * rollup: a champion gone quiet (a pass over the account's users), the
 * change of health since health_drop_days before (a second portfolio),
 * milestones, tickets and friction (the CRM tables, per account). The as-of
 * view computes them when asked (up_view_signals); alert evaluation and the
 * account page read them from the row like any other metric. */
#ifndef UP_ENGINE_SIGNALS_H
#define UP_ENGINE_SIGNALS_H

#include <sqlite3.h>
#include <stdint.h>

#include "engine.h"
#include "engine_workflow.h"

typedef struct {
    sqlite3 *db;                    /* the CRM tables */
    const up_model_t *m;
    const up_rollup_t *r;
    int64_t T;
    const int8_t *quiet;            /* per account id: up_engine_people_champions_quiet */
    const int64_t *errors;          /* per account id: up_engine_account_error_counts, or NULL when the model lists none */
    const up_portfolio_t *before;   /* the portfolio health_drop_days before T */
} up_signals_src_t;

/* Fills the signal metrics of every row of p (sorted by account_id, as
 * src->before). Returns 0 or a negative UP_E* code. */
int up_engine_signals(const up_signals_src_t *src, up_portfolio_t *p);

/* The workflow shares of one account: per model workflow, the users
 * completing it in the week ending with T's day (w's last block; none when
 * w is NULL) / seats, NAN when seats is 0. out holds m->n_workflows. */
void up_engine_signals_workflow_share(const up_model_t *m, const up_wf_row_t *w, int64_t seats, double *out);

#endif
