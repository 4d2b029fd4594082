/* report: the portfolio and feature reports in table, JSON and CSV, from one
 * data model (up_portfolio_t). Invariant: CSV and JSON use exactly the names
 * of spec/metrics.md; numbers carry full precision (shortest round-trip);
 * null is an empty CSV field, JSON null, and "–" in tables. */
#ifndef UP_REPORT_H
#define UP_REPORT_H

#include <stdio.h>

#include "engine.h"
#include "fmt.h"
#include "util.h"


typedef struct {
    up_format_t format;
    const char *account;   /* only this account, or NULL */
    const char *segment;   /* only this segment, or NULL */
    const char *sort;      /* column name; a leading '-' sorts descending; NULL = account_id */
    int explain;           /* table: list why each null is null */
    int compact;           /* JSON accounts: leave out health_components and null_reasons */
} up_report_opts_t;

/* Checks that a --sort column exists; returns 0 or -UP_EUSAGE. */
int up_report_sort_valid(const char *sort);

/* Writes `report accounts`. Returns 0, or -UP_ENOTFOUND when --account names
 * no account (nothing is written then). */
int up_report_accounts(FILE *out, const up_portfolio_t *p, const up_report_opts_t *o);

/* Writes `report features`: CSV/JSON one row per account × feature; the table
 * summarises each feature across the selected accounts. */
int up_report_features(FILE *out, const up_portfolio_t *p, const up_report_opts_t *o);

#endif
