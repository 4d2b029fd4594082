/* report_retention: `report retention`, logo and revenue retention of the
 * customers at D over the N days after it, grouped by a value they had at D
 * (metrics.md, "Retention by cohort"), as rows rendered in table, CSV or
 * JSON. */
#ifndef UP_REPORT_RETENTION_H
#define UP_REPORT_RETENTION_H

#include <stdio.h>

#include "report.h"
#include "view.h"

/* 1 when by names a grouping (level, segment, health_band, owner, or a
 * catalog metric). */
int up_report_retention_by_valid(const char *by);

/* 1 when by is start_month: the classic grid (up_report_retention_grid). */
int up_report_retention_is_grid(const char *by);

/* 1 when grouping by `by` needs the signal metrics (UP_VIEW_SIGNALS). */
int up_report_retention_needs_signals(const char *by);

/* Writes `report retention` from v (opened at the end of day D with its
 * customers listed) over horizon days, grouped by `by`. Returns 0,
 * -UP_ENOMEM or -UP_EIO. */
int up_report_retention(FILE *out, const up_view_t *v, int horizon, const char *by, up_format_t format);

/* Writes the classic grid from v (opened at the end of day D with its
 * entities): per month of a first start, the accounts, their ARR at the
 * end of that month, and logo retention and NRR at the end of months 3, 6,
 * 12 (18, 24, 36 … while the data reaches them) after it. */
int up_report_retention_grid(FILE *out, const up_view_t *v, up_format_t format);

#endif
