/* account_page: everything `report account ID` shows about one account as
 * of the view's T, built once: its metrics row, its stages, people, level
 * history, CRM facts (extras), seat and revenue history, workflows, and on
 * request its daily series. The text page, the JSON page (the dashboard's
 * account page, through the API) and the HTML QBR render from it.
 *
 * Invariants: the page borrows the view (which must outlive it) and owns
 * the rest; up_account_page_close releases what up_account_page_open
 * built, whatever failed on the way. */
#ifndef UP_ACCOUNT_PAGE_H
#define UP_ACCOUNT_PAGE_H

#include "engine.h"
#include "engine_account.h"
#include "engine_people.h"
#include "engine_revenue.h"
#include "engine_series.h"
#include "engine_signals.h"
#include "engine_stages.h"
#include "engine_workflow.h"
#include "view.h"

typedef struct {
    const up_portfolio_t *portfolio;   /* the view's */
    const up_model_t *model;
    const up_rollup_t *rollup;
    const up_entities_t *entities;
    int64_t T;
    int32_t d0;
    const up_account_metrics_t *row;   /* the account's metrics row */
    uint32_t o_lo, o_hi;               /* its outcomes: entities->outcomes[o_lo, o_hi) */
    up_stages_t stages;                /* its users' stages and funnels */
    up_people_t people;                /* champions and sponsors */
    up_level_t *history;               /* the level at the end of each day from history_from */
    int32_t history_from, n_history;
    up_account_extras_t extras;        /* tickets, milestones, surveys, targets */
    int64_t *feature_uses;             /* per model feature: use events in window(28) */
    up_revenue_t revenue;              /* seat and ARR history */
    up_workflows_t workflows;
    const up_wf_row_t *wf_row;         /* its workflows' counts, or NULL: none matched */
    up_lifecycle_event_t *lifecycle;   /* its starts and churns up to T that changed its status */
    uint32_t n_lifecycle;
    up_series_t series;                /* with_series only */
    int has_series;
} up_account_page_t;

/* Builds the page of account id from v (a portfolio view); with_series adds
 * the 91-day series the QBR charts (its first day is 90 days before T's). Returns 0, -UP_ENOTFOUND for an account
 * not in the portfolio, or another negative UP_E* code; the page is closed
 * on failure. */
int up_account_page_open(up_account_page_t *pg, const up_view_t *v, const char *id, int with_series);
void up_account_page_close(up_account_page_t *pg);

#endif
