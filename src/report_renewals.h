/* report_renewals: `uptake report renewals` and GET /api/v1/renewals, the
 * renewal forecast. The customers at T whose renewal day (renewal_date,
 * else the end of their last subscription) falls in [T's day, T's day +
 * days], soonest first, with ARR, health, level, WAU trend, open alerts, a
 * churn probability (the churn rate of their health band in the backtest
 * over the year before T, with the same horizon, and that band's row
 * count), ARR at risk = ARR x probability, and the totals. */
#ifndef UP_REPORT_RENEWALS_H
#define UP_REPORT_RENEWALS_H

#include <stdio.h>

#include "fmt.h"
#include "view.h"

/* Writes the forecast from v (a portfolio view of the customers at T).
 * Returns 0 or a negative UP_E* code with a sentence in err. */
int up_report_renewals(FILE *out, const up_view_t *v, int days, up_format_t format, char *err, size_t errlen);

#endif
