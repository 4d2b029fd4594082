/* report_signals: `report signals` (GET /api/v1/signals): per account, the
 * catalog's signal metrics as of T (metric.h UP_MU_SIGNAL), the values alert
 * evaluation reads, in table, CSV or JSON. */
#ifndef UP_REPORT_SIGNALS_H
#define UP_REPORT_SIGNALS_H

#include <stdio.h>

#include "report.h"

/* Writes the signals of p's rows (the view computed them) selected by o
 * (account, segment). Returns 0, -UP_ENOTFOUND when o->account names no
 * account, or -UP_ENOMEM. */
int up_report_signals(FILE *out, const up_portfolio_t *p, const up_report_opts_t *o);

#endif
