/* report_gaps: `report gaps`, the accounts with the largest adoption gaps
 * (engine_gaps.h), as rows rendered in table, JSON or CSV. */
#ifndef UP_REPORT_GAPS_H
#define UP_REPORT_GAPS_H

#include <stdio.h>

#include "report.h"

/* Writes `report gaps`: accounts ranked by gap_score, at most top rows. */
int up_report_gaps(FILE *out, const up_portfolio_t *p, const up_report_opts_t *o, int top);

#endif
