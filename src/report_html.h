/* report_html: `report account ID --format html` (a QBR) and `report accounts
 * --format html` (the portfolio as a file). See report_html.c. */
#ifndef UP_REPORT_HTML_H
#define UP_REPORT_HTML_H

#include <stdio.h>

#include "engine_account.h"
#include "engine_revenue.h"
#include "engine_series.h"
#include "report.h"

int up_report_account_html(FILE *out, const up_portfolio_t *p, const up_account_metrics_t *row,
                           const up_model_t *m, const up_entities_t *e, const up_account_extras_t *x,
                           const up_revenue_t *rev, const up_series_t *series);
int up_report_accounts_html(FILE *out, const up_portfolio_t *p, const up_report_opts_t *o);

#endif
