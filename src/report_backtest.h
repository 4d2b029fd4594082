/* report_backtest: `uptake backtest` and GET /api/v1/backtest: the scores
 * ranked by how well they separate churned from retained customers, the
 * calibration table (churn rate by level and by health band), the lift of
 * the lowest decile, and on request the suggested health weights, in table,
 * CSV, JSON or HTML. */
#ifndef UP_REPORT_BACKTEST_H
#define UP_REPORT_BACKTEST_H

#include <stdio.h>

#include "backtest.h"
#include "fmt.h"

typedef struct {
    int32_t d1, d2;
    int horizon;             /* default 90 */
    int suggest;             /* --suggest-weights */
    up_format_t format;
} up_backtest_req_t;

/* Runs the backtest q on s and writes it to out. Returns 0, or a negative
 * UP_E* code with a sentence in err (-UP_EINVAL: the arguments). CSV holds
 * the score rows only (with --suggest-weights, the weight rows); the other
 * formats hold everything. */
int up_report_backtest(up_store_t *s, const up_backtest_req_t *q, FILE *out, char *err, size_t errlen);

/* "lower breadth, more churn" for an AUC above 0.5, "higher …" below it,
 * "no signal" at 0.5, "" when null, into out. */
void up_report_backtest_direction(const char *name, double auc, char *out, size_t n);

#endif
