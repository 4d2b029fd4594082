/* report_account: the one-page account report for a CSM before a call
 * (`report account ID`), in table, JSON and CSV. */
#ifndef UP_REPORT_ACCOUNT_H
#define UP_REPORT_ACCOUNT_H

#include <stdio.h>

#include "engine.h"
#include "engine_account.h"
#include "engine_people.h"
#include "engine_revenue.h"
#include "engine_workflow.h"
#include "engine_stages.h"
#include "report.h"

/* Writes `report account ID` from its metrics row, its stages (computed for
 * that account), its people, the outcomes in e and its level at the end of
 * each day from history_from to the as-of day (history[0] is history_from),
 * the CRM facts in x (tickets, milestones, surveys by month) and the seat and
 * revenue history in rev, and its workflows in wf (NULL: none matched). */
int up_report_account(FILE *out, const up_portfolio_t *p, const up_account_metrics_t *row,
                      const up_rollup_t *r, const up_stages_t *st, const up_people_t *people,
                      const up_entities_t *e, const up_level_t *history, int32_t history_from,
                      const up_account_extras_t *x, const up_revenue_t *rev, const up_wf_row_t *wf,
                      up_format_t format);

#endif
